"""CallbackCrypto: the reference's vector, construction, signatures, round trips, tampering."""

from __future__ import annotations

import base64
import pickle
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wecom_kf_async import KfError
from wecom_kf_async.callback import (
    BLOCK_SIZE,
    CALLBACK_ERROR_CODES,
    AesKeyError,
    Base64DecodeError,
    BodyTooLargeError,
    CallbackCrypto,
    CallbackError,
    ComputeSignatureError,
    EncryptError,
    ReceiveIdError,
    SignatureError,
    XmlParseError,
    read_envelope,
)

# The reference's test vector (section 6).
V_TOKEN = "123456"
V_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
V_RECEIVE_ID = "wx49f0ab532d5d035a"
V_TIMESTAMP = "1411443780"
V_NONCE = "437374425"
V_ECHOSTR = (
    "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q=="
)
V_SIGNATURE = "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96"
V_PLAINTEXT = "5927782489442352469"

SECRET_TEXT = "<xml><Token>ENCsecretsecret</Token></xml>"


@pytest.fixture
def crypto() -> CallbackCrypto:
    """The crypto of the reference's vector."""
    return CallbackCrypto(V_TOKEN, V_KEY, V_RECEIVE_ID)


def _signed_parts(crypto: CallbackCrypto, text: str) -> tuple[str, str, str, str]:
    """(msg_signature, timestamp, nonce, envelope) of *text*, read back from encrypt()."""
    envelope = crypto.encrypt(text, timestamp=V_TIMESTAMP, nonce=V_NONCE)
    parsed = read_envelope(envelope)
    assert parsed.msg_signature is not None
    return parsed.msg_signature, V_TIMESTAMP, V_NONCE, envelope


def test_reference_vector(crypto: CallbackCrypto) -> None:
    """The vector's signature is recomputed and its echostr decrypts to its plaintext."""
    assert crypto.signature(V_TIMESTAMP, V_NONCE, V_ECHOSTR) == V_SIGNATURE
    assert crypto.verify_url(V_SIGNATURE, V_TIMESTAMP, V_NONCE, V_ECHOSTR) == V_PLAINTEXT


def test_echostr_with_plus_decoded_as_space_still_verifies(crypto: CallbackCrypto) -> None:
    """A form-style query parser turns '+' into ' '; verify_url reads it back as '+'."""
    mangled = V_ECHOSTR.replace("+", " ")
    assert crypto.verify_url(V_SIGNATURE, V_TIMESTAMP, V_NONCE, mangled) == V_PLAINTEXT


# -- construction ------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        V_KEY[:-1],
        V_KEY + "a",
        V_KEY[:-1] + "+",
        V_KEY[:-1] + "/",
        V_KEY[:-1] + "=",
        V_KEY[:-1] + "٣",  # an Arabic-Indic digit: a digit to str.isalnum, not [0-9]
        "",
    ],
)
def test_a_key_that_is_not_43_letters_and_digits_is_refused(key: str) -> None:
    """A bad EncodingAESKey raises AesKeyError: a ValueError with code -40004, value hidden."""
    with pytest.raises(ValueError, match="43 characters") as caught:
        CallbackCrypto(V_TOKEN, key, V_RECEIVE_ID)
    assert isinstance(caught.value, AesKeyError)
    assert caught.value.code == -40004
    if key:
        assert key not in str(caught.value)


@pytest.mark.parametrize("token", ["", "a" * 33, "tok-en", "tok en", "令牌", "abc\n"])
def test_a_bad_token_is_refused(token: str) -> None:
    """An empty token, one over 32 characters or with other than letters and digits: ValueError."""
    with pytest.raises(ValueError, match="token must be 1 to 32 letters and digits") as caught:
        CallbackCrypto(token, V_KEY, V_RECEIVE_ID)
    if len(token) > 3:
        assert token not in str(caught.value)


