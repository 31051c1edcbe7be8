"""Callback crypto interop: an independent implementation written here, and wechatpy, both ways.

``Reference`` below is WeCom's callback algorithm (WXBizMsgCrypt) written from the
protocol description (section 6 of the reference), with ``cryptography``'s raw AES
and a hand-written PKCS#7; it imports nothing from the library. It also builds the
malformed buffers (bad pad, long length field, foreign receiveid) that a correct
signature lets through to decryption, each of which must be refused with its code.
"""

from __future__ import annotations

import base64
import hashlib
import random
import struct
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml.ElementTree import fromstring
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from wecom_kf_async.callback import (
    CallbackCrypto,
    CallbackError,
    CiphertextLengthError,
    IllegalBufferError,
    LengthFieldError,
    PaddingError,
    ReceiveIdError,
    SignatureError,
)

TOKEN = "QDG6eK"
KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CORP = "wx5823bf96d3bd56c7"
TIMESTAMP = "1409659813"
NONCE = "1372623149"

TEXTS = [
    "",
    "a",
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Event>kf_msg_or_event</Event></xml>",
    "你好，客服！" * 7,
    "emoji 😀🎉 and 𝕏 outside the BMP",
    "x" * 12,  # 16 + 4 + 12 + 18 = 50 bytes: pad 14
    "x" * 26,  # 16 + 4 + 26 + 18 = 64 bytes: aligned, a whole block of pad
    "y" * 5000,
]


class Reference:
    """WeCom's callback crypto, from the protocol description; no library code."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        self.token = token
        self.key = base64.b64decode(encoding_aes_key + "=")
        assert len(self.key) == 32
        self.receive_id = receive_id.encode()

    def sign(self, timestamp: str, nonce: str, encrypt: str) -> str:
        """sha1 hex of the four strings sorted and joined."""
        joined = "".join(sorted([self.token, timestamp, nonce, encrypt]))
        return hashlib.sha1(joined.encode()).hexdigest()  # noqa: S324 (the protocol's)

    def aes(self, data: bytes, *, decrypt: bool = False) -> bytes:
        """AES-256-CBC with IV = key[:16], no padding of its own."""
        cipher = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))
        context = cipher.decryptor() if decrypt else cipher.encryptor()
        return context.update(data) + context.finalize()

    @staticmethod
    def pkcs7(data: bytes, block: int = 32) -> bytes:
        """PKCS#7 to *block* bytes, a whole block when already aligned."""
        amount = block - len(data) % block
        return data + bytes([amount]) * amount

    def buffer(
        self, message: bytes, *, length: int | None = None, rid: bytes | None = None
    ) -> bytes:
        """random(16) + length (big-endian) + message + receiveid, unpadded."""
        prefix = random.Random(len(message)).randbytes(16)
        size = len(message) if length is None else length
        return (
            prefix + struct.pack(">I", size) + message + (self.receive_id if rid is None else rid)
        )

    def seal(self, padded: bytes) -> str:
        """base64 of the AES of an already padded buffer."""
        return base64.b64encode(self.aes(padded)).decode()

    def encrypt(self, text: str) -> str:
        """The base64 payload of *text*."""
        return self.seal(self.pkcs7(self.buffer(text.encode())))

    def decrypt(self, encrypt: str) -> str:
        """The text of a payload, checking the pad and the receiveid."""
        plain = self.aes(base64.b64decode(encrypt), decrypt=True)
        pad = plain[-1]
        assert 1 <= pad <= 32
        assert plain[-pad:] == bytes([pad]) * pad
        content = plain[16:-pad]
        (length,) = struct.unpack(">I", content[:4])
        assert 4 + length <= len(content)
        assert content[4 + length :] == self.receive_id
        return content[4 : 4 + length].decode()

    def encrypt_msg(self, text: str, timestamp: str, nonce: str) -> str:
        """EncryptMsg: the reply envelope, laid out on lines as the official SDKs do."""
        encrypt = self.encrypt(text)
        return (
            f"<xml>\n<Encrypt><![CDATA[{encrypt}]]></Encrypt>\n"
            f"<MsgSignature><![CDATA[{self.sign(timestamp, nonce, encrypt)}]]></MsgSignature>\n"
            f"<TimeStamp>{timestamp}</TimeStamp>\n<Nonce><![CDATA[{nonce}]]></Nonce>\n</xml>"
        )

    def decrypt_msg(self, body: str, msg_signature: str, timestamp: str, nonce: str) -> str:
        """DecryptMsg: read Encrypt, check the signature, decrypt."""
        encrypt = fromstring(body, forbid_dtd=True).findtext("Encrypt")
        assert encrypt
        assert self.sign(timestamp, nonce, encrypt) == msg_signature
        return self.decrypt(encrypt)


REF = Reference(TOKEN, KEY, CORP)


@pytest.fixture
def crypto() -> CallbackCrypto:
    """The library's crypto with the same settings as the reference."""
    return CallbackCrypto(TOKEN, KEY, CORP)


