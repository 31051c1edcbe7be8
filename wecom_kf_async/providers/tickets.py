"""Suite tickets: what WeCom pushes every 10 minutes, kept where the whole fleet finds it.

WeCom pushes a new ``suite_ticket`` to the provider's instruction callback every 10
minutes; each lives 30 minutes, and the newest one should always be used (page
90628). ``get_suite_token`` needs one. A store keeps the newest ticket per suite:
a ticket older than the one it holds (a delayed or repeated push) is ignored, so
a ticket never goes back. In memory (one process), in a file (processes on one
host), or on Redis (:class:`wecom_kf_async.fleet.RedisSuiteTicketStore`).
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

import attrs

from .._errors import KfError

__all__ = [
    "SUITE_TICKET_LIFETIME",
    "FileSuiteTicketStore",
    "InMemorySuiteTicketStore",
    "SuiteTicket",
    "SuiteTicketMissingError",
    "SuiteTicketStore",
]

#: Seconds a suite_ticket is valid after WeCom pushed it (page 90628).
SUITE_TICKET_LIFETIME: Final = 1800.0


@attrs.frozen(kw_only=True)
class SuiteTicket:
    """One pushed ticket: its value (never shown), WeCom's ``TimeStamp``, and when it
    arrived here (wall clock, epoch seconds)."""

    value: str = attrs.field(repr=False)
    timestamp: int
    received_at: float

    def expires_at(self) -> float:
        """When it stops being accepted: 30 minutes after WeCom's ``TimeStamp`` (or
        after it arrived, if that is earlier: clocks disagree)."""
        return min(self.timestamp, self.received_at) + SUITE_TICKET_LIFETIME

    def newer_than(self, other: SuiteTicket) -> bool:
        """Whether this ticket was pushed after *other* (WeCom's ``TimeStamp`` decides)."""
        return self.timestamp > other.timestamp


class SuiteTicketMissingError(KfError):
    """No usable suite_ticket: none has arrived yet, or the newest one has expired.

    ``get_suite_token`` is not called (it would be refused): check that the
    instruction callback URL receives WeCom's pushes (every 10 minutes), or push one
    by hand from the provider's admin console. Calls resume as soon as a ticket
    arrives.
    """

    def __init__(self, suite_id: str, ticket: SuiteTicket | None, now: float) -> None:
        if ticket is None:
            reason = "no suite_ticket has arrived yet"
        else:
            reason = (
                f"the newest suite_ticket expired {now - ticket.expires_at():.0f} s ago "
                f"(tickets live {SUITE_TICKET_LIFETIME / 60:.0f} minutes, page 90628)"
            )
        super().__init__(
            f"suite {suite_id}: {reason}; check that the instruction callback receives "
            "WeCom's suite_ticket pushes (every 10 minutes)",
            path="service/get_suite_token",
        )
        #: The suite whose ticket is missing.
        self.suite_id = suite_id


@runtime_checkable
class SuiteTicketStore(Protocol):
    """Keeps the newest suite ticket of each suite."""

    async def get(self, suite_id: str) -> SuiteTicket | None:
        """The newest ticket of *suite_id*, or ``None``."""

    async def put(self, suite_id: str, ticket: SuiteTicket) -> bool:
        """Keep *ticket* unless the store holds a newer one; return whether it did."""


def usable_ticket(
    suite_id: str, ticket: SuiteTicket | None, clock: Callable[[], float] = time.time
) -> SuiteTicket:
    """*ticket* if it is still valid, else :class:`SuiteTicketMissingError`."""
    now = clock()
    if ticket is None or now >= ticket.expires_at():
        raise SuiteTicketMissingError(suite_id, ticket, now)
    return ticket


class InMemorySuiteTicketStore:
    """Tickets in this process's memory (*initial*: ``{suite_id: ticket}`` to start with)."""

    def __init__(self, initial: Mapping[str, SuiteTicket] | None = None) -> None:
        self._tickets: dict[str, SuiteTicket] = dict(initial or {})

    def __repr__(self) -> str:
        return f"InMemorySuiteTicketStore(suites={sorted(self._tickets)!r})"

    async def get(self, suite_id: str) -> SuiteTicket | None:
        """The newest ticket of *suite_id*, or ``None``."""
        return self._tickets.get(suite_id)

    async def put(self, suite_id: str, ticket: SuiteTicket) -> bool:
        """Keep *ticket* unless a newer one is held."""
        held = self._tickets.get(suite_id)
        if held is not None and not ticket.newer_than(held):
            return False
        self._tickets[suite_id] = ticket
        return True


class FileSuiteTicketStore:
    """Tickets in a JSON file, written atomically (a temporary file renamed over it).

    Processes on one host that share the file share the tickets. Protect the file
    like a secret: a ticket and the suite secret together get the suite's token.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"FileSuiteTicketStore({str(self.path)!r})"

    def _load(self) -> dict[str, SuiteTicket]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return {
            suite_id: SuiteTicket(
                value=str(item["value"]),
                timestamp=int(item["timestamp"]),
                received_at=float(item["received_at"]),
            )
            for suite_id, item in raw.items()
        }

    def _save(self, tickets: dict[str, SuiteTicket]) -> None:
        data = {
            suite_id: {"value": t.value, "timestamp": t.timestamp, "received_at": t.received_at}
            for suite_id, t in tickets.items()
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temp, 0o600)
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    async def get(self, suite_id: str) -> SuiteTicket | None:
        """The newest ticket of *suite_id*, or ``None``."""
        return (await asyncio.to_thread(self._load)).get(suite_id)

    async def put(self, suite_id: str, ticket: SuiteTicket) -> bool:
        """Keep *ticket* unless the file holds a newer one."""
        async with self._lock:

            def update() -> bool:
                tickets = self._load()
                held = tickets.get(suite_id)
                if held is not None and not ticket.newer_than(held):
                    return False
                tickets[suite_id] = ticket
                self._save(tickets)
                return True

            # Shielded: a cancelled caller leaves the write to finish, never half done.
            return await asyncio.shield(asyncio.to_thread(update))
