"""Where the bot starts and stops: its state, its client, one lane per account, the shutdown.

- **Start** opens the bot's ``KfClient`` if nobody has (and the bot then closes it
  at the end); a closed client fails the start at once.
- **A lane** runs one account's pulls one after another. A wake-up while a pull
  runs is noted, and however many come, the lane pulls once more afterwards, with
  the newest Token (coalescing).
- **Failures.** Whatever a pull raises (a WeCom error, a cursor store that cannot
  read or write, Redis away, a bug) is logged at ERROR with its cause, reported as
  ``PullFailed``, and tried again after a wait that doubles from 1 s up to 60 s,
  for as long as the bot runs; ``PullRecovered`` says when it works again. A lane
  ends only when its work is done or the bot stops, never on an error.
- **An unsaved cursor holds the account**: messages were handled and their cursor
  could not be saved. Pulling again would hand them out again on every try, so
  the lane only tries to save that cursor, on the same schedule, and pulls again
  once it is saved.
- **Shutdown** waits ``shutdown_timeout`` in all, whatever handlers do: lanes
  finish the message in hand; at the deadline's last tenth (at most 1 s) the busy
  ones are cancelled; one that still runs then (a handler that swallows the
  cancellation) is abandoned and logged. A handler may call ``aclose()``: it starts
  the shutdown and returns at once (a lane cannot wait for itself).

Waits run on the bot's injectable ``sleep``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Final, TypeVar

import attrs

from .._constants import LOGGER_NAME
from ..instrumentation.events import PullFailed, PullRecovered
from ._dispatch import cancelled_here
from ._saves import WatchedCursors

if TYPE_CHECKING:
    from .._client import KfClient

__all__ = ["RETRY_CAP", "RETRY_FIRST", "Lane", "Lanes"]

logger = logging.getLogger(LOGGER_NAME)

#: Seconds before a failed pull is tried again the first time; doubled each time.
RETRY_FIRST: Final = 1.0
#: The longest wait between two tries of a failing pull.
RETRY_CAP: Final = 60.0
#: At most this much of ``shutdown_timeout`` goes to lanes cancelled at its end.
_CANCEL_GRACE: Final = 1.0


@attrs.define
class Lane:
    """One account's pulls: the one running, whether another is due, what is in hand."""

    task: asyncio.Task[None] | None = None
    again: bool = False
    token: str | None = None
    #: The msgid a handler has (for the shutdown's log).
    in_hand: str | None = None


_F = TypeVar("_F", bound="asyncio.Future[Any]")

#: One pull: ``(open_kfid, token, lane)``.
Pull = Callable[[str, str | None, Lane], Awaitable[None]]


def retry_wait(failures: int) -> float:
    """Seconds before the next try after *failures* failures in a row."""
    return min(RETRY_FIRST * 2.0 ** min(failures - 1, 32), RETRY_CAP)