def test_a_token_of_32_characters_is_accepted() -> None:
    """32 letters and digits is the longest token, and it works."""
    crypto = CallbackCrypto("A1" * 16, V_KEY, V_RECEIVE_ID)
    payload = crypto.encrypt_payload("ok")
    signature = crypto.signature(V_TIMESTAMP, V_NONCE, payload)
    assert crypto.verify_url(signature, V_TIMESTAMP, V_NONCE, payload) == "ok"


def test_an_empty_receive_id_is_refused() -> None:
    """An empty receive_id raises ValueError."""
    with pytest.raises(ValueError, match="receive_id"):
        CallbackCrypto(V_TOKEN, V_KEY, "")


@pytest.mark.parametrize(
    "args",
    [(None, V_KEY, V_RECEIVE_ID), (V_TOKEN, V_KEY.encode(), V_RECEIVE_ID), (V_TOKEN, V_KEY, 1)],
)
def test_arguments_of_the_wrong_type_raise_type_error(args: tuple[object, object, object]) -> None:
    """A non-str token, key or receive_id raises TypeError."""
    with pytest.raises(TypeError):
        CallbackCrypto(*args)  # type: ignore[arg-type]


def test_repr_hides_the_token_and_the_key(crypto: CallbackCrypto) -> None:
    """The repr shows the receive_id but neither the token nor the key."""
    text = repr(crypto)
    assert V_RECEIVE_ID in text
    assert V_TOKEN not in text
    assert V_KEY not in text
    assert "***" in text
    assert crypto.receive_id == V_RECEIVE_ID


# -- encrypt -----------------------------------------------------------------------


def test_encrypt_builds_the_encrypt_msg_envelope(crypto: CallbackCrypto) -> None:
    """encrypt() gives <xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>, signed."""
    envelope = crypto.encrypt("<xml/>", timestamp=1_411_443_780, nonce="n0nce")
    match = re.fullmatch(
        r"<xml><Encrypt><!\[CDATA\[([A-Za-z0-9+/=]+)\]\]></Encrypt>"
        r"<MsgSignature><!\[CDATA\[([0-9a-f]{40})\]\]></MsgSignature>"
        r"<TimeStamp>1411443780</TimeStamp><Nonce><!\[CDATA\[n0nce\]\]></Nonce></xml>",
        envelope,
    )
    assert match is not None
    encrypt, signature = match.groups()
    assert signature == crypto.signature("1411443780", "n0nce", encrypt)
    assert len(base64.b64decode(encrypt)) % BLOCK_SIZE == 0


def test_encrypt_defaults_to_now_and_a_random_nonce(crypto: CallbackCrypto) -> None:
    """Without timestamp and nonce, encrypt() fills in digits, different each call."""
    first, second = read_envelope(crypto.encrypt("a")), read_envelope(crypto.encrypt("a"))
    assert first.timestamp is not None
    assert first.timestamp.isdigit()
    assert first.nonce is not None
    assert first.nonce.isdigit()
    assert first.nonce != second.nonce
    assert first.encrypt != second.encrypt  # 16 fresh random bytes each time


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"timestamp": -1}, ValueError),
        ({"timestamp": "12a"}, ValueError),
        ({"timestamp": 1.5}, TypeError),
        ({"timestamp": True}, TypeError),
        ({"nonce": ""}, ValueError),
        ({"nonce": "]]><x>"}, ValueError),
        ({"nonce": "n" * 65}, ValueError),
        ({"nonce": 5}, TypeError),
    ],
)
def test_encrypt_refuses_a_bad_timestamp_or_nonce(
    crypto: CallbackCrypto, kwargs: dict[str, object], error: type[Exception]
) -> None:
    """A timestamp that is not unix seconds or a nonce that is not 1-64 letters/digits."""
    with pytest.raises(error):
        crypto.encrypt("x", **kwargs)  # type: ignore[arg-type]


def test_encrypt_refuses_text_that_cannot_be_encoded(crypto: CallbackCrypto) -> None:
    """A lone surrogate raises EncryptError (-40006); a non-str plaintext TypeError."""
    with pytest.raises(EncryptError) as caught:
        crypto.encrypt("bad \ud800")
    assert caught.value.code == -40006
    with pytest.raises(TypeError):
        crypto.encrypt_payload(b"bytes")  # type: ignore[arg-type]


