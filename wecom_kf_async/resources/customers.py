"""``customer/*`` endpoints: the batcher behind ``batch_get``, and the upgrade service."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Sequence
from typing import Any

from .. import _checks
from .._constants import BATCHGET_MAX_IDS, LOGGER_NAME
from .._endpoints import ENDPOINTS
from .._errors import InvalidResponseError, KfError, is_fatal
from .._pipeline import Caller
from ..models import (
    BatchGetResult,
    Customer,
    UpgradeGroupChat,
    UpgradeMember,
    UpgradeServiceConfig,
    structure_customers,
    upgrade_service_body,
)
from ._base import Resource

__all__ = ["CustomersAPI", "normalize_ids"]

logger = logging.getLogger(LOGGER_NAME)

BATCHGET = ENDPOINTS["kf/customer/batchget"]
BATCHGET_PATH = BATCHGET.path
GET_UPGRADE_SERVICE_CONFIG = ENDPOINTS["kf/customer/get_upgrade_service_config"]
UPGRADE_SERVICE = ENDPOINTS["kf/customer/upgrade_service"]
CANCEL_UPGRADE_SERVICE = ENDPOINTS["kf/customer/cancel_upgrade_service"]


def normalize_ids(external_userids: Iterable[str]) -> list[str]:
    """Check the ids and drop duplicates (the first occurrence wins).

    Raises ``TypeError`` for something that is not an iterable of strings (a bare
    string included) and ``ValueError`` for an id that cannot be one (empty, blank,
    with whitespace or control characters, over 256 bytes), naming its position.
    """
    if isinstance(external_userids, str | bytes | bytearray):
        raise TypeError(
            "external_userids must be an iterable of str, not a single "
            f"{type(external_userids).__name__}; wrap one id in a list"
        )
    try:
        items = list(external_userids)
    except TypeError:
        raise TypeError(
            f"external_userids must be an iterable of str, got {type(external_userids).__name__}"
        ) from None
    for start in range(0, len(items), _CHECK_BLOCK):
        block = items[start : start + _CHECK_BLOCK]
        if not _all_plausible(block):
            _name_the_first_bad_id(block, start)
    return list(dict.fromkeys(items))


#: Ids checked together by one pass of C-speed string tests (bounds the joined copy).
_CHECK_BLOCK = 4096


def _all_plausible(block: list[str]) -> bool:
    """Whether every id of *block* passes :func:`_checks.external_userid` (fast path).

    Joining the block runs the type test, and one ``isprintable`` over the joined text
    the whitespace and control-character tests, of every id at C speed; lengths are
    counted in bytes only when some id is not ASCII.
    """
    try:
        joined = "".join(block)
    except TypeError:  # something in the block is not a str
        return False
    if not joined.isprintable() or " " in joined or not all(block):
        return False
    if joined.isascii():
        return max(map(len, block), default=0) <= _checks.MAX_EXTERNAL_USERID_BYTES
    return all(len(x.encode()) <= _checks.MAX_EXTERNAL_USERID_BYTES for x in block)


def _name_the_first_bad_id(block: Sequence[object], start: int) -> None:
    """Raise the error of the first id of *block* that fails its check (positions from *start*)."""
    for offset, item in enumerate(block):
        position = start + offset
        if not isinstance(item, str):
            raise TypeError(f"external_userids[{position}] is {type(item).__name__}, not str")
        if not item or item.isspace():
            raise ValueError(f"external_userids[{position}] is an empty or blank string")
        _checks.external_userid(item, f"external_userids[{position}]")
    raise AssertionError("a block failed the fast check but no id in it fails")  # unreachable


def _bad_shape(what: str) -> InvalidResponseError:
    return InvalidResponseError(
        f"{what} does not have the documented shape", path=BATCHGET_PATH, reason="bad shape"
    )


def _assemble(chunk: Sequence[str], data: dict[str, Any]) -> BatchGetResult:
    """Sort one answer into the chunk's order; ids the answer left out fail.

    Every field is checked before it is used: an answer of the wrong shape raises
    :class:`InvalidResponseError`, which fails this chunk's ids and no others.
    """
    raw_customers = data.get("customer_list")
    raw_invalid = data.get("invalid_external_userid")
    try:
        customers = [] if raw_customers is None else structure_customers(raw_customers)
    except Exception as exc:  # whatever the shape, only this chunk pays for it
        raise _bad_shape(f"customer_list ({type(exc).__name__})") from None
    if raw_invalid is None:
        raw_invalid = []
    elif not isinstance(raw_invalid, list) or not all(type(x) is str for x in raw_invalid):
        raise _bad_shape("invalid_external_userid (not a list of strings)")
    by_id = {c.external_userid: c for c in customers}
    invalid = set(raw_invalid)
    found: list[Customer] = []
    not_found: list[str] = []
    missing: list[str] = []
    for external_userid in chunk:
        customer = by_id.get(external_userid)
        if customer is not None:
            found.append(customer)
        elif external_userid in invalid:
            not_found.append(external_userid)
        else:
            missing.append(external_userid)
    failed: dict[str, Exception] = {}
    if missing:
        logger.warning("WeCom's answer left out %d requested id(s)", len(missing))
        for external_userid in missing:
            failed[external_userid] = InvalidResponseError(
                "WeCom's answer mentioned this id neither as a customer nor as invalid",
                path=BATCHGET_PATH,
                reason="id left out",
            )
    return BatchGetResult(customers=found, invalid_external_userids=not_found, failed=failed)


class CustomersAPI(Resource):
    """The ``customer/*`` endpoints (``kf.customers``)."""

    def __init__(self, caller: Caller, *, window: int) -> None:
        super().__init__(caller)
        self._window = window

    async def _fetch_chunk(self, chunk: list[str], context: bool) -> BatchGetResult:
        body = {"external_userid_list": chunk, "need_enter_session_context": int(context)}
        try:
            data = await self._call(BATCHGET, body)
            return _assemble(chunk, data)
        except KfError as exc:
            if is_fatal(exc):
                raise
            logger.warning("a chunk of %d id(s) failed: %s", len(chunk), type(exc).__name__)
            return BatchGetResult(failed=dict.fromkeys(chunk, exc))

    async def _chunk_task(
        self, chunk: list[str], context: bool, abort: asyncio.Future[None]
    ) -> BatchGetResult:
        try:
            return await self._fetch_chunk(chunk, context)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            if not abort.done():
                abort.set_exception(exc)
            raise

    async def _pages(
        self, ids: list[str], context: bool, window: int
    ) -> AsyncIterator[BatchGetResult]:
        """Run chunks concurrently, at most *window* ahead; yield them in input order."""
        loop = asyncio.get_running_loop()
        abort: asyncio.Future[None] = loop.create_future()
        pending: deque[asyncio.Task[BatchGetResult]] = deque()
        starts = iter(range(0, len(ids), BATCHGET_MAX_IDS))
        try:
            while True:
                for start in starts:
                    chunk = ids[start : start + BATCHGET_MAX_IDS]
                    pending.append(loop.create_task(self._chunk_task(chunk, context, abort)))
                    if len(pending) >= window:
                        break
                if not pending:
                    return
                head = pending[0]
                if not head.done():
                    await asyncio.wait((head, abort), return_when=asyncio.FIRST_COMPLETED)
                if abort.done():
                    abort.result()  # raises the error no chunk can escape
                pending.popleft()
                yield head.result()
        finally:
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
            if abort.done():
                abort.exception()  # mark it retrieved
            else:
                abort.cancel()

    async def batch_get(
        self, external_userids: Iterable[str], *, need_enter_session_context: bool = False
    ) -> BatchGetResult:
        """Fetch any number of customers, 100 ids per call, concurrently.

        Duplicates are dropped (the first occurrence wins). The result keeps the
        input order; every distinct id ends up in exactly one of ``customers``,
        ``invalid_external_userids`` or ``failed``. Errors no request can escape
        (wrong secret or corp id, API forbidden, IP not allowed) raise from here.
        """
        ids = normalize_ids(external_userids)
        if not ids:
            return BatchGetResult()
        if len(ids) <= BATCHGET_MAX_IDS:  # one chunk: no tasks to run beside it
            return await self._fetch_chunk(ids, bool(need_enter_session_context))
        pages = [
            page
            async for page in self._pages(ids, bool(need_enter_session_context), window=len(ids))
        ]
        return BatchGetResult.merge(pages)

    async def iter_batch_get(
        self,
        external_userids: Iterable[str],
        *,
        need_enter_session_context: bool = False,
        window: int | None = None,
    ) -> AsyncGenerator[BatchGetResult, None]:
        """Like :meth:`batch_get`, but yield one result per chunk, in input order.

        At most *window* chunks (default: twice ``max_concurrency``) are fetched ahead
        of the consumer, so memory stays bounded whatever the number of ids. Close
        the iterator if you stop early (``contextlib.aclosing``) so chunks still in
        flight are cancelled at once.
        """
        ids = normalize_ids(external_userids)
        if window is None:
            window = self._window
        elif isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise ValueError(f"window must be an int >= 1, got {window!r}")
        async for page in self._pages(ids, bool(need_enter_session_context), window=window):
            yield page

    # -- upgrade service (升级服务) --------------------------------------------------

    async def upgrade_service_config(self) -> UpgradeServiceConfig:
        """Read who the upgrade service may recommend (a GET; retried like a read).

        Returns:
            The :class:`~wecom_kf_async.UpgradeServiceConfig`: ``member_range``
            (``userid_list``, ``department_id_list``) and ``groupchat_range``
            (``chat_id_list``), as configured in the admin console.

        Raises:
            KfError: The call failed (after the retries a read gets).
        """
        return await self._get(GET_UPGRADE_SERVICE_CONFIG, UpgradeServiceConfig)

    async def upgrade_service(
        self,
        open_kfid: str,
        external_userid: str,
        *,
        member: UpgradeMember | None = None,
        groupchat: UpgradeGroupChat | None = None,
    ) -> None:
        """Recommend a member or a group chat to a customer (exactly one of the two).

        Servicers see the recommendation in WeCom. A new one replaces the last, so
        a retry after a lost answer does no harm: the call is retried.

        Args:
            open_kfid: The KF account the customer talks to.
            external_userid: The customer.
            member: The member to recommend (``type`` 1).
            groupchat: The group chat to recommend (``type`` 2).

        Raises:
            TypeError: An argument of the wrong type (nothing is sent).
            ValueError: Neither or both of ``member`` and ``groupchat``, or an id
                that cannot be valid (nothing is sent).
            KfStateError: 95021, a member or group chat outside the configured
                range; 95000/95004, a bad or unknown account.
            InvalidRequestError: 40096, a customer WeCom does not know.
            KfError: Any other failure.
        """
        body = upgrade_service_body(open_kfid, external_userid, member, groupchat)
        await self._call(UPGRADE_SERVICE, body)

    async def cancel_upgrade_service(self, open_kfid: str, external_userid: str) -> None:
        """Withdraw the recommendation made to a customer (retried: a repeat does no harm).

        Args:
            open_kfid: The KF account the customer talks to.
            external_userid: The customer.

        Raises:
            TypeError: An argument of the wrong type (nothing is sent).
            ValueError: An id that cannot be valid (nothing is sent).
            KfError: The call failed.
        """
        body = {
            "open_kfid": _checks.open_kfid(open_kfid),
            "external_userid": _checks.external_userid(external_userid),
        }
        await self._call(CANCEL_UPGRADE_SERVICE, body)
