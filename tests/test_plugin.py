"""The pytest plugin's fixtures, used the way a user's test suite would."""

from __future__ import annotations

from wecom_kf_async import KfClient, is_testing
from wecom_kf_async.testing import CUSTOMER_BATCHGET, GETTOKEN, WeComSimulator


async def test_wecom_kf_fixture_talks_to_wecom_simulator(
    wecom_kf: KfClient, wecom_simulator: WeComSimulator
) -> None:
    """wecom_kf is an open client wired to the wecom_simulator of the same test."""
    wecom_simulator.script(CUSTOMER_BATCHGET, [-1])
    result = await wecom_kf.customers.batch_get(["wmA", "stranger"])
    assert [c.external_userid for c in result.customers] == ["wmA"]
    assert result.invalid_external_userids == ["stranger"]
    assert wecom_simulator.stats.calls[CUSTOMER_BATCHGET] == 2  # the -1 was retried
    assert wecom_simulator.stats.calls[GETTOKEN] == 1
    assert is_testing()


def test_wecom_testing_fixture_switches_test_mode(wecom_testing: None) -> None:
    """wecom_testing turns test mode on for the test."""
    assert is_testing()