# -- round trips -------------------------------------------------------------------

_ALPHABETS = [
    "abcdefghijklmnopqrstuvwxyz0123456789 <>&'\"\n\t",
    "你好客服请问这个多少钱有货吗谢谢退货发货",
    "😀🎉𝕏🙏🏽",
    "éàüßñøå",
    "\x00\x01\x7f",
]


def _random_text(rng: random.Random) -> str:
    size = rng.choice([0, 1, 2, rng.randint(0, 40), rng.randint(0, 400)])
    return "".join(rng.choice(rng.choice(_ALPHABETS)) for _ in range(size))


def test_ten_thousand_random_plaintexts_round_trip(crypto: CallbackCrypto) -> None:
    """10,000 seeded random texts (empty, unicode, every pad length) survive encrypt/decrypt."""
    rng = random.Random(20240611)
    pads: set[int] = set()
    empties = 0
    for _ in range(10_000):
        text = _random_text(rng)
        empties += text == ""
        signature, timestamp, nonce, envelope = _signed_parts(crypto, text)
        assert crypto.decrypt(signature, timestamp, nonce, envelope) == text
        pads.add(BLOCK_SIZE - (20 + len(text.encode()) + len(V_RECEIVE_ID)) % BLOCK_SIZE)
    assert pads == set(range(1, BLOCK_SIZE + 1))
    assert empties > 0


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=300))
def test_any_text_round_trips_through_the_payload(text: str) -> None:
    """Every valid text encrypts to a payload that verify_url opens back to it."""
    crypto = CallbackCrypto(V_TOKEN, V_KEY, V_RECEIVE_ID)
    payload = crypto.encrypt_payload(text)
    signature = crypto.signature(V_TIMESTAMP, V_NONCE, payload)
    assert crypto.verify_url(signature, V_TIMESTAMP, V_NONCE, payload) == text


def test_decrypt_accepts_bytes_and_str_bodies(crypto: CallbackCrypto) -> None:
    """The POSTed body may be bytes (as ASGI gives it) or str."""
    signature, timestamp, nonce, envelope = _signed_parts(crypto, "双")
    assert crypto.decrypt(signature, timestamp, nonce, envelope.encode()) == "双"
    assert crypto.decrypt(signature, timestamp, nonce, envelope) == "双"


# -- tampering ---------------------------------------------------------------------


def _flip(text: str, index: int) -> str:
    """*text* with the character at *index* changed to another of the same alphabet."""
    swap = "b" if text[index] == "a" else "a"
    if text[index].isdigit():
        swap = "1" if text[index] == "0" else "0"
    return text[:index] + swap + text[index + 1 :]


def test_tampered_signature_timestamp_nonce_or_ciphertext_raise_signature_error(
    crypto: CallbackCrypto,
) -> None:
    """Changing any signed value, or the payload, raises SignatureError (-40001)."""
    signature, timestamp, nonce, envelope = _signed_parts(crypto, SECRET_TEXT)
    encrypt = read_envelope(envelope).encrypt
    tampered_body = envelope.replace(encrypt, _flip(encrypt, 5))
    cases = [
        (_flip(signature, 0), timestamp, nonce, envelope),
        (signature.upper(), timestamp, nonce, envelope),
        (signature, str(int(timestamp) + 1), nonce, envelope),
        (signature, timestamp, _flip(nonce, 3), envelope),
        (signature, timestamp, nonce, tampered_body),
        ("", timestamp, nonce, envelope),
        ("签名", timestamp, nonce, envelope),
    ]
    for args in cases:
        with pytest.raises(SignatureError) as caught:
            crypto.decrypt(*args)
        assert caught.value.code == -40001
        assert SECRET_TEXT not in str(caught.value)
    with pytest.raises(SignatureError):
        crypto.verify_url(V_SIGNATURE, V_TIMESTAMP, V_NONCE, _flip(V_ECHOSTR, 10))


