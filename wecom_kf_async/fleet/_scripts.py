"""``FleetScript``: a Lua script on any fleet client, optionally acknowledged by replicas."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

from redis.asyncio.cluster import RedisCluster

from .._constants import LOGGER_NAME
from ._redis import Redis, ready

__all__ = ["FleetScript"]

logger = logging.getLogger(LOGGER_NAME)


class FleetScript:
    """A Lua script on a fleet client: the cluster initialised first, and optionally
    the write acknowledged by replicas before the answer is taken.

    Every key of one call must hash to one slot (the fleet's keys share a hash tag
    per entity). With ``replicas > 0`` the script and a ``WAIT`` go down one
    connection, so the answer comes once that many replicas have the write, or
    after ``replica_timeout`` seconds; :attr:`unacknowledged` counts the calls
    whose write fewer replicas had.
    """

    def __init__(
        self, client: Redis, source: str, *, replicas: int = 0, replica_timeout: float = 0.1
    ) -> None:
        self._client = client
        self._source = source
        self._script = client.register_script(source)  # type: ignore[misc]
        self.replicas = replicas
        self._wait_ms = max(1, math.ceil(replica_timeout * 1000))
        self.unacknowledged = 0

    async def __call__(self, *, keys: Sequence[str], args: Sequence[Any] = ()) -> Any:
        await ready(self._client)
        if self.replicas <= 0:
            return await self._script(keys=keys, args=args)
        client = self._client
        wait: dict[str, Any] = {}
        if isinstance(client, RedisCluster):
            wait["target_nodes"] = client.get_node_from_key(keys[0])
            pipe: Any = client.pipeline()
        else:
            pipe = client.pipeline(transaction=False)
        pipe.eval(self._source, len(keys), *keys, *args)
        pipe.execute_command("WAIT", self.replicas, self._wait_ms, **wait)
        answer, acked = await pipe.execute()
        if int(acked) < self.replicas:
            self.unacknowledged += 1
            logger.warning(
                "a fleet write reached %s of %s replicas within %d ms: a failover now may lose it",
                acked,
                self.replicas,
                self._wait_ms,
            )
        return answer