def _wecom_post(encrypt: str) -> bytes:
    """The body WeCom itself POSTs around a payload."""
    return (
        f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]>"
        "</Encrypt><AgentID><![CDATA[]]></AgentID></xml>"
    ).encode()


@pytest.mark.parametrize("text", TEXTS)
def test_our_envelope_decrypts_with_the_reference(crypto: CallbackCrypto, text: str) -> None:
    """What encrypt() builds, the independent implementation verifies and decrypts."""
    envelope = crypto.encrypt(text, timestamp=TIMESTAMP, nonce=NONCE)
    signature = fromstring(envelope).findtext("MsgSignature")
    assert signature is not None
    assert REF.decrypt_msg(envelope, signature, TIMESTAMP, NONCE) == text
    assert REF.decrypt(crypto.encrypt_payload(text)) == text


@pytest.mark.parametrize("text", TEXTS)
def test_reference_output_decrypts_with_ours(crypto: CallbackCrypto, text: str) -> None:
    """The reference's EncryptMsg envelope and WeCom's POST shape both decrypt with ours."""
    envelope = REF.encrypt_msg(text, TIMESTAMP, NONCE)
    signature = fromstring(envelope).findtext("MsgSignature")
    assert signature is not None
    assert crypto.decrypt(signature, TIMESTAMP, NONCE, envelope) == text
    encrypt = REF.encrypt(text)
    assert (
        crypto.decrypt(REF.sign(TIMESTAMP, NONCE, encrypt), TIMESTAMP, NONCE, _wecom_post(encrypt))
        == text
    )
    assert crypto.verify_url(REF.sign(TIMESTAMP, NONCE, encrypt), TIMESTAMP, NONCE, encrypt) == text


def test_signatures_agree_with_the_reference(crypto: CallbackCrypto) -> None:
    """Our signature is the reference's for the same four strings."""
    for encrypt in ("", "abc", REF.encrypt("hi"), "中文"):
        assert crypto.signature(TIMESTAMP, NONCE, encrypt) == REF.sign(TIMESTAMP, NONCE, encrypt)


# -- wechatpy (the most used Python WeChat SDK) ------------------------------------


@pytest.fixture
def wechatpy() -> WeChatCrypto:
    """wechatpy's WeCom crypto with the same settings."""
    return WeChatCrypto(TOKEN, KEY, CORP)


@pytest.mark.parametrize("text", TEXTS)
def test_our_envelope_decrypts_with_wechatpy(
    crypto: CallbackCrypto, wechatpy: WeChatCrypto, text: str
) -> None:
    """wechatpy's decrypt_message reads our envelope; check_signature our echostr."""
    envelope = crypto.encrypt(text, timestamp=TIMESTAMP, nonce=NONCE)
    signature = fromstring(envelope).findtext("MsgSignature")
    assert wechatpy.decrypt_message(envelope, signature, TIMESTAMP, NONCE) == text
    echostr = crypto.encrypt_payload(text)
    signature = crypto.signature(TIMESTAMP, NONCE, echostr)
    assert wechatpy.check_signature(signature, TIMESTAMP, NONCE, echostr) == text


@pytest.mark.parametrize("text", TEXTS)
def test_wechatpy_envelope_decrypts_with_ours(
    crypto: CallbackCrypto, wechatpy: WeChatCrypto, text: str
) -> None:
    """wechatpy's encrypt_message envelope decrypts with ours, as a POST and as an echostr."""
    envelope = wechatpy.encrypt_message(text, NONCE, TIMESTAMP)
    parsed = fromstring(envelope)
    signature, encrypt = parsed.findtext("MsgSignature"), parsed.findtext("Encrypt")
    assert signature is not None
    assert encrypt is not None
    assert crypto.decrypt(signature, TIMESTAMP, NONCE, envelope.encode()) == text
    assert crypto.verify_url(signature, TIMESTAMP, NONCE, encrypt) == text


def test_wechatpy_and_we_refuse_the_same_forgeries(
    crypto: CallbackCrypto, wechatpy: WeChatCrypto
) -> None:
    """A wrong signature and a foreign corpid fail in both (-40001, -40005 for us)."""
    envelope = crypto.encrypt("hi", timestamp=TIMESTAMP, nonce=NONCE)
    with pytest.raises(InvalidSignatureException):
        wechatpy.decrypt_message(envelope, "0" * 40, TIMESTAMP, NONCE)
    with pytest.raises(SignatureError):
        crypto.decrypt("0" * 40, TIMESTAMP, NONCE, envelope)
    foreign = WeChatCrypto(TOKEN, KEY, "wwanothercorp0000")
    sealed = foreign.encrypt_message("hi", NONCE, TIMESTAMP)
    signature = fromstring(sealed).findtext("MsgSignature")
    assert signature is not None
    with pytest.raises(InvalidCorpIdException):
        wechatpy.decrypt_message(sealed, signature, TIMESTAMP, NONCE)
    with pytest.raises(ReceiveIdError) as caught:
        crypto.decrypt(signature, TIMESTAMP, NONCE, sealed)
    assert caught.value.code == -40005


