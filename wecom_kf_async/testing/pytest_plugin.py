"""pytest plugin (registered automatically when wecom_kf_async is installed).

Fixtures:

* ``wecom_simulator``: a fresh :class:`WeComSimulator` per test.
* ``provider_sim``: a fresh :class:`~wecom_kf_async.testing.ProviderSimulator` per test.
* ``wecom_testing``: test mode on for the test (no backoff waits), off afterwards.
* ``wecom_kf``: an open :class:`~wecom_kf_async.KfClient` talking to
  ``wecom_simulator`` in process, with test mode on (needs pytest-asyncio).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from .._client import KfClient
from .._retry import is_testing, set_testing
from ._client import simulated_client
from .provider import ProviderSimulator
from .simulator import WeComSimulator

__all__ = ["provider_sim", "wecom_simulator", "wecom_testing"]


@pytest.fixture
def wecom_simulator() -> WeComSimulator:
    """A fresh WeCom simulator for one test."""
    return WeComSimulator()


@pytest.fixture
def provider_sim() -> ProviderSimulator:
    """A fresh service-provider simulator (a suite, no corp installed yet) for one test."""
    return ProviderSimulator()


@pytest.fixture
def wecom_testing() -> Iterator[None]:
    """Switch test mode on for one test: retries happen, backoff waits don't."""
    before = is_testing()
    set_testing(True)
    try:
        yield
    finally:
        set_testing(before)


try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - the async fixture needs pytest-asyncio
    pass
else:

    @pytest_asyncio.fixture
    async def wecom_kf(
        wecom_simulator: WeComSimulator, wecom_testing: None
    ) -> AsyncIterator[KfClient]:
        """An open KfClient talking to ``wecom_simulator`` in process."""
        async with simulated_client(wecom_simulator) as client:
            yield client

    __all__ += ["wecom_kf"]
