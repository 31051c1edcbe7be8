"""The corp's message log behind ``sync_msg``: explicit items and lazily generated blocks.

One log holds every account's messages in one order (a global sequence number,
``seq``), so ``sync_msg`` without ``open_kfid`` and with it read the same positions.
A message logged one at a time (``customer_says``, ``add_event``, ...) is kept as
its ``msg_list`` item. A block from :meth:`MessageLog.fill` keeps only its recipe
(count, kinds, customers, times) and makes each item on demand from its ``seq``,
so a million messages cost a few hundred bytes, and reading them is deterministic.
"""

from __future__ import annotations

import copy
import hashlib
import math
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from ..samples import EVENT_SAMPLES, MESSAGE_SAMPLES

__all__ = ["CUSTOMER", "SERVICER", "SYSTEM", "FillSpec", "MessageLog", "Segment"]

#: ``origin`` of a customer's message.
CUSTOMER: Final = 3
#: ``origin`` of an event.
SYSTEM: Final = 4
#: ``origin`` of a message a servicer sent from the WeCom app.
SERVICER: Final = 5


@dataclass(frozen=True, slots=True)
class FillSpec:
    """The recipe of a generated block (see :meth:`MessageLog.fill`)."""

    #: msgtypes (keys of ``MESSAGE_SAMPLES``) and event types (of ``EVENT_SAMPLES``),
    #: used in turn.
    kinds: tuple[str, ...]
    #: The customers, used in turn.
    customers: tuple[str, ...]
    #: ``send_time`` of the first message, in epoch seconds.
    send_time: float
    #: Seconds between two messages of the block.
    spacing: float

    def time_of(self, index: int) -> int:
        """``send_time`` of the block's message number *index*."""
        return int(self.send_time + index * self.spacing)

    def first_at_or_after(self, cutoff: float, count: int) -> int:
        """Index of the block's first message sent at or after *cutoff* (``count`` if none)."""
        if self.time_of(0) >= cutoff:
            return 0
        if self.spacing <= 0:
            return count
        guess = max(0, math.floor((cutoff - self.send_time) / self.spacing))
        while guess < count and self.time_of(guess) < cutoff:
            guess += 1
        while guess > 0 and self.time_of(guess - 1) >= cutoff:
            guess -= 1
        return min(guess, count)


@dataclass(slots=True)
class Segment:
    """A run of consecutive ``seq`` numbers of one account: one item or a generated block."""

    start: int
    count: int
    open_kfid: str
    #: The ``msg_list`` item of a single logged message.
    item: dict[str, Any] | None = None
    #: The recipe of a generated block.
    fill: FillSpec | None = None

    @property
    def end(self) -> int:
        """The ``seq`` after the segment's last message."""
        return self.start + self.count


@dataclass(slots=True)
class _Index:
    starts: list[int] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)

    def add(self, segment: Segment) -> None:
        self.starts.append(segment.start)
        self.segments.append(segment)

    @property
    def end(self) -> int:
        return self.segments[-1].end if self.segments else 0


