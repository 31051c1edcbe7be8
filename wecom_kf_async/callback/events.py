"""Safe parsing of callback XML: the POSTed envelope and the decrypted ``kf_msg_or_event``.

Both documents are flat (``<xml>`` and a few text elements), so they are read with
one bare expat parser that keeps the text of the root's children, guarded the way
:mod:`defusedxml` guards its parsers: a DTD, an entity declaration or an external
reference raises defusedxml's ``DTDForbidden`` / ``EntitiesForbidden`` /
``ExternalReferenceForbidden`` the moment expat meets it (no billion laughs, no
external entity), which becomes :class:`XmlParseError`. A body over
:data:`MAX_CALLBACK_BODY_BYTES` is refused before any parsing.

Why not ``defusedxml.ElementTree.fromstring``: it runs the pure-Python ElementTree
parser (about 12 µs per callback document here, 6 µs of it building the parser),
which made the POST path no faster than wechatpy's; this reader takes about 4 µs
with the same guards.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Final
from xml.parsers.expat import XML_PARAM_ENTITY_PARSING_NEVER, ExpatError, ParserCreate

import attrs
from defusedxml import (
    DefusedXmlException,
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
)

from .errors import BodyTooLargeError, XmlParseError

__all__ = [
    "KF_ACCOUNT_AUTH_CHANGE",
    "KF_MSG_OR_EVENT",
    "MAX_CALLBACK_BODY_BYTES",
    "Envelope",
    "KfCallback",
    "parse_callback",
    "read_envelope",
]

#: Largest callback body accepted, in bytes (a real callback is about 1 KB).
MAX_CALLBACK_BODY_BYTES: Final = 64 * 1024

#: The ``Event`` of the callback that says a KF account has messages waiting.
KF_MSG_OR_EVENT: Final = "kf_msg_or_event"
#: The ``Event`` of the callback that says which KF accounts were authorised to the
#: app or withdrawn from it (official page 97713).
KF_ACCOUNT_AUTH_CHANGE: Final = "kf_account_auth_change"

_HIDDEN = "***"


def _check_size(body: str | bytes, what: str) -> None:
    if isinstance(body, str):
        # A str of n characters is at least n bytes in UTF-8, and exactly n if ASCII
        # (isascii() is O(1) on CPython): encode only a short non-ASCII text to count.
        too_large = len(body) > MAX_CALLBACK_BODY_BYTES or (
            not body.isascii()
            and len(body.encode("utf-8", "surrogatepass")) > MAX_CALLBACK_BODY_BYTES
        )
    elif isinstance(body, bytes | bytearray):
        too_large = len(body) > MAX_CALLBACK_BODY_BYTES
    else:
        raise TypeError(f"{what} must be str or bytes, got {type(body).__name__}")
    if too_large:
        raise BodyTooLargeError(f"{what} is over {MAX_CALLBACK_BODY_BYTES} bytes: refused unparsed")


# defusedxml's guards, for a bare expat parser (same signatures, same exceptions).
def _forbid_dtd(name: str, sysid: str | None, pubid: str | None, _internal: bool) -> None:
    raise DTDForbidden(name, sysid, pubid)


def _forbid_entity(
    name: str,
    _is_parameter: bool,
    value: str | None,
    base: str | None,
    sysid: str | None,
    pubid: str | None,
    notation: str | None,
) -> None:
    raise EntitiesForbidden(name, value, base, sysid, pubid, notation)


def _forbid_unparsed_entity(
    name: str, base: str | None, sysid: str | None, pubid: str | None, notation: str | None
) -> None:
    raise EntitiesForbidden(name, None, base, sysid, pubid, notation)


def _forbid_external(context: str, base: str | None, sysid: str | None, pubid: str | None) -> int:
    raise ExternalReferenceForbidden(context, base, sysid, pubid)


def _child_texts(body: str | bytes, what: str) -> dict[str, list[str]]:
    """Size-check and parse *body*; each child of the root's tag -> its texts, in order.

    A text is the child's own character data ("" when empty); a tag that repeats
    (``AuthAddOpenKfId`` of ``kf_account_auth_change``) has one text per occurrence.
    """
    _check_size(body, what)
    parser = ParserCreate()
    parser.SetParamEntityParsing(XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _forbid_dtd
    parser.EntityDeclHandler = _forbid_entity
    parser.UnparsedEntityDeclHandler = _forbid_unparsed_entity
    parser.ExternalEntityRefHandler = _forbid_external
    parser.buffer_text = True
    texts: dict[str, list[str]] = {}
    chunks: list[str] = []
    depth = 0

    def start(_tag: str, _attributes: object) -> None:
        nonlocal depth
        depth += 1
        if depth == 2:
            chunks.clear()

    def end(tag: str) -> None:
        nonlocal depth
        if depth == 2:
            found = texts.get(tag)
            if found is None:
                texts[tag] = ["".join(chunks)]
            else:
                found.append("".join(chunks))
        depth -= 1

    def data(text: str) -> None:
        if depth == 2:
            chunks.append(text)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = data
    try:
        parser.Parse(body, True)
    except DefusedXmlException as exc:
        raise XmlParseError(
            f"{what} uses a DTD or entities: refused ({type(exc).__name__})"
        ) from None
    except ExpatError as exc:
        # ExpatError's text is a reason and a position ("not well-formed (invalid
        # token): line 1, column 5"), never the document's content.
        raise XmlParseError(f"{what} is not well-formed XML: {exc}") from None
    return texts


@attrs.frozen(kw_only=True)
class Envelope:
    """The outer XML of a callback, before decryption.

    WeCom POSTs ``<xml><ToUserName/><Encrypt/><AgentID/></xml>`` and passes the
    signature, timestamp and nonce in the query string; the official SDKs'
    ``EncryptMsg`` (and :meth:`CallbackCrypto.encrypt`) put those three in the XML
    instead, as ``MsgSignature``, ``TimeStamp`` and ``Nonce``. A field the body
    does not carry is None.
    """

    #: The base64 ciphertext (``Encrypt``), exactly as sent: the signature covers it.
    encrypt: str
    #: ``ToUserName``: the corpid WeCom posted for.
    to_user_name: str | None = None
    #: ``AgentID``, as text (WeCom leaves it empty for KF callbacks).
    agent_id: str | None = None
    #: ``MsgSignature`` (envelopes built by EncryptMsg only).
    msg_signature: str | None = None
    #: ``TimeStamp`` (envelopes built by EncryptMsg only).
    timestamp: str | None = None
    #: ``Nonce`` (envelopes built by EncryptMsg only).
    nonce: str | None = None


def read_envelope(body: str | bytes) -> Envelope:
    """Read ``Encrypt`` and its companions from a POSTed callback body.

    Args:
        body: The request body, as received (str or bytes).

    Returns:
        The :class:`Envelope`, with ``encrypt`` as sent (no whitespace stripped).

    Raises:
        BodyTooLargeError: *body* is over :data:`MAX_CALLBACK_BODY_BYTES` (not parsed).
        XmlParseError: *body* is not well-formed XML, uses a DTD or entities, or has
            no non-empty ``Encrypt`` element.
        TypeError: *body* is neither str nor bytes.
    """
    texts = _first_texts(_child_texts(body, "callback body"))
    encrypt = texts.get("Encrypt")
    if not encrypt:
        raise XmlParseError("callback body has no Encrypt element")
    return Envelope(
        encrypt=encrypt,
        to_user_name=texts.get("ToUserName") or None,
        agent_id=texts.get("AgentID") or None,
        msg_signature=texts.get("MsgSignature") or None,
        timestamp=texts.get("TimeStamp") or None,
        nonce=texts.get("Nonce") or None,
    )


def _first_texts(texts: Mapping[str, list[str]]) -> dict[str, str]:
    """The first text of each tag."""
    return {tag: values[0] for tag, values in texts.items()}


def _create_time(text: str | None) -> datetime | None:
    if not text:
        return None
    text = text.strip()
    if not text.isdigit():
        return None
    try:
        return datetime.fromtimestamp(int(text), UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _hidden(value: object) -> str:
    return "None" if value is None else _HIDDEN


@attrs.frozen(kw_only=True)
class KfCallback:
    """A decrypted callback, e.g. ``kf_msg_or_event`` ("messages are waiting").

    For ``kf_msg_or_event`` fetch the messages with ``kf.messages.sync`` (or
    ``stream``) with ``token`` and ``open_kfid``. A callback of another kind keeps
    its common fields, with ``token`` and ``open_kfid`` None when it has none; every
    top-level element is in ``raw``. An element that is missing or empty is None.
    The repr hides ``token`` and ``raw``.
    """

    #: ``ToUserName``: the corpid.
    to_user_name: str | None = None
    #: ``CreateTime`` as an aware UTC datetime (None when missing or not an integer).
    create_time: datetime | None = None
    #: ``MsgType``, ``"event"`` for ``kf_msg_or_event``.
    msg_type: str | None = None
    #: ``Event``, e.g. ``"kf_msg_or_event"``.
    event: str | None = None
    #: ``Token``: lets ``sync_msg`` pull this account's messages (once, within 10 minutes).
    token: str | None = attrs.field(default=None, repr=_hidden)
    #: ``OpenKfId``: the KF account with messages waiting.
    open_kfid: str | None = None
    #: ``kf_account_auth_change``: the accounts authorised to the app (every
    #: ``AuthAddOpenKfId``, in order; empty for other callbacks).
    auth_add_open_kfids: tuple[str, ...] = ()
    #: ``kf_account_auth_change``: the accounts withdrawn from the app (every
    #: ``AuthDelOpenKfId``, in order).
    auth_del_open_kfids: tuple[str, ...] = ()
    #: Every top-level element's text, by tag (the first of a repeated tag).
    raw: Mapping[str, str] = attrs.field(factory=dict, repr=False, hash=False)
    #: Every top-level element's texts, by tag, one per occurrence, in order.
    raw_all: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict, repr=False, eq=False)

    @property
    def is_kf_msg_or_event(self) -> bool:
        """Whether this is a ``kf_msg_or_event`` naming an account to pull."""
        return self.event == KF_MSG_OR_EVENT and bool(self.open_kfid)

    @property
    def is_account_auth_change(self) -> bool:
        """Whether this is a ``kf_account_auth_change`` (accounts authorised or withdrawn)."""
        return self.event == KF_ACCOUNT_AUTH_CHANGE


def parse_callback(xml: str | bytes) -> KfCallback:
    """Parse a decrypted callback (what :meth:`CallbackCrypto.decrypt` returns).

    Args:
        xml: The decrypted XML, e.g. ``<xml><ToUserName>..</ToUserName><CreateTime>..
            </CreateTime><MsgType>event</MsgType><Event>kf_msg_or_event</Event><Token>..
            </Token><OpenKfId>..</OpenKfId></xml>``.

    Returns:
        A :class:`KfCallback`. A well-formed callback of another event keeps its
        fields, with ``token`` and ``open_kfid`` None when it has none.

    Raises:
        XmlParseError: *xml* is not well-formed, or uses a DTD or entities (-40002).
        BodyTooLargeError: *xml* is over :data:`MAX_CALLBACK_BODY_BYTES` (not parsed).
        TypeError: *xml* is neither str nor bytes.
    """
    every = _child_texts(xml, "callback XML")
    texts = _first_texts(every)
    get = texts.get
    return KfCallback(
        to_user_name=get("ToUserName") or None,
        create_time=_create_time(get("CreateTime")),
        msg_type=get("MsgType") or None,
        event=get("Event") or None,
        token=get("Token") or None,
        open_kfid=get("OpenKfId") or None,
        auth_add_open_kfids=_ids(every.get("AuthAddOpenKfId")),
        auth_del_open_kfids=_ids(every.get("AuthDelOpenKfId")),
        raw=MappingProxyType(texts),
        raw_all=MappingProxyType({tag: tuple(values) for tag, values in every.items()}),
    )


def _ids(texts: list[str] | None) -> tuple[str, ...]:
    """The non-empty ids of a repeated tag, in order, each once."""
    return tuple(dict.fromkeys(t.strip() for t in texts or () if t.strip()))
