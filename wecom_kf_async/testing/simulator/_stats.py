"""Counters the simulator keeps about the calls it received."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SimulatorStats"]


@dataclass(eq=False)
class SimulatorStats:
    """Counters the simulator keeps about the calls it received.

    Only calls to API endpoints under ``/cgi-bin/`` are counted; control endpoints
    (``/__sim__/...``) and unknown paths are not.
    """

    calls: Counter[str] = field(default_factory=Counter)
    """Calls per endpoint name, including failed, faulted and throttled ones."""
    in_flight: int = 0
    """Calls currently being answered (all endpoints)."""
    max_in_flight: int = 0
    """Highest ``in_flight`` seen since the last reset."""
    in_flight_by_endpoint: Counter[str] = field(default_factory=Counter)
    """Calls currently being answered, per endpoint."""
    max_in_flight_by_endpoint: dict[str, int] = field(default_factory=dict)
    """Highest in-flight count per endpoint since the last reset."""
    call_times: dict[str, list[float]] = field(default_factory=dict, repr=False)
    """Arrival timestamps (per the simulator's clock) per endpoint."""
    ids_requested: int = 0
    """Ids carried by ``customer/batchget`` calls that were answered with errcode 0
    (duplicates within a call included)."""
    errors: Counter[int] = field(default_factory=Counter)
    """Non-zero errcodes answered, by errcode."""
    faults: Counter[str] = field(default_factory=Counter)
    """Faults served: transport-level ones (``"http502"``, ``"truncated"``, ``"timeout"``,
    ``"drip"``) by name, field-replacing ones as ``"fields"``."""

    def _arrive(self, endpoint: str, now: float) -> None:
        self.calls[endpoint] += 1
        times = self.call_times.get(endpoint)
        if times is None:
            times = self.call_times[endpoint] = []
        times.append(now)
        self.in_flight += 1
        if self.in_flight > self.max_in_flight:
            self.max_in_flight = self.in_flight
        by_endpoint = self.in_flight_by_endpoint
        by_endpoint[endpoint] += 1
        if by_endpoint[endpoint] > self.max_in_flight_by_endpoint.get(endpoint, 0):
            self.max_in_flight_by_endpoint[endpoint] = by_endpoint[endpoint]

    def _depart(self, endpoint: str) -> None:
        self.in_flight -= 1
        self.in_flight_by_endpoint[endpoint] -= 1

    def busiest_window(self, endpoint: str | None = None, seconds: float = 1.0) -> int:
        """Return the most calls that arrived within any half-open window of ``seconds``.

        ``endpoint=None`` looks at the arrivals of all endpoints together.
        """
        if seconds <= 0:
            raise ValueError("seconds must be positive")
        if endpoint is None:
            times = sorted(t for per_endpoint in self.call_times.values() for t in per_endpoint)
        else:
            times = sorted(self.call_times.get(endpoint, ()))
        best = 0
        start = 0
        for end, arrival in enumerate(times):
            while arrival - times[start] >= seconds:
                start += 1
            best = max(best, end - start + 1)
        return best

    def reset(self) -> None:
        """Forget every counter; calls still in flight stay counted in ``in_flight``."""
        self.calls.clear()
        self.call_times.clear()
        self.ids_requested = 0
        self.errors.clear()
        self.faults.clear()
        self.max_in_flight = self.in_flight
        self.in_flight_by_endpoint = +self.in_flight_by_endpoint
        self.max_in_flight_by_endpoint = dict(self.in_flight_by_endpoint)

    def to_dict(self, *, include_times: bool = False) -> dict[str, Any]:
        """Return a JSON-able snapshot, with the busiest 1-second window per endpoint.

        Arrival timestamps are left out unless ``include_times`` is true.
        """
        snapshot: dict[str, Any] = {
            "calls": dict(self.calls),
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "max_in_flight_by_endpoint": dict(self.max_in_flight_by_endpoint),
            "ids_requested": self.ids_requested,
            "errors": {str(code): count for code, count in self.errors.items()},
            "faults": dict(self.faults),
            "busiest_window_1s": {
                endpoint: self.busiest_window(endpoint, 1.0) for endpoint in self.call_times
            },
        }
        if include_times:
            snapshot["call_times"] = {ep: list(ts) for ep, ts in self.call_times.items()}
        return snapshot
