"""The loopback Redis deployments of the fleet tests: find a primary, kill it, bring it back.

``.ci/redis-deployments start`` runs them (a cluster on 7000-7005, a primary, a
replica and three Sentinels on 6480/6481/26480-26482, Valkey on 6490), each node
from a config file of its own, so a node killed with SIGKILL comes back as it was
with ``redis-server <config_file>``: a cluster node as a replica of its successor,
a Sentinel-watched primary as a replica once the Sentinels see it again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from typing import Any

import attrs
import redis
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.sentinel import SentinelConnectionPool

from .conftest import close_redis, connect_redis

#: Seconds a deployment gets to settle (failover, a restarted node rejoining).
SETTLE = 60.0


@attrs.frozen
class Node:
    """One redis-server process, as ``INFO server`` describes it."""

    host: str
    port: int
    pid: int
    executable: str
    config_file: str


def describe(host: str, port: int) -> Node:
    client = redis.Redis(host=host, port=port, socket_timeout=2.0, decode_responses=True)
    try:
        info: dict[str, Any] = client.info("server")
    finally:
        client.close()
    return Node(host, port, int(info["process_id"]), info["executable"], info["config_file"])


async def primary_of(client: Any, key: str) -> tuple[str, int]:
    """The address of the primary that holds *key* now."""
    if isinstance(client, RedisCluster):
        await client.initialize()
        node = client.get_node_from_key(key)
        return node.host, int(node.port)
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool), "a single server has no failover"
    host, port = await pool.sentinel_manager.discover_master(pool.service_name)
    return str(host), int(port)


def kill(node: Node) -> None:
    """SIGKILL: no shutdown, no last save, no goodbye to the replicas."""
    os.kill(node.pid, signal.SIGKILL)


def restart(node: Node) -> None:
    """Start *node* again from its config file (which daemonizes it)."""
    subprocess.run(  # noqa: S603 - the server binary and config file it reported itself
        [node.executable, node.config_file], check=True, timeout=30
    )


async def _answers(host: str, port: int) -> bool:
    client = aioredis.Redis(host=host, port=port, socket_connect_timeout=0.5, socket_timeout=1.0)
    try:
        return bool(await client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        await client.aclose()


async def _info(host: str, port: int, section: str) -> dict[str, Any]:
    client = aioredis.Redis(
        host=host, port=port, socket_connect_timeout=0.5, socket_timeout=1.0, decode_responses=True
    )
    try:
        return dict(await client.info(section))
    finally:
        await client.aclose()


async def _cluster_ports(start: int) -> list[int]:
    """Every node's port, as the node on *start* (or, if it is down, none) knows them."""
    client = aioredis.Redis(port=start, socket_timeout=1.0, decode_responses=True)
    try:
        nodes = await client.execute_command("CLUSTER", "NODES")
    except (redis.RedisError, OSError):
        return []
    finally:
        await client.aclose()
    return sorted(
        int(line.split()[1].split("@")[0].rsplit(":", 1)[1]) for line in nodes.splitlines()
    )


async def _cluster_healthy(ports: list[int]) -> bool:
    if not ports:
        return False
    primaries = 0
    for port in ports:
        if not await _answers("127.0.0.1", port):
            return False
        client = aioredis.Redis(port=port, socket_timeout=1.0, decode_responses=True)
        try:
            state = await client.execute_command("CLUSTER", "INFO")
            nodes = await client.execute_command("CLUSTER", "NODES")
        finally:
            await client.aclose()
        text = state if isinstance(state, str) else str(state)
        if "cluster_state:ok" not in text:
            return False
        lines = nodes.splitlines() if isinstance(nodes, str) else [str(n) for n in nodes]
        if any("fail" in line.split()[2] for line in lines if len(line.split()) > 2):
            return False
        primaries = max(primaries, sum(1 for line in lines if "master" in line.split()[2]))
        replication = await _info("127.0.0.1", port, "replication")
        if replication["role"] == "slave" and replication.get("master_link_status") != "up":
            return False
    return primaries == len(ports) // 2


async def _sentinel_healthy(client: Any) -> bool:
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool)
    try:
        host, port = await pool.sentinel_manager.discover_master(pool.service_name)
        replication = await _info(host, port, "replication")
    except (redis.RedisError, OSError):
        return False
    if replication.get("role") != "master" or int(replication.get("connected_slaves", 0)) < 1:
        return False
    replica = replication["slave0"]
    replica_info = await _info(str(replica["ip"]), int(replica["port"]), "replication")
    return bool(replica_info.get("master_link_status") == "up")


async def until_healthy(kind: str, url: str) -> None:
    """Wait (bounded) until every node answers and each primary has its replica again."""
    client = connect_redis(url)
    try:
        async with asyncio.timeout(SETTLE):
            while True:
                if kind == "cluster":
                    assert isinstance(client, RedisCluster)
                    starts = client.nodes_manager.startup_nodes.values()
                    for start in starts:
                        ports = await _cluster_ports(int(start.port))
                        if ports:
                            break
                    if await _cluster_healthy(ports):
                        return
                elif kind == "sentinel":
                    if await _sentinel_healthy(client):
                        return
                else:
                    return
                await asyncio.sleep(0.2)
    finally:
        await close_redis(client)
