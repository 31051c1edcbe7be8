"""The message log over HTTP (``POST /__sim__/messages``) and its ``configure`` keys.

For a simulator served in another process (``serve_in_subprocess``): a test seeds
the log, takes callback tokens and reads what was sent with one JSON request per
operation, ``{"op": "fill", "open_kfid": "...", "count": 1000000}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from ._wire import JSON, Receive, Send, dumps, json_object, number, read_body, require, respond

if TYPE_CHECKING:
    from .messages import MessagesMixin

__all__ = ["CONFIG_KEYS", "control_messages", "split_config"]

#: The keys :meth:`MessagesMixin.configure` adds.
CONFIG_KEYS = frozenset({"empty_pages", "stall_pages", "sync_msg_without_token_per_minute"})


def split_config(
    sim: MessagesMixin, config: Mapping[str, Any]
) -> tuple[dict[str, Any], Callable[[], None]]:
    """Check the message keys of *config*; return the other keys and a step applying them."""
    rest = {key: value for key, value in config.items() if key not in CONFIG_KEYS}
    steps: list[Callable[[], None]] = []
    if "empty_pages" in config:
        rate = number(config["empty_pages"])
        if not 0.0 <= rate < 1.0:
            raise ValueError("empty_pages must be at least 0 and below 1")
        steps.append(lambda: setattr(sim, "empty_pages", rate))
    if "stall_pages" in config:
        stall = config["stall_pages"]
        if not isinstance(stall, bool):
            raise ValueError("stall_pages must be true or false")
        steps.append(lambda: setattr(sim, "stall_pages", stall))
    if "sync_msg_without_token_per_minute" in config:
        limit = config["sync_msg_without_token_per_minute"]
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
            raise ValueError("sync_msg_without_token_per_minute must be an integer or null")
        steps.append(lambda: setattr(sim, "sync_msg_without_token_per_minute", limit))

    def apply() -> None:
        for step in steps:
            step()

    return rest, apply


def _str(request: Mapping[str, Any], key: str) -> str:
    value = request.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} must be a non-empty string")
    return value


def _run(sim: MessagesMixin, request: Mapping[str, Any]) -> dict[str, Any]:
    op = request.get("op")
    if op == "add_account":
        return {"open_kfid": sim.add_account(str(request.get("name", "Simulated")))}
    if op == "fill":
        options = {
            key: request[key]
            for key in ("kinds", "customers", "send_time", "spacing")
            if key in request
        }
        count = request.get("count")
        first = sim.fill(_str(request, "open_kfid"), count, **options)  # type: ignore[arg-type]
        return {"first_seq": first}
    if op in ("customer_says", "servicer_says"):
        message = require(request.get("message"), dict)
        kfid, uid = _str(request, "open_kfid"), _str(request, "external_userid")
        if op == "customer_says":
            return {"msgid": sim.customer_says(kfid, uid, message)}
        return {"msgid": sim.servicer_says(kfid, uid, _str(request, "servicer_userid"), message)}
    if op == "customer_enters":
        channels = request.get("wechat_channels")
        code = sim.customer_enters(
            _str(request, "open_kfid"),
            _str(request, "external_userid"),
            scene=str(request.get("scene", "")),
            scene_param=str(request.get("scene_param", "")),
            wechat_channels=None if channels is None else require(channels, dict),
        )
        return {"welcome_code": code}
    if op == "add_event":
        fields = require(request.get("fields", {}), dict)
        customer = request.get("external_userid")
        msgid = sim.add_event(
            _str(request, "open_kfid"),
            None if customer is None else str(customer),
            _str(request, "event_type"),
            **fields,
        )
        return {"msgid": msgid}
    if op == "callback_token":
        return {"token": sim.callback_token(_str(request, "open_kfid"))}
    if op == "script_pages":
        sim.script_pages(require(request.get("sizes"), list))
        return {}
    if op == "count":
        scope = request.get("open_kfid")
        return {"count": sim.corp.messages.count(None if scope is None else str(scope))}
    if op == "sent":
        return {"sent": [asdict(item) for item in sim.sent]}
    raise ValueError(f"unknown op {op!r}")


async def control_messages(sim: MessagesMixin, receive: Receive, send: Send) -> None:
    """Answer ``POST /__sim__/messages``: one operation, ``{"ok": true, ...}`` or HTTP 400.

    Operations (``op``): ``add_account`` (``name``), ``fill`` (``open_kfid``,
    ``count``, ``kinds``, ``customers``, ``send_time``, ``spacing``),
    ``customer_says`` / ``servicer_says`` (``open_kfid``, ``external_userid``,
    ``servicer_userid``, ``message``), ``customer_enters``, ``add_event``
    (``event_type``, ``fields``), ``callback_token`` (``open_kfid``),
    ``script_pages`` (``sizes``), ``count`` and ``sent``.
    """
    body = await read_body(receive)
    try:
        result = _run(sim, json_object(body))
    except (ValueError, TypeError, KeyError) as error:
        await respond(send, 400, JSON, dumps({"ok": False, "error": str(error)}))
        return
    await respond(send, 200, JSON, dumps({"ok": True, **result}))
