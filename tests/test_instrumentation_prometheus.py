"""PrometheusInstrumentation against a real CollectorRegistry: the counters match the simulator."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from wecom_kf_async.instrumentation import PrometheusInstrumentation
from wecom_kf_async.testing import WeComSimulator

from .conftest import client_for

BATCHGET = "kf/customer/batchget"


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    found = registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


async def test_counters_equal_the_calls_the_simulator_saw(sim: WeComSimulator) -> None:
    registry = CollectorRegistry()
    sim.script(BATCHGET, [45009, -1, 45009, -1, -1])
    ids = [f"wm{index:06d}" for index in range(1000)]
    async with client_for(sim, instrumentation=[PrometheusInstrumentation(registry)]) as kf:
        result = await kf.customers.batch_get(ids)
    assert result.ok
    assert len(result.customers) == 1000

    calls, errors = sim.stats.calls, sim.stats.errors
    assert calls[BATCHGET] == 15
    assert errors == {45009: 2, -1: 3}
    refused = errors[45009] + errors[-1]
    assert value(registry, "wecom_kf_requests_total", path=BATCHGET, outcome="errcode") == refused
    assert value(registry, "wecom_kf_requests_total", path=BATCHGET, outcome="ok") == (
        calls[BATCHGET] - refused
    )
    assert (
        value(registry, "wecom_kf_requests_total", path="gettoken", outcome="ok")
        == (calls["gettoken"])
    )
    for path in (BATCHGET, "gettoken"):
        assert value(registry, "wecom_kf_request_duration_seconds_count", path=path) == calls[path]
    assert (
        value(registry, "wecom_kf_retries_total", path=BATCHGET, cause="RateLimitedError")
        == errors[45009]
    )
    assert (
        value(registry, "wecom_kf_retries_total", path=BATCHGET, cause="ServerBusyError")
        == errors[-1]
    )
    assert value(registry, "wecom_kf_token_refreshes_total", source="gettoken") == 1
    # 45009 engaged the slow-down: the gauge was set (0 once lifted).
    assert registry.get_sample_value("wecom_kf_throttle_rate", {"path": BATCHGET}) is not None


async def test_rate_limit_waits_are_observed_per_budget(sim: WeComSimulator) -> None:
    registry = CollectorRegistry()
    hook = PrometheusInstrumentation(registry)
    async with client_for(sim, instrumentation=[hook], rate_limits={BATCHGET: 50.0}) as kf:
        await kf.customers.batch_get([f"wm{index:06d}" for index in range(500)])
    count = value(registry, "wecom_kf_rate_limit_wait_seconds_count", path=BATCHGET)
    total = value(registry, "wecom_kf_rate_limit_wait_seconds_sum", path=BATCHGET)
    assert count == sim.stats.calls[BATCHGET]
    assert total > 0


def test_hooks_on_one_registry_share_its_metrics() -> None:
    registry = CollectorRegistry()
    first, second = PrometheusInstrumentation(registry), PrometheusInstrumentation(registry)
    assert first._metrics is second._metrics
    assert "registry at" in repr(first)


def test_the_default_registry_is_prometheus_clients_global_one() -> None:
    from prometheus_client import REGISTRY

    hook = PrometheusInstrumentation()
    assert hook.registry is REGISTRY
    assert repr(hook) == "PrometheusInstrumentation(registry=REGISTRY)"
    assert PrometheusInstrumentation()._metrics is hook._metrics


@pytest.mark.parametrize("name", ["wecom_kf_requests", "wecom_kf_retries"])
def test_metric_families_carry_help_text(name: str) -> None:
    registry = CollectorRegistry()
    PrometheusInstrumentation(registry)
    families = {family.name: family for family in registry.collect()}
    assert families[name].documentation
