"""Retry safety: what a failed attempt means for a call, given its endpoint's row.

A failure that certainly did not reach WeCom is retried like any other; one that
may have reached it is retried only when the endpoint's row says a retry cannot do
the change twice, and otherwise ends the call with ``OutcomeUnknownError``.
"""

from __future__ import annotations

import attrs

from ._endpoints import Endpoint, Safety
from ._errors import KfError, OutcomeUnknownError, RequestTimeoutError, TransportError
from .instrumentation._probe import CallProbe

__all__ = ["CallState", "after_failure", "closed_under", "outcome_unknown"]


@attrs.define
class CallState:
    """What one call has been through, across its attempts."""

    #: Its events, for the hooks.
    probe: CallProbe
    #: An attempt failed in a way that may have reached WeCom.
    ambiguous: bool = False
    #: An attempt is between being sent and being answered.
    in_flight: bool = False


def after_failure(
    endpoint: Endpoint, failure: TransportError | None, state: CallState
) -> Exception:
    """What to raise for a failed attempt, given the endpoint's safety.

    ``failure`` is ``None`` when the client closed under the attempt.
    """
    if failure is None:
        return closed_under(endpoint, state)
    state.in_flight = False
    if not failure.sent:
        return failure
    if endpoint.safety is Safety.UNSAFE:
        error = OutcomeUnknownError(endpoint.path, endpoint.check, reason=failure.reason)
        error.__cause__ = failure
        return error
    state.ambiguous = True
    return failure


def closed_under(endpoint: Endpoint, state: CallState) -> Exception:
    """What a call raises when the client closed under it (``aclose()`` mid-call).

    A state-changing call that was on the wire, or whose earlier try may have
    reached WeCom, may have done its work: its outcome is unknown. Anything else
    simply met a closed client.
    """
    on_the_wire, state.in_flight = state.in_flight, False
    if endpoint.safety in (Safety.UNSAFE, Safety.KEYED) and (on_the_wire or state.ambiguous):
        return OutcomeUnknownError(endpoint.path, endpoint.check, reason="client closed")
    return RuntimeError("KfClient is closed")


def outcome_unknown(
    endpoint: Endpoint, exc: KfError, state: CallState
) -> OutcomeUnknownError | None:
    """What a call that failed for good raises when its outcome is unknown (else ``None``).

    An UNSAFE call cut off in flight by the deadline, and a KEYED call any of whose
    tries may have reached WeCom (whatever its last try met: a state-dependent
    refusal such as 95001 may be the first try's own doing).
    """
    if isinstance(exc, OutcomeUnknownError) or endpoint.safety not in (Safety.UNSAFE, Safety.KEYED):
        return None
    cut_off = isinstance(exc, RequestTimeoutError) and exc.reason == "deadline" and state.in_flight
    if cut_off or (endpoint.safety is Safety.KEYED and state.ambiguous):
        reason = "deadline" if cut_off else getattr(exc, "reason", "") or type(exc).__name__
        return OutcomeUnknownError(endpoint.path, endpoint.check, reason=reason)
    return None