class Lanes:
    """The running part of a ``KfBot`` (see the module)."""

    def __init__(
        self,
        kf: KfClient,
        pull: Pull,
        cursors: WatchedCursors,
        *,
        shutdown_timeout: float,
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self._kf = kf
        self._pull = pull
        self._cursors = cursors
        self._hooks = kf.instrumentation
        self.shutdown_timeout = shutdown_timeout
        self._sleep = sleep
        self.lanes: dict[str, Lane] = {}
        #: ``"new"``, ``"running"``, ``"closing"`` or ``"closed"``.
        self.state = "new"
        self.stop = asyncio.Event()
        self._own_kf = False
        self._shutdown: asyncio.Future[None] | None = None

    # -- start and stop ----------------------------------------------------------

    async def start(self) -> None:
        """Open the client if nobody has, then pull the wake-ups that came before."""
        if self.state == "running":
            return
        if self.state != "new":
            raise RuntimeError("KfBot cannot be started again after aclose()")
        if self._kf.state == "closed":
            raise RuntimeError(
                "KfBot cannot start: its KfClient is closed (give it an open client, or one "
                "not opened yet: the bot then opens it and closes it in aclose())"
            )
        if self._kf.state == "new":
            await self._kf.__aenter__()
            self._own_kf = True
        self.state = "running"
        for open_kfid, lane in self.lanes.items():
            if lane.again and lane.task is None:
                lane.again = False
                self._start_lane(open_kfid, lane, lane.token)

    async def aclose(self) -> None:
        """Stop within ``shutdown_timeout`` (see the module); later calls wait for the first."""
        if self._shutdown is None:
            self.state = "closing"
            self.stop.set()
            self._shutdown = asyncio.ensure_future(self._shut_down())
            self._shutdown.add_done_callback(_log_failure)
        if asyncio.current_task() in {lane.task for lane in self.lanes.values()}:
            return  # a handler stops its own bot: its lane ends when the handler returns
        await asyncio.shield(self._shutdown)

    async def _shut_down(self) -> None:
        try:
            await self._finish_lanes()
        finally:
            try:
                if self._own_kf:
                    await self._kf.aclose()
            finally:
                self.state = "closed"

    async def _finish_lanes(self) -> None:
        running = {
            lane.task: (open_kfid, lane)
            for open_kfid, lane in self.lanes.items()
            if lane.task is not None
        }
        grace = min(_CANCEL_GRACE, self.shutdown_timeout / 10)
        busy = await self.wait_for(running, self.shutdown_timeout - grace)
        for task in busy:
            open_kfid, lane = running[task]
            logger.warning(
                "%s: cut off after shutdown_timeout (%s in hand); its page is read again next time",
                open_kfid,
                lane.in_hand or "no message",
            )
            task.cancel()
        for task in await self.wait_for(busy, grace):
            open_kfid, lane = running[task]
            logger.error(
                "%s: abandoned: the handler of %s did not stop when cancelled and may still run",
                open_kfid,
                lane.in_hand,
            )

    # -- waiting -----------------------------------------------------------------

    async def wait_for(self, futures: Iterable[_F], seconds: float) -> set[_F]:
        """Wait until *futures* are done or *seconds* passed; return those not done."""
        pending = {future for future in futures if not future.done()}
        if not pending:
            return pending
        timer: asyncio.Future[Any] = asyncio.ensure_future(self._sleep(max(seconds, 0.0)))
        try:
            while pending and not timer.done():
                waiting: set[asyncio.Future[Any]] = {*pending, timer}
                done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                pending.difference_update(done)
        finally:
            timer.cancel()
        return pending

    async def stopped_within(self, seconds: float) -> bool:
        """Wait *seconds*, or less if the bot stops; return whether it stopped."""
        if self.stop.is_set():
            return True
        stopping = asyncio.ensure_future(self.stop.wait())
        try:
            await self.wait_for([stopping], seconds)
        finally:
            stopping.cancel()
        return self.stop.is_set()

    # -- lanes -------------------------------------------------------------------

    def wake(self, open_kfid: str, token: str | None) -> None:
        """Pull *open_kfid* now, or once more after its running pull (or once started)."""
        lane = self.lanes.get(open_kfid)
        if lane is None:
            lane = self.lanes[open_kfid] = Lane()
        if lane.task is not None or self.state != "running":
            lane.again = True
            lane.token = token or lane.token
            return
        self._start_lane(open_kfid, lane, token)

    def _start_lane(self, open_kfid: str, lane: Lane, token: str | None) -> None:
        lane.token = None
        lane.task = asyncio.get_running_loop().create_task(
            self._run(open_kfid, lane, token), name=f"kf-bot {open_kfid}"
        )

    async def _run(self, open_kfid: str, lane: Lane, token: str | None) -> None:
        failures = 0
        error: BaseException
        try:
            while not self.stop.is_set():
                try:
                    if await self._cursors.settle(open_kfid):
                        logger.warning(
                            "%s: the cursor is saved at last; handling resumes", open_kfid
                        )
                    await self._pull(open_kfid, token, lane)
                except asyncio.CancelledError as exc:
                    if cancelled_here():
                        raise  # the bot's own cancellation, at the end of its shutdown
                    error = exc  # a stray one, from a store or a library
                except Exception as exc:
                    error = exc
                else:
                    if failures:
                        logger.warning("%s: pulling works again", open_kfid)
                        self._hooks.emit(PullRecovered(open_kfid=open_kfid, failures=failures))
                    failures = 0
                    if not lane.again:
                        return
                    lane.again, token, lane.token = False, lane.token, None
                    continue
                failures += 1
                wait = retry_wait(failures)
                self._failed(open_kfid, error, failures, wait)
                if lane.again:  # wake-ups meanwhile: the next try serves them
                    lane.again, token, lane.token = False, lane.token or token, None
                if await self.stopped_within(wait):
                    return
        finally:
            lane.task = None
            lane.in_hand = None

    def _failed(self, open_kfid: str, error: BaseException, failures: int, wait: float) -> None:
        unsaved = open_kfid in self._cursors.unsaved
        trace = error if failures == 1 else None
        cause = f"{type(error).__name__}: {error}"
        if unsaved:
            logger.error(
                "%s: the cursor of messages already handled could not be saved (%s); nothing "
                "more is handled for this account until it is (failure %d in a row, next try "
                "in %g s)",
                open_kfid,
                cause,
                failures,
                wait,
                exc_info=trace,
            )
        else:
            logger.error(
                "%s: pulling messages failed (%s); trying again in %g s (failure %d in a row)",
                open_kfid,
                cause,
                wait,
                failures,
                exc_info=trace,
            )
        self._hooks.emit(
            PullFailed(
                open_kfid=open_kfid,
                error=type(error).__name__,
                failures=failures,
                retry_in=wait,
                cursor_unsaved=unsaved,
            )
        )


def _log_failure(future: asyncio.Future[None]) -> None:
    if not future.cancelled() and (exc := future.exception()) is not None:
        logger.error("KfBot: the shutdown failed", exc_info=exc)
