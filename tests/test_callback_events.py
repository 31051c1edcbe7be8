"""Callback XML: parse_callback and read_envelope, XML bombs refused, big bodies refused unread."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from wecom_kf_async.callback import (
    KF_MSG_OR_EVENT,
    MAX_CALLBACK_BODY_BYTES,
    BodyTooLargeError,
    CallbackCrypto,
    KfCallback,
    XmlParseError,
    parse_callback,
    read_envelope,
)

KF_EVENT = (
    "<xml><ToUserName><![CDATA[ww12345678910]]></ToUserName>"
    "<CreateTime>1348831860</CreateTime><MsgType><![CDATA[event]]></MsgType>"
    "<Event><![CDATA[kf_msg_or_event]]></Event>"
    "<Token><![CDATA[ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR]]></Token>"
    "<OpenKfId><![CDATA[wkxxxxxxx]]></OpenKfId></xml>"
)

crypto = CallbackCrypto("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "ww12345678910")

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<xml><Encrypt>&lol9;</Encrypt><Token>&lol9;</Token></xml>"""

HOSTILE = {
    "billion laughs": BILLION_LAUGHS,
    "external entity": (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        "<xml><Encrypt>&e;</Encrypt><Token>&e;</Token></xml>"
    ),
    "parameter entity": (
        '<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]>'
        "<xml><Encrypt>a</Encrypt></xml>"
    ),
    "external DTD": (
        '<!DOCTYPE xml SYSTEM "http://127.0.0.1:9/evil.dtd"><xml><Encrypt>a</Encrypt></xml>'
    ),
    "DTD alone": "<!DOCTYPE xml><xml><Encrypt>a</Encrypt></xml>",
}


def _peak_growth(call: Callable[[], object], expected: type[Exception]) -> int:
    """Bytes the traced peak grew by while *call* ran and raised *expected*."""
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        with pytest.raises(expected):
            call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - base


def test_parse_callback_reads_kf_msg_or_event() -> None:
    """The documented kf_msg_or_event parses to its fields, CreateTime an aware UTC time."""
    callback = parse_callback(KF_EVENT)
    assert callback == KfCallback(
        to_user_name="ww12345678910",
        create_time=datetime(2012, 9, 28, 11, 31, tzinfo=UTC),
        msg_type="event",
        event=KF_MSG_OR_EVENT,
        token="ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR",
        open_kfid="wkxxxxxxx",
        raw=callback.raw,
    )
    assert callback.is_kf_msg_or_event
    assert callback.raw["OpenKfId"] == "wkxxxxxxx"
    assert parse_callback(KF_EVENT.encode()) == callback


def test_parse_callback_keeps_another_event_with_no_token() -> None:
    """Another well-formed callback keeps its fields; token and open_kfid are None."""
    xml = (
        "<xml><ToUserName>ww1</ToUserName><CreateTime>1700000000</CreateTime>"
        "<MsgType>event</MsgType><Event>change_contact</Event><ChangeType>add</ChangeType></xml>"
    )
    callback = parse_callback(xml)
    assert (callback.event, callback.msg_type, callback.to_user_name) == (
        "change_contact",
        "event",
        "ww1",
    )
    assert callback.token is None
    assert callback.open_kfid is None
    assert callback.raw["ChangeType"] == "add"
    assert not callback.is_kf_msg_or_event


def test_parse_callback_tolerates_empty_missing_and_odd_fields() -> None:
    """Empty or missing elements are None, a CreateTime that is not seconds None, extras kept."""
    callback = parse_callback(
        '<xml a="1"><ToUserName/><CreateTime>soon</CreateTime><Token></Token>'
        "<Nested><Inner>x</Inner></Nested><Event>kf_msg_or_event</Event></xml>"
    )
    assert callback.to_user_name is None
    assert callback.create_time is None
    assert callback.token is None
    assert callback.msg_type is None
    assert not callback.is_kf_msg_or_event  # no OpenKfId
    assert (
        parse_callback("<xml><CreateTime>99999999999999999999</CreateTime></xml>").create_time
        is None
    )


def test_repr_of_a_callback_hides_its_token() -> None:
    """The Token pulls messages, so the repr shows *** in its place and leaves raw out."""
    text = repr(parse_callback(KF_EVENT))
    assert "ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR" not in text
    assert "token=***" in text
    assert "wkxxxxxxx" in text
    assert "token=None" in repr(parse_callback("<xml/>"))


