"""What the simulator's modules share: faults, errors, routes and the call a handler sees."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

__all__ = [
    "API_PREFIX",
    "CONTROL_PREFIX",
    "DEEP",
    "ERRMSG",
    "NAMED_FAULTS",
    "SIM_CORP_ID",
    "SIM_SECRET",
    "ApiError",
    "Call",
    "Fault",
    "Route",
    "check_fault",
]

SIM_CORP_ID: Final = "wwsimcorp"
"""Corp id the simulator accepts by default."""

SIM_SECRET: Final = "sim-secret"  # noqa: S105 - a public test value
"""App secret the simulator accepts by default."""

Fault: TypeAlias = int | str | Mapping[str, Any]
"""A fault to inject: an errcode (``0`` means "behave normally"), ``"httpNNN"`` (an
HTML error page with that HTTP status, e.g. ``"http502"``), ``"truncated"`` (HTTP 200
with a cut-off JSON body), ``"deep"`` (HTTP 200 with valid JSON nested 100,000 arrays
deep), ``"timeout"`` (hang for ``hang_seconds`` first),
``"drip"`` (send the headers, then the normal body one byte every
``drip_interval`` seconds), ``"drop"`` (do the work, then cut the answer off half
way and close the connection), ``"lost"`` (do the work, then never answer: the
client times out), or a mapping of fields that replace those of the normal
answer (malformed answers: ``{"expires_in": 0}`` for ``gettoken``,
``{"invalid_external_userid": [{}]}`` for ``customer/batchget``)."""

API_PREFIX: Final = "/cgi-bin/"
CONTROL_PREFIX: Final = "/__sim__/"
#: The nesting of the ``"deep"`` fault's body: far past what a JSON decoder recurses into.
DEEP_NESTING: Final = 100_000
#: HTTP 200 with a JSON body nested :data:`DEEP_NESTING` arrays deep (valid JSON).
DEEP: Final = b'{"errcode":0,"errmsg":"ok","x":' + b"[" * DEEP_NESTING + b"]" * DEEP_NESTING + b"}"
TRUNCATED: Final = b'{"errcode":0,"errmsg":"ok","customer_list":[{"external_userid":"wm'
MORE_INFO: Final = "https://open.work.weixin.qq.com/devtool/query?e="

ERRMSG: Final[Mapping[int, str]] = {
    -1: "system busy",
    6000: "data version conflict",
    40001: "invalid credential",
    40004: "invalid media type",
    40006: "invalid file size",
    40007: "invalid media_id",
    40008: "invalid message type",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40035: "invalid parameter",
    40058: "invalid Request Parameter",
    40063: "parameter is empty",
    40096: "invalid external userid",
    41001: "access_token missing",
    41002: "corpid missing",
    41004: "corpsecret missing",
    41005: "media data missing",
    41050: "invalid event code",
    42001: "access_token expired",
    44001: "empty media data",
    44004: "text content is empty",
    45009: "api freq out of limit",
    45033: "api concurrent out of limit",
    47001: "data format error",
    48002: "api forbidden",
    60020: "not allow to access from your ip",
    60111: "userid not found",
    60123: "invalid department",
    95000: "invalid open_kfid",
    95001: "send message count limit",
    95002: "send message time limit",
    95004: "open_kfid not exist",
    95007: "invalid msg token",
    95008: "too many menu items",
    95009: "invalid menu item type",
    95010: "msgid duplicate",
    95013: "conversation ended",
    95014: "user is not servicer",
    95016: "service state transfer not allowed",
    95018: "session state does not allow sending",
    95019: "servicer is not receiving",
    95020: "invalid cursor",
    95021: "not in upgrade service range",
    830002: "file size exceeds the limit: use Range requests",
}


class ApiError(Exception):
    """Raised by handlers to answer with a non-zero errcode."""

    def __init__(self, errcode: int, detail: str | None = None) -> None:
        super().__init__(errcode, detail)
        self.errcode = errcode
        self.detail = detail


@dataclass(slots=True)
class Call:
    """One API call as a handler sees it."""

    endpoint: str
    query: dict[str, str]
    body: bytes
    now: float
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        """The body as a JSON object; anything else answers 47001 (data format error)."""
        try:
            request = json.loads(self.body)
        except ValueError:
            raise ApiError(47001) from None
        if not isinstance(request, dict):
            raise ApiError(47001)
        return request


@dataclass(frozen=True, slots=True)
class Route:
    """How one endpoint is served: its method and the handler method's name."""

    method: str
    handler: str
    needs_token: bool = True


#: The faults named by a word (the others are an errcode, ``"httpNNN"`` or a mapping).
NAMED_FAULTS: Final = ("truncated", "deep", "timeout", "drip", "drop", "lost")


def check_fault(fault: object) -> Fault:
    """*fault*, checked: a :data:`Fault` or ``ValueError``."""
    if isinstance(fault, Mapping):
        if not all(isinstance(key, str) for key in fault):
            raise ValueError("a field-replacing fault maps field names to values")
        return dict(fault)
    if isinstance(fault, bool) or not isinstance(fault, int | str):
        raise ValueError(f"a fault is an errcode, a string or a mapping, not {fault!r}")
    if isinstance(fault, str) and fault not in NAMED_FAULTS:
        code = fault[4:]
        if not (fault.startswith("http") and code.isdigit() and 400 <= int(code) <= 599):
            named = ", ".join(repr(name) for name in NAMED_FAULTS)
            raise ValueError(f"unknown fault {fault!r}; use 'httpNNN', {named} or a mapping")
    return fault