class MessageLog:
    """Every message and event ``sync_msg`` can serve, in order, across accounts.

    Args:
        salt: Makes the msgids of this log differ from another simulator's (taken
            from the simulator's seed, so the same seed gives the same msgids).
    """

    def __init__(self, salt: bytes = b"") -> None:
        self._key = hashlib.blake2b(b"msgids:" + salt, digest_size=16).digest()
        self._all = _Index()
        self._by_account: dict[str, _Index] = {}
        self.next_seq = 0
        """The ``seq`` the next logged message gets."""

    def msgid(self, seq: int) -> str:
        """The msgid of the message at *seq* (random-looking, stable, 27 characters)."""
        digest = hashlib.blake2b(seq.to_bytes(8, "big"), key=self._key, digest_size=12)
        return f"msg{digest.hexdigest()}"

    # ------------------------------------------------------------------- writing

    def append(self, open_kfid: str, item: dict[str, Any]) -> int:
        """Log one ``msg_list`` item of *open_kfid* (its msgid already set); return its seq."""
        segment = Segment(self.next_seq, 1, open_kfid, item=item)
        self._add(segment)
        return segment.start

    def fill(self, open_kfid: str, count: int, spec: FillSpec) -> int:
        """Log a block of *count* generated messages; return the seq of the first."""
        segment = Segment(self.next_seq, count, open_kfid, fill=spec)
        self._add(segment)
        return segment.start

    def _add(self, segment: Segment) -> None:
        self._all.add(segment)
        self._by_account.setdefault(segment.open_kfid, _Index()).add(segment)
        self.next_seq = segment.end

    # ------------------------------------------------------------------- reading

    def count(self, open_kfid: str | None = None) -> int:
        """How many messages the log holds (of one account, or of all)."""
        index = self._index(open_kfid)
        return sum(segment.count for segment in index.segments)

    def end(self, open_kfid: str | None = None) -> int:
        """The seq after the last message of the scope (0 if it has none)."""
        return self._index(open_kfid).end

    def items(self, open_kfid: str | None = None) -> Iterator[dict[str, Any]]:
        """Every item of the scope, oldest first, as deep copies (generated on the way)."""
        for segment in self._index(open_kfid).segments:
            for local in range(segment.count):
                yield copy.deepcopy(self._item(segment, local))

    def page(
        self, open_kfid: str | None, position: int, limit: int, cutoff: float
    ) -> tuple[list[dict[str, Any]], int]:
        """Read up to *limit* items of the scope from *position* on.

        Items sent before *cutoff* are skipped (they are gone). Returns the items
        and the position after the last message examined. The items may share
        nested objects with the log: serialise them, do not change them.
        """
        index = self._index(open_kfid)
        segments = index.segments
        i = max(0, bisect_right(index.starts, position) - 1)
        out: list[dict[str, Any]] = []
        after = position
        while i < len(segments) and len(out) < limit:
            segment = segments[i]
            i += 1
            low = max(position, segment.start) - segment.start
            if low >= segment.count:
                continue
            fill = segment.fill
            if fill is None:
                item = segment.item
                assert item is not None  # noqa: S101 - a segment is one or the other
                if item.get("send_time", 0) >= cutoff:
                    out.append(item)
                after = segment.end
                continue
            low = max(low, fill.first_at_or_after(cutoff, segment.count))
            high = min(segment.count, low + limit - len(out))
            out.extend(self._generate(segment, fill, local) for local in range(low, high))
            after = segment.start + max(low, high)
        return out, max(after, position)

    def _index(self, open_kfid: str | None) -> _Index:
        if open_kfid is None:
            return self._all
        return self._by_account.get(open_kfid) or _Index()

    def _item(self, segment: Segment, local: int) -> dict[str, Any]:
        if segment.fill is None:
            assert segment.item is not None  # noqa: S101 - a segment is one or the other
            return segment.item
        return self._generate(segment, segment.fill, local)

    def _generate(self, segment: Segment, spec: FillSpec, local: int) -> dict[str, Any]:
        seq = segment.start + local
        kind = spec.kinds[local % len(spec.kinds)]
        customer = spec.customers[local % len(spec.customers)]
        msgid = self.msgid(seq)
        send_time = spec.time_of(local)
        event = EVENT_SAMPLES.get(kind)
        if event is not None:
            fields = {**event["event"], "open_kfid": segment.open_kfid}
            if "external_userid" in fields:
                fields["external_userid"] = customer
            return {
                "msgid": msgid,
                "send_time": send_time,
                "origin": SYSTEM,
                "msgtype": "event",
                "event": fields,
            }
        sample = MESSAGE_SAMPLES[kind]
        origin = sample["origin"]
        body = {"content": f"message {seq}"} if kind == "text" else sample[kind]
        item: dict[str, Any] = {
            "msgid": msgid,
            "open_kfid": segment.open_kfid,
            "external_userid": customer,
            "send_time": send_time,
            "origin": origin,
            "msgtype": kind,
            kind: body,
        }
        if origin == SERVICER:
            item["servicer_userid"] = sample.get("servicer_userid", "zhangsan")
        return item


def check_kinds(kinds: Sequence[str]) -> tuple[str, ...]:
    """*kinds* as a tuple, each a sample's msgtype or event type, or ``ValueError``."""
    checked = tuple(kinds)
    if not checked:
        raise ValueError("kinds must not be empty")
    unknown = [k for k in checked if k not in MESSAGE_SAMPLES and k not in EVENT_SAMPLES]
    if unknown:
        known = sorted({*MESSAGE_SAMPLES, *EVENT_SAMPLES})
        raise ValueError(f"unknown kinds {unknown}; known: {', '.join(known)}")
    return checked
