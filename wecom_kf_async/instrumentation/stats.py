"""``StatsInstrumentation``: counts for a short summary (what ``wecom-kf --stats`` prints)."""

from __future__ import annotations

from collections import Counter

from .events import InstrumentationEvent, RateLimitWaited, RequestFinished, RetryScheduled

__all__ = ["StatsInstrumentation"]


class StatsInstrumentation:
    """Counts attempts per path and outcome, retries by cause, and time waited per budget."""

    #: The event kinds this hook takes.
    event_types = (RequestFinished, RetryScheduled, RateLimitWaited)

    def __init__(self) -> None:
        #: Attempts, by (path, outcome).
        self.requests: Counter[tuple[str, str]] = Counter()
        #: Retries, by (path, cause).
        self.retries: Counter[tuple[str, str]] = Counter()
        #: Seconds waited for a turn, by budget.
        self.waited: dict[str, float] = {}

    def __call__(self, event: InstrumentationEvent) -> None:
        """Count *event*."""
        if isinstance(event, RequestFinished):
            self.requests[(event.path, event.outcome)] += 1
        elif isinstance(event, RetryScheduled):
            self.retries[(event.path, event.cause)] += 1
        elif isinstance(event, RateLimitWaited):
            self.waited[event.path] = self.waited.get(event.path, 0.0) + event.seconds

    def summary(self) -> str:
        """A few lines: calls per path (by outcome), retries by cause, time on the limiter."""
        lines: list[str] = []
        paths = sorted({path for path, _ in self.requests})
        for path in paths:
            outcomes = ", ".join(
                f"{outcome} {count}"
                for (p, outcome), count in sorted(self.requests.items())
                if p == path
            )
            lines.append(
                f"{path}: {sum(c for (p, _), c in self.requests.items() if p == path)} "
                f"call(s) ({outcomes})"
            )
        if self.retries:
            causes = ", ".join(
                f"{path} {cause} {n}" for (path, cause), n in sorted(self.retries.items())
            )
            lines.append(f"retries: {causes}")
        else:
            lines.append("retries: none")
        waited = sum(self.waited.values())
        lines.append(f"waited on the rate limiter: {waited:.3f}s")
        return "\n".join(lines)
