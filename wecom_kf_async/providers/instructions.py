"""The provider's instruction callback (指令回调), decrypted: typed instructions and their parser.

WeCom POSTs a third-party app's ("suite's") instructions to its instruction
callback URL, encrypted like a KF callback but with ``receive_id = suite_id``.
Each instruction is a flat ``<xml>`` naming its ``SuiteId``, ``InfoType`` and
``TimeStamp``; what else it carries depends on the ``InfoType``:

- ``suite_ticket`` (page 90628): ``SuiteTicket``, pushed every 10 minutes and
  valid for 30: :class:`SuiteTicketInstruction`;
- ``create_auth`` (page 90642): ``AuthCode`` (valid 10 minutes), ``State`` and
  ``ExtraInfo``: :class:`CreateAuth`;
- ``change_auth`` (page 90642): ``AuthCorpId``, ``State`` and ``ExtraInfo``:
  :class:`ChangeAuth`;
- ``cancel_auth`` (page 90642): ``AuthCorpId``: :class:`CancelAuth`;
- ``reset_permanent_code`` (page 97175, agency-built apps, 代开发): ``AuthCode``:
  :class:`ResetPermanentCode`;
- any other ``InfoType``: :class:`UnknownInstruction`, every top-level element kept.

For the KF component, ``create_auth`` and ``change_auth`` also carry
``ExtraInfo.AuthOpenKfIdList.OpenKfId*``, the KF accounts the corp authorised
(page 99401): ``open_kfids``.

The XML is read with :mod:`defusedxml` (no DTD, no entities). No repr, exception
or log line shows a ticket or an auth code.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar, Final, TypeAlias
from xml.etree.ElementTree import Element, ParseError

import attrs
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from ..callback.errors import XmlParseError
from ..callback.events import MAX_CALLBACK_BODY_BYTES

__all__ = [
    "CANCEL_AUTH",
    "CHANGE_AUTH",
    "CREATE_AUTH",
    "RESET_PERMANENT_CODE",
    "SUITE_TICKET",
    "CancelAuth",
    "ChangeAuth",
    "CreateAuth",
    "Instruction",
    "InstructionError",
    "ResetPermanentCode",
    "SuiteTicketInstruction",
    "UnknownInstruction",
    "parse_instruction",
]

#: ``InfoType`` of the ticket push (page 90628).
SUITE_TICKET: Final = "suite_ticket"
#: ``InfoType`` of a corp authorising the app (page 90642).
CREATE_AUTH: Final = "create_auth"
#: ``InfoType`` of a corp changing its authorisation (page 90642).
CHANGE_AUTH: Final = "change_auth"
#: ``InfoType`` of a corp withdrawing its authorisation (page 90642).
CANCEL_AUTH: Final = "cancel_auth"
#: ``InfoType`` of an agency-built app's secret being reset (page 97175).
RESET_PERMANENT_CODE: Final = "reset_permanent_code"

_HIDDEN: Final = "***"
#: Longest ``TimeStamp`` taken for a number (epoch seconds have 10 digits until 2286).
_MAX_TIMESTAMP_DIGITS: Final = 12


def _hidden(_value: object) -> str:
    return _HIDDEN


class InstructionError(XmlParseError, ValueError):
    """-40002: an instruction that is not well-formed XML or lacks a field it needs.

    Both a :class:`~wecom_kf_async.callback.errors.XmlParseError` and a
    ``ValueError``. The message names the field, never a ticket or an auth code.
    """


@attrs.frozen(kw_only=True)
class SuiteTicketInstruction:
    """``suite_ticket``: the ticket that gets a ``suite_access_token`` (page 90628).

    WeCom pushes one every 10 minutes; each is valid for 30 minutes. The repr
    hides ``ticket``.
    """

    info_type: ClassVar[str] = SUITE_TICKET

    #: ``SuiteId``: the app (or agency-built app template) the ticket is for.
    suite_id: str
    #: ``SuiteTicket`` (up to 512 bytes).
    ticket: str = attrs.field(repr=_hidden)
    #: ``TimeStamp``, unix seconds.
    timestamp: int


@attrs.frozen(kw_only=True)
class CreateAuth:
    """``create_auth``: a corp authorised the app (page 90642; KF component: page 99401).

    Exchange ``auth_code`` for the corp's permanent code within 10 minutes. The
    repr hides ``auth_code``.
    """

    info_type: ClassVar[str] = CREATE_AUTH

    #: ``SuiteId``.
    suite_id: str
    #: ``AuthCode``: the temporary authorisation code (up to 512 bytes, 10 minutes).
    auth_code: str = attrs.field(repr=_hidden)
    #: ``TimeStamp``, unix seconds.
    timestamp: int
    #: ``State``: the ``state`` of the authorisation link (None when missing or empty).
    state: str | None = None
    #: ``ExtraInfo.AuthOpenKfIdList.OpenKfId``: the KF accounts authorised, in order
    #: (KF component only, page 99401; empty otherwise).
    open_kfids: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class ChangeAuth:
    """``change_auth``: a corp changed its authorisation (page 90642; KF: page 99401).

    Read the corp's authorisation again to see what changed.
    """

    info_type: ClassVar[str] = CHANGE_AUTH

    #: ``SuiteId``.
    suite_id: str
    #: ``AuthCorpId``: the corp that changed its authorisation.
    auth_corp_id: str
    #: ``TimeStamp``, unix seconds.
    timestamp: int
    #: ``State`` (None when missing or empty).
    state: str | None = None
    #: ``ExtraInfo.AuthOpenKfIdList.OpenKfId``: the KF accounts now authorised, in
    #: order (KF component only, page 99401; empty otherwise).
    open_kfids: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class CancelAuth:
    """``cancel_auth``: a corp withdrew its authorisation (page 90642).

    The provider should delete the corp's data.
    """

    info_type: ClassVar[str] = CANCEL_AUTH

    #: ``SuiteId``.
    suite_id: str
    #: ``AuthCorpId``: the corp that withdrew.
    auth_corp_id: str
    #: ``TimeStamp``, unix seconds.
    timestamp: int


@attrs.frozen(kw_only=True)
class ResetPermanentCode:
    """``reset_permanent_code``: an agency-built app's secret was reset (page 97175).

    Exchange ``auth_code`` for the app's new secret (its ``permanent_code``)
    within 10 minutes. The repr hides ``auth_code``.
    """

    info_type: ClassVar[str] = RESET_PERMANENT_CODE

    #: ``SuiteId``: the agency-built app.
    suite_id: str
    #: ``AuthCode``: the temporary authorisation code (10 minutes).
    auth_code: str = attrs.field(repr=_hidden)
    #: ``TimeStamp``, unix seconds.
    timestamp: int


@attrs.frozen(kw_only=True)
class UnknownInstruction:
    """An instruction of an ``InfoType`` this library does not know, kept whole.

    The repr hides ``raw`` (it may hold a code or a ticket).
    """

    #: ``SuiteId``.
    suite_id: str
    #: ``InfoType``.
    info_type: str
    #: ``TimeStamp``, unix seconds.
    timestamp: int
    #: Every top-level element's text (stripped), by tag; the first of a repeated tag.
    raw: Mapping[str, str] = attrs.field(factory=dict, repr=False, hash=False)


#: Any instruction :func:`parse_instruction` returns.
Instruction: TypeAlias = (
    SuiteTicketInstruction
    | CreateAuth
    | ChangeAuth
    | CancelAuth
    | ResetPermanentCode
    | UnknownInstruction
)


def _root(xml: str | bytes) -> Element:
    if isinstance(xml, str):
        size = len(xml.encode("utf-8", "surrogatepass"))
    elif isinstance(xml, bytes | bytearray):
        size = len(xml)
    else:
        raise TypeError(f"xml must be str or bytes, got {type(xml).__name__}")
    if size > MAX_CALLBACK_BODY_BYTES:
        raise InstructionError(
            f"instruction XML is over {MAX_CALLBACK_BODY_BYTES} bytes: refused unparsed"
        )
    try:
        return fromstring(xml, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise InstructionError(
            f"instruction XML uses a DTD or entities: refused ({type(exc).__name__})"
        ) from None
    except ParseError as exc:
        # The text is a reason and a position, never the document's content.
        raise InstructionError(f"instruction XML is not well-formed: {exc}") from None


def _texts(root: Element) -> dict[str, str]:
    """Each top-level tag -> its stripped text (the first of a repeated tag).

    Stripped: page 90628's sample has ``<InfoType> <![CDATA[suite_ticket]]></InfoType>``.
    """
    texts: dict[str, str] = {}
    for child in root:
        texts.setdefault(child.tag, (child.text or "").strip())
    return texts


def _open_kfids(root: Element) -> tuple[str, ...]:
    """``ExtraInfo.AuthOpenKfIdList.OpenKfId*`` (page 99401): non-empty, each once, in order."""
    found = root.findall("ExtraInfo/AuthOpenKfIdList/OpenKfId")
    return tuple(dict.fromkeys(t for e in found if (t := (e.text or "").strip())))


def _required(texts: Mapping[str, str], field: str, info_type: str) -> str:
    value = texts.get(field, "")
    if not value:
        raise InstructionError(f"{info_type} instruction has no {field} (missing or blank)")
    return value


def _timestamp(texts: Mapping[str, str]) -> int:
    text = texts.get("TimeStamp", "")
    if not (text.isascii() and text.isdigit()) or len(text) > _MAX_TIMESTAMP_DIGITS:
        raise InstructionError("instruction's TimeStamp is missing or not an integer")
    return int(text)


def parse_instruction(xml: str | bytes) -> Instruction:
    """Parse a decrypted instruction (what ``CallbackCrypto.decrypt`` returns).

    Args:
        xml: The decrypted XML, e.g. ``<xml><SuiteId>..</SuiteId><InfoType>suite_ticket
            </InfoType><TimeStamp>1403610513</TimeStamp><SuiteTicket>..</SuiteTicket></xml>``.

    Returns:
        The instruction of its ``InfoType``; an ``InfoType`` not known here gives an
        :class:`UnknownInstruction` with every top-level element in ``raw``.

    Raises:
        InstructionError: (a ``ValueError``) *xml* is not well-formed, uses a DTD or
            entities, or is over ``MAX_CALLBACK_BODY_BYTES``; ``SuiteId`` or
            ``InfoType`` is missing or blank; ``TimeStamp`` is not an integer; or a
            field the ``InfoType`` needs (``SuiteTicket``, ``AuthCode``,
            ``AuthCorpId``) is missing or blank. The message names the field.
        TypeError: *xml* is neither str nor bytes.
    """
    root = _root(xml)
    texts = _texts(root)
    suite_id = _required(texts, "SuiteId", "the")
    info_type = _required(texts, "InfoType", "the")
    timestamp = _timestamp(texts)
    state = texts.get("State") or None
    if info_type == SUITE_TICKET:
        ticket = _required(texts, "SuiteTicket", info_type)
        return SuiteTicketInstruction(suite_id=suite_id, ticket=ticket, timestamp=timestamp)
    if info_type == CREATE_AUTH:
        return CreateAuth(
            suite_id=suite_id,
            auth_code=_required(texts, "AuthCode", info_type),
            timestamp=timestamp,
            state=state,
            open_kfids=_open_kfids(root),
        )
    if info_type == CHANGE_AUTH:
        return ChangeAuth(
            suite_id=suite_id,
            auth_corp_id=_required(texts, "AuthCorpId", info_type),
            timestamp=timestamp,
            state=state,
            open_kfids=_open_kfids(root),
        )
    if info_type == CANCEL_AUTH:
        auth_corp_id = _required(texts, "AuthCorpId", info_type)
        return CancelAuth(suite_id=suite_id, auth_corp_id=auth_corp_id, timestamp=timestamp)
    if info_type == RESET_PERMANENT_CODE:
        auth_code = _required(texts, "AuthCode", info_type)
        return ResetPermanentCode(suite_id=suite_id, auth_code=auth_code, timestamp=timestamp)
    return UnknownInstruction(
        suite_id=suite_id,
        info_type=info_type,
        timestamp=timestamp,
        raw=MappingProxyType(texts),
    )