# -- malformed buffers behind a valid signature ------------------------------------


def _signed(crypto: CallbackCrypto, encrypt: str) -> Callable[[], str]:
    """A verify_url call of *encrypt* with a correct signature."""
    signature = REF.sign(TIMESTAMP, NONCE, encrypt)
    return lambda: crypto.verify_url(signature, TIMESTAMP, NONCE, encrypt)


def _padded_with(buffer: bytes, pad: bytes) -> bytes:
    """*buffer* plus *pad*, plus filler in front of the pad so the total is 32-aligned."""
    filler = (-(len(buffer) + len(pad))) % 32
    return buffer + b"F" * filler + pad


@pytest.mark.parametrize(
    ("pad", "why"),
    [
        (b"\x00", "a pad byte of 0"),
        (bytes([33]) * 33, "a pad byte of 33"),
        (bytes([255]), "a pad byte of 255"),
        (bytes([5, 5, 4, 5, 5]), "pad bytes that are not all equal"),
        (bytes([1, 2]) + bytes([3]) * 2, "a pad that is 3 but only 2 bytes repeat"),
    ],
)
def test_a_bad_pad_is_refused_with_its_code(crypto: CallbackCrypto, pad: bytes, why: str) -> None:
    """A pad byte outside 1-32, or unequal pad bytes, raise PaddingError (-40008)."""
    encrypt = REF.seal(_padded_with(REF.buffer(b"hello"), pad))
    with pytest.raises(PaddingError) as caught:
        _signed(crypto, encrypt)()
    assert caught.value.code == -40008, why
    assert isinstance(caught.value, IllegalBufferError)


@pytest.mark.parametrize("length", [6, 100, 2**32 - 1])
def test_a_length_field_past_the_buffer_is_refused(crypto: CallbackCrypto, length: int) -> None:
    """A length field claiming more than the buffer holds raises LengthFieldError (-40008)."""
    buffer = REF.buffer(b"hello", length=length, rid=b"")
    encrypt = REF.seal(REF.pkcs7(buffer))
    with pytest.raises(LengthFieldError) as caught:
        _signed(crypto, encrypt)()
    assert caught.value.code == -40008


def test_a_buffer_too_short_for_its_header_is_refused(crypto: CallbackCrypto) -> None:
    """16 bytes of data and a whole block of pad (no length field) raise LengthFieldError."""
    encrypt = REF.seal(REF.pkcs7(b"r" * 16))
    with pytest.raises(LengthFieldError):
        _signed(crypto, encrypt)()


@pytest.mark.parametrize(
    "rid",
    [
        b"wx5823bf96d3bd56c8",
        b"wx5823bf96d3bd56c",
        b"wx5823bf96d3bd56c7x",
        b"",
        b"WX5823BF96D3BD56C7",
    ],
)
def test_a_foreign_receiveid_is_refused(crypto: CallbackCrypto, rid: bytes) -> None:
    """A receiveid that differs in a byte, in length or in case raises ReceiveIdError (-40005)."""
    encrypt = REF.seal(REF.pkcs7(REF.buffer(b"<xml/>", rid=rid)))
    with pytest.raises(ReceiveIdError) as caught:
        _signed(crypto, encrypt)()
    assert caught.value.code == -40005


@pytest.mark.parametrize("size", [15, 17, 33, 47])
def test_a_ciphertext_that_is_not_whole_blocks_is_refused(
    crypto: CallbackCrypto, size: int
) -> None:
    """A ciphertext of a length that is not a multiple of 16 raises CiphertextLengthError."""
    encrypt = base64.b64encode(bytes(size)).decode()
    with pytest.raises(CiphertextLengthError) as caught:
        _signed(crypto, encrypt)()
    assert caught.value.code == -40007


def test_a_message_that_is_not_utf8_is_refused(crypto: CallbackCrypto) -> None:
    """Bytes that are not UTF-8 in the message raise IllegalBufferError (-40008)."""
    encrypt = REF.seal(REF.pkcs7(REF.buffer(b"\xff\xfe bad")))
    with pytest.raises(IllegalBufferError) as caught:
        _signed(crypto, encrypt)()
    assert caught.value.code == -40008


def test_random_ciphertexts_behind_a_valid_signature_only_raise_callback_errors(
    crypto: CallbackCrypto,
) -> None:
    """2,000 random ciphertexts (and bit flips of a real one) never escape as another error."""
    rng = random.Random(11)
    codes: set[int] = set()
    real = base64.b64decode(REF.encrypt("<xml><Token>t</Token></xml>"))
    for number in range(2000):
        if number % 2:
            data = rng.randbytes(16 * rng.randint(1, 8))
        else:
            flipped = bytearray(real)
            flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
            data = bytes(flipped)
        try:
            _signed(crypto, base64.b64encode(data).decode())()
        except CallbackError as exc:
            codes.add(exc.code)
    assert codes <= {-40005, -40007, -40008}
    assert -40008 in codes