def test_another_token_fails_the_signature() -> None:
    """A callback signed with another token raises SignatureError."""
    other = CallbackCrypto("654321", V_KEY, V_RECEIVE_ID)
    with pytest.raises(SignatureError):
        CallbackCrypto(V_TOKEN, V_KEY, V_RECEIVE_ID).decrypt(*_signed_parts(other, "x"))


def test_a_payload_for_another_receive_id_is_refused(crypto: CallbackCrypto) -> None:
    """The same token and key but another corpid raise ReceiveIdError (-40005), text hidden."""
    other = CallbackCrypto(V_TOKEN, V_KEY, "wwanothercorp")
    with pytest.raises(ReceiveIdError) as caught:
        crypto.decrypt(*_signed_parts(other, SECRET_TEXT))
    assert caught.value.code == -40005
    assert SECRET_TEXT not in str(caught.value)
    assert "wwanothercorp" not in str(caught.value)


@pytest.mark.parametrize("encrypt", ["not_base64!", "abc", "YWJj\u00e9", "YW=Jj"])
def test_a_payload_that_is_not_base64_is_refused(crypto: CallbackCrypto, encrypt: str) -> None:
    """A signed payload that is not base64 raises Base64DecodeError (-40010)."""
    signature = crypto.signature(V_TIMESTAMP, V_NONCE, encrypt)
    with pytest.raises(Base64DecodeError) as caught:
        crypto.verify_url(signature, V_TIMESTAMP, V_NONCE, encrypt)
    assert caught.value.code == -40010


def test_a_signed_value_that_is_not_text_fails_to_compute(crypto: CallbackCrypto) -> None:
    """A lone surrogate in a signed value raises ComputeSignatureError (-40003)."""
    with pytest.raises(ComputeSignatureError) as caught:
        crypto.verify_url(V_SIGNATURE, V_TIMESTAMP, "\udc80", V_ECHOSTR)
    assert caught.value.code == -40003


def test_signed_values_of_the_wrong_type_raise_type_error(crypto: CallbackCrypto) -> None:
    """A timestamp given as an int, or a body of another type, raise TypeError."""
    with pytest.raises(TypeError):
        crypto.verify_url(V_SIGNATURE, 1411443780, V_NONCE, V_ECHOSTR)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        crypto.decrypt(V_SIGNATURE, V_TIMESTAMP, V_NONCE, {"Encrypt": "x"})  # type: ignore[arg-type]


def test_a_body_without_encrypt_or_not_xml_is_refused_before_the_signature(
    crypto: CallbackCrypto,
) -> None:
    """No Encrypt, or not XML, raises XmlParseError (-40002) whatever the signature."""
    for body in (b"<xml><ToUserName>ww</ToUserName></xml>", b"Encrypt=abc", b""):
        with pytest.raises(XmlParseError) as caught:
            crypto.decrypt(V_SIGNATURE, V_TIMESTAMP, V_NONCE, body)
        assert caught.value.code == -40002


# -- the exceptions ----------------------------------------------------------------


def test_every_code_of_section_6_has_its_class() -> None:
    """-40001 to -40011 each map to a CallbackError subclass (a KfError) keeping the code."""
    assert sorted(CALLBACK_ERROR_CODES) == list(range(-40011, -40000))
    for code, cls in CALLBACK_ERROR_CODES.items():
        assert issubclass(cls, CallbackError)
        assert issubclass(cls, KfError)
        assert cls.code == code
    assert issubclass(BodyTooLargeError, XmlParseError)
    assert BodyTooLargeError.code == -40002


def test_callback_errors_pickle_with_their_code() -> None:
    """A callback error survives pickling (task queues) with its class, code and text."""
    error = ReceiveIdError("the payload's receiveid is not this app's")
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert type(copy) is ReceiveIdError
    assert copy.code == -40005
    assert str(copy) == str(error)
