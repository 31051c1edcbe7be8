"""The pytest plugin's fixtures, used the way a user's test suite would."""

from __future__ import annotations

import pytest

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


def test_plugin_in_a_fresh_user_suite(pytester: pytest.Pytester) -> None:
    """In a user's suite (plugin loaded by its entry point), the fixtures work and
    wecom_testing switches test mode on for its test only."""
    pytester.makeini("[pytest]\nasyncio_mode = auto\n")
    pytester.makepyfile(
        """
        from wecom_kf_async import is_testing

        def test_off_before():
            assert not is_testing()

        def test_on_inside(wecom_testing):
            assert is_testing()

        def test_off_again():
            assert not is_testing()

        async def test_client(wecom_kf, wecom_simulator):
            result = await wecom_kf.customers.batch_get(["wmA", "nobody"])
            assert [c.external_userid for c in result.customers] == ["wmA"]
            assert wecom_simulator.stats.calls["gettoken"] == 1
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