@pytest.mark.parametrize(
    "xml",
    [
        "",
        "not xml",
        "<xml>",
        "<xml><Token>a</Tok></xml>",
        "<xml/><xml/>",
        "<xml>&nbsp;</xml>",
        "\ufeff",
    ],
)
def test_xml_that_is_not_well_formed_raises_minus_40002(xml: str) -> None:
    """Malformed XML raises XmlParseError with code -40002."""
    with pytest.raises(XmlParseError) as caught:
        parse_callback(xml)
    assert caught.value.code == -40002


def test_parse_errors_name_a_position_not_the_content() -> None:
    """The error text gives expat's reason and position, not the document."""
    with pytest.raises(XmlParseError, match=r"line 1, column \d+") as caught:
        parse_callback("<xml><Token>SECRETTOKEN</Tok></xml>")
    assert "SECRETTOKEN" not in str(caught.value)


@pytest.mark.parametrize("name", list(HOSTILE))
def test_dtds_and_entities_are_refused_without_expanding_them(name: str) -> None:
    """A bomb, external entity, parameter entity or any DTD raises XmlParseError, cheaply."""
    for parse in (parse_callback, read_envelope):
        with pytest.raises(XmlParseError, match="DTD or entities"):
            parse(HOSTILE[name])
    assert _peak_growth(lambda: parse_callback(HOSTILE[name]), XmlParseError) < 100_000


def test_a_bomb_posted_as_a_callback_is_refused_before_the_signature() -> None:
    """decrypt() parses the envelope first and refuses the bomb with -40002."""
    with pytest.raises(XmlParseError) as caught:
        crypto.decrypt("0" * 40, "1", "2", BILLION_LAUGHS.encode())
    assert caught.value.code == -40002


@pytest.mark.parametrize(
    "make",
    [
        lambda: b"<xml><Encrypt>" + b"A" * 10_000_000 + b"</Encrypt></xml>",
        lambda: "<xml><Encrypt>" + "A" * 10_000_000 + "</Encrypt></xml>",
        lambda: "<xml><Encrypt>" + "客" * 3_400_000 + "</Encrypt></xml>",
    ],
    ids=["bytes", "ascii str", "cjk str"],
)
def test_a_10_mb_body_is_refused_unparsed_without_a_memory_spike(
    make: Callable[[], str | bytes],
) -> None:
    """A 10 MB body raises BodyTooLargeError at once; the traced peak grows far less than it."""
    body = make()
    with pytest.raises(BodyTooLargeError) as caught:
        crypto.decrypt("0" * 40, "1", "2", body)
    assert caught.value.code == -40002
    assert isinstance(caught.value, XmlParseError)
    assert (
        _peak_growth(lambda: crypto.decrypt("0" * 40, "1", "2", body), BodyTooLargeError) < 64_000
    )
    assert _peak_growth(lambda: parse_callback(body), BodyTooLargeError) < 64_000


