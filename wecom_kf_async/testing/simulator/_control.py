"""The control plane of the simulator: ``/__sim__/...`` and :meth:`configure`."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from ._types import check_fault
from ._wire import (
    JSON,
    TEXT,
    Receive,
    Scope,
    Send,
    dumps,
    json_object,
    number,
    parse_latency,
    read_body,
    require,
    respond,
    setter,
)
from .customers import CUSTOMER_BATCHGET, CustomersMixin
from .media import MediaMixin
from .tokens import TokensMixin

__all__ = ["ControlMixin"]


class ControlMixin(TokensMixin, CustomersMixin, MediaMixin):
    """Scripting over HTTP, for a simulator served in another process."""

    async def _control(self, action: str, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        body = await read_body(receive) if method == "POST" else b""
        try:
            if action == "stats" and method == "GET":
                query = dict(parse_qsl(scope.get("query_string", b"").decode("utf-8", "replace")))
                result = self.stats.to_dict(include_times=query.get("times") in ("1", "true"))
            elif method != "POST":
                await respond(send, 404, TEXT, b"not found\n")
                return
            elif action == "reset":
                self.stats.reset()
                result = {"ok": True}
            elif action == "rotate":
                self.rotate_token()
                result = {"ok": True}
            elif action == "expire":
                self.expire_tokens()
                result = {"ok": True}
            elif action == "config":
                self.configure(json_object(body))
                result = {"ok": True}
            elif action == "customers":
                self._control_customers(json_object(body))
                result = {"ok": True}
            elif action == "media":
                result = self._control_media(json_object(body))
            else:
                await respond(send, 404, TEXT, b"not found\n")
                return
        except (ValueError, TypeError) as error:
            await respond(send, 400, JSON, dumps({"ok": False, "error": str(error)}))
            return
        await respond(send, 200, JSON, dumps(result))

    def configure(self, config: Mapping[str, Any]) -> None:
        """Apply settings given as JSON-like data (what ``POST /__sim__/config`` takes).

        Keys: ``latency`` (seconds, or ``{endpoint: seconds}``), ``shuffle``,
        ``calls_per_second_limit`` (int or null), ``fault_rate`` with optional
        ``faults`` and ``fault_endpoint`` (default ``kf/customer/batchget``),
        ``script`` (``{endpoint: [fault, ...]}``), ``hang_seconds``, ``drip_interval``,
        ``extra_fields``, ``third_party`` and ``known_prefix``. Everything is
        validated before anything is applied; bad input raises ValueError.
        """
        unknown = set(config) - {
            "latency",
            "shuffle",
            "calls_per_second_limit",
            "fault_rate",
            "faults",
            "fault_endpoint",
            "script",
            "hang_seconds",
            "drip_interval",
            "extra_fields",
            "third_party",
            "known_prefix",
        }
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        steps: list[Callable[[], None]] = []
        if "latency" in config:
            steps.append(setter(self, "latency", parse_latency(config["latency"])))
        if "shuffle" in config:
            steps.append(setter(self, "shuffle", require(config["shuffle"], bool)))
        if "calls_per_second_limit" in config:
            limit = config["calls_per_second_limit"]
            if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
                raise ValueError("calls_per_second_limit must be an integer or null")
            steps.append(setter(self, "calls_per_second_limit", limit))
        if "hang_seconds" in config:
            steps.append(setter(self, "hang_seconds", number(config["hang_seconds"])))
        if "drip_interval" in config:
            steps.append(setter(self, "drip_interval", number(config["drip_interval"])))
        if "extra_fields" in config:
            extra = config["extra_fields"] or {}
            steps.append(setter(self, "extra_fields", dict(require(extra, dict))))
        if "third_party" in config:
            steps.append(setter(self, "third_party", require(config["third_party"], bool)))
        if "known_prefix" in config:
            prefix = config["known_prefix"]
            if prefix is not None and not isinstance(prefix, str):
                raise ValueError("known_prefix must be a string or null")
            steps.append(setter(self, "known_prefix", prefix))
        if "fault_rate" in config or "faults" in config:
            endpoint = str(config.get("fault_endpoint", CUSTOMER_BATCHGET))
            self._check_endpoint(endpoint)
            rate = number(config.get("fault_rate", 0.0))
            if not 0.0 <= rate <= 1.0:
                raise ValueError("fault_rate must be between 0 and 1")
            faults = tuple(
                check_fault(item) for item in config.get("faults", (-1, 45009, "http502"))
            )
            steps.append(lambda: self.set_fault_rate(endpoint, rate, faults))
        if "script" in config:
            scripts = require(config["script"], dict)
            for endpoint, items in scripts.items():
                self._check_endpoint(endpoint)
                checked = [check_fault(item) for item in require(items, list)]
                steps.append(functools.partial(self.script, endpoint, checked))
        for step in steps:
            step()

    def _control_media(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /__sim__/media`` ``{"type", "filename", "size"}``: :meth:`add_media`.

        Answers the new ``media_id`` and the SHA-256 of what ``media/get`` serves.
        """
        media_id = self.add_media(
            str(request.get("type", "file")),
            filename=str(request.get("filename", "media.bin")),
            size=int(number(request.get("size", 2048))),
        )
        return {"ok": True, "media_id": media_id, "sha256": self.media_sha256(media_id)}

    def _control_customers(self, request: Mapping[str, Any]) -> None:
        added = require(request.get("add", {}), dict)
        forgotten = require(request.get("forget", []), list)
        for fields in added.values():
            require(fields, dict)
        for uid, fields in added.items():
            self.add_customer(uid, **fields)
        for uid in forgotten:
            self.forget(str(uid))