def test_the_size_cap_is_exact() -> None:
    """A body of exactly MAX_CALLBACK_BODY_BYTES bytes is parsed; one byte more is refused."""
    head, tail = "<xml><Encrypt>", "</Encrypt></xml>"
    filler = MAX_CALLBACK_BODY_BYTES - len(head) - len(tail)
    exact = head + "A" * filler + tail
    assert read_envelope(exact).encrypt == "A" * filler
    with pytest.raises(BodyTooLargeError):
        read_envelope(head + "A" * (filler + 1) + tail)
    # Counted in UTF-8 bytes: 3 bytes a character, so a third as many CJK characters fit.
    cjk = head + "客" * (filler // 3 + 1) + tail
    assert len(cjk) < MAX_CALLBACK_BODY_BYTES
    with pytest.raises(BodyTooLargeError):
        parse_callback(cjk)


def test_read_envelope_reads_both_shapes() -> None:
    """WeCom's POST shape gives ToUserName/AgentID; the EncryptMsg shape its signature fields."""
    posted = read_envelope(
        b"<xml><ToUserName><![CDATA[ww1]]></ToUserName><Encrypt><![CDATA[QUJD+/==]]></Encrypt>"
        b"<AgentID><![CDATA[1000002]]></AgentID></xml>"
    )
    assert (posted.encrypt, posted.to_user_name, posted.agent_id) == ("QUJD+/==", "ww1", "1000002")
    assert posted.msg_signature is None
    built = read_envelope(
        "<xml>\n<Encrypt><![CDATA[QUJD]]></Encrypt>\n<MsgSignature><![CDATA[ab12]]></MsgSignature>\n"
        "<TimeStamp>1409659813</TimeStamp>\n<Nonce><![CDATA[1372623149]]></Nonce>\n</xml>"
    )
    assert (built.encrypt, built.msg_signature, built.timestamp, built.nonce) == (
        "QUJD",
        "ab12",
        "1409659813",
        "1372623149",
    )
    assert built.to_user_name is None
    assert built.agent_id is None


def test_read_envelope_needs_a_non_empty_encrypt() -> None:
    """An envelope whose Encrypt is missing or empty raises XmlParseError."""
    for body in ("<xml><ToUserName>ww</ToUserName></xml>", "<xml><Encrypt/></xml>"):
        with pytest.raises(XmlParseError, match="no Encrypt"):
            read_envelope(body)


def test_an_encoding_declaration_is_honoured_for_bytes() -> None:
    """A UTF-16 body with its declaration parses like the UTF-8 one."""
    body = '<?xml version="1.0" encoding="UTF-16"?><xml><Encrypt>QUJD</Encrypt></xml>'
    assert read_envelope(body.encode("utf-16")).encrypt == "QUJD"


def test_bodies_of_other_types_raise_type_error() -> None:
    """Only str and bytes are parsed."""
    with pytest.raises(TypeError, match="str or bytes"):
        parse_callback(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="str or bytes"):
        read_envelope(["<xml/>"])  # type: ignore[arg-type]


def test_a_decrypted_round_trip_parses_to_the_same_callback() -> None:
    """encrypt -> decrypt -> parse_callback gives back the callback that was sealed."""
    body = crypto.encrypt(KF_EVENT, timestamp=1, nonce="2")
    envelope = read_envelope(body)
    assert envelope.msg_signature is not None
    xml = crypto.decrypt(envelope.msg_signature, "1", "2", body.encode())
    assert parse_callback(xml) == parse_callback(KF_EVENT)


# -- kf_account_auth_change (official page 97713) ------------------------------------

#: The official page's example, with a second account on each side (the page: "多个
#: AuthAddOpenKfId节点表示多个新增账号").
AUTH_CHANGE_XML = """<xml>
   <ToUserName><![CDATA[toUser]]></ToUserName>
   <FromUserName><![CDATA[sys]]></FromUserName>
   <CreateTime>1348831860</CreateTime>
   <MsgType><![CDATA[event]]></MsgType>
   <Event><![CDATA[kf_account_auth_change]]></Event>
   <AuthAddOpenKfId><![CDATA[wkxxxx1]]></AuthAddOpenKfId>
   <AuthAddOpenKfId><![CDATA[wkxxxx3]]></AuthAddOpenKfId>
   <AuthDelOpenKfId><![CDATA[wkxxxx2]]></AuthDelOpenKfId>
   <AuthDelOpenKfId><![CDATA[wkxxxx4]]></AuthDelOpenKfId>
</xml>"""


def test_an_account_auth_change_names_every_account_added_and_withdrawn() -> None:
    """Every AuthAddOpenKfId and AuthDelOpenKfId node counts, in order; raw_all keeps them."""
    callback = parse_callback(AUTH_CHANGE_XML)
    assert callback.is_account_auth_change
    assert not callback.is_kf_msg_or_event
    assert callback.auth_add_open_kfids == ("wkxxxx1", "wkxxxx3")
    assert callback.auth_del_open_kfids == ("wkxxxx2", "wkxxxx4")
    assert callback.raw_all["AuthAddOpenKfId"] == ("wkxxxx1", "wkxxxx3")
    assert callback.raw["AuthAddOpenKfId"] == "wkxxxx1"  # the first, as before
    assert callback.raw_all["Event"] == ("kf_account_auth_change",)


def test_the_official_single_account_example_parses() -> None:
    """The page's own example: one account added, one withdrawn."""
    xml = AUTH_CHANGE_XML.replace(
        "   <AuthAddOpenKfId><![CDATA[wkxxxx3]]></AuthAddOpenKfId>\n", ""
    ).replace("   <AuthDelOpenKfId><![CDATA[wkxxxx4]]></AuthDelOpenKfId>\n", "")
    callback = parse_callback(xml)
    assert callback.auth_add_open_kfids == ("wkxxxx1",)
    assert callback.auth_del_open_kfids == ("wkxxxx2",)


def test_other_callbacks_have_no_auth_change_accounts() -> None:
    """A kf_msg_or_event has empty account tuples."""
    xml = (
        "<xml><ToUserName>ww1</ToUserName><CreateTime>1</CreateTime><MsgType>event</MsgType>"
        "<Event>kf_msg_or_event</Event><Token>T</Token><OpenKfId>wk1</OpenKfId></xml>"
    )
    callback = parse_callback(xml)
    assert callback.auth_add_open_kfids == ()
    assert callback.auth_del_open_kfids == ()
    assert not callback.is_account_auth_change
