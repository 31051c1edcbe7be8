"""The arq example end to end: two real worker processes, a real Redis, the simulator on a port."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from arq.connections import RedisSettings, create_pool

from examples import arq_worker
from wecom_kf_async.testing import SIM_CORP_ID, SIM_SECRET, WeComSimulator, serve_in_subprocess

ROOT = Path(__file__).resolve().parents[1]
#: Seconds any one wait may take before the test gives up (never slept through).
PATIENCE = 30.0


class WorkerProcess:
    """``python -m arq examples.arq_worker.WorkerSettings`` in a child process.

    A thread collects its output (stderr merged into stdout) so the pipe never
    fills up and the lines are there to read and to show when an assertion fails.
    """

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "arq", "examples.arq_worker.WorkerSettings"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
        )
        #: What arq's job results name this worker by.
        self.worker_id = f"{socket.gethostname()}:{self.process.pid}"
        self.lines: list[str] = []
        self._ready_line = f"worker {self.worker_id} ready"
        self._settled = threading.Event()  # ready, or the output ended
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        for line in stdout:
            self.lines.append(line)
            if self._ready_line in line:
                self._settled.set()
        self._settled.set()

    @property
    def output(self) -> str:
        """Everything the worker printed so far."""
        return "".join(self.lines)

    def wait_ready(self) -> None:
        """Return once startup() finished; fail if the worker died or took too long."""
        if not self._settled.wait(PATIENCE):
            pytest.fail(f"worker not ready within {PATIENCE} s:\n{self.output}")
        if not any(self._ready_line in line for line in self.lines):
            pytest.fail(f"worker exited before it was ready:\n{self.output}")

    def stop(self) -> int:
        """SIGTERM (arq then runs on_shutdown), SIGKILL if that takes too long."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(PATIENCE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reader.join(PATIENCE)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode


@pytest.fixture
def sim_url() -> Iterator[str]:
    """The simulator in a child process, on a free loopback port."""
    with serve_in_subprocess() as url:
        yield url


@pytest.fixture
def worker_env(redis_url: str, sim_url: str) -> dict[str, str]:
    """The environment of the example's processes: the test's Redis, the simulator."""
    env = dict(os.environ)
    env.pop(arq_worker.ENV_RATE_LIMIT, None)
    env.update(
        {
            arq_worker.ENV_REDIS_URL: redis_url,
            arq_worker.ENV_CORP_ID: SIM_CORP_ID,
            arq_worker.ENV_SECRET: SIM_SECRET,
            arq_worker.ENV_BASE_URL: sim_url,
            arq_worker.ENV_QUEUE_NAME: f"test-arq-example:{uuid.uuid4().hex}",
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p),
        }
    )
    return env


@pytest.fixture
def workers(worker_env: dict[str, str]) -> Iterator[list[WorkerProcess]]:
    """Two worker processes, both ready; stopped (killed if need be) at the end."""
    started: list[WorkerProcess] = []
    try:
        started.extend(WorkerProcess(worker_env) for _ in range(2))
        for worker in started:
            worker.wait_ready()
        yield started
    finally:
        for worker in started:
            worker.stop()


def expected_summary(ids: list[str]) -> dict[str, object]:
    """What lookup_customers returns for *ids* from a default simulator (minus ``worker``)."""
    sim = WeComSimulator()  # profiles derive from the id alone: same nicknames as the served one
    distinct = list(dict.fromkeys(ids))
    return {
        "customers": {
            uid: {"nickname": sim.profile(uid)["nickname"]} for uid in distinct if sim.is_known(uid)
        },
        "invalid": [uid for uid in distinct if not sim.is_known(uid)],
        "failed": {},
    }


async def test_two_workers_share_one_token_and_account_for_every_id(
    workers: list[WorkerProcess], worker_env: dict[str, str], sim_url: str
) -> None:
    """20 jobs over 2 workers: every id sorted right, 1 gettoken for the whole fleet."""
    jobs_ids = [
        [f"wmUser{i}", f"stranger{i}", "wmShared", f"wmUser{i + 1}", f"wmUser{i}", "nobody"]
        for i in range(20)
    ]
    queue = worker_env[arq_worker.ENV_QUEUE_NAME]
    settings = RedisSettings.from_dsn(worker_env[arq_worker.ENV_REDIS_URL])
    pool = await create_pool(settings, default_queue_name=queue)
    try:
        jobs = [await pool.enqueue_job("lookup_customers", ids) for ids in jobs_ids]
        assert all(job is not None for job in jobs)
        results = await asyncio.gather(
            *(job.result(timeout=PATIENCE, poll_delay=0.05) for job in jobs if job is not None)
        )
    finally:
        await pool.aclose()

    # The command line of the guide, against the same workers.
    cli = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "examples.arq_worker",
        "enqueue",
        "wmAlice",
        "wmBob",
        "stranger",
        cwd=ROOT,
        env=worker_env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(cli.communicate(), PATIENCE)
    finally:
        if cli.returncode is None:
            cli.kill()
            await cli.wait()

    async with httpx.AsyncClient() as http:
        stats = (await http.get(f"{sim_url}/__sim__/stats")).json()
    codes = [worker.stop() for worker in workers]
    logs = "\n".join(worker.output for worker in workers)

    handled_by = [result.pop("worker") for result in results]
    for ids, result in zip(jobs_ids, results, strict=True):
        assert result == expected_summary(ids), logs
    # Both workers took jobs: each polls the queue every 0.5 s and takes at most 10
    # jobs per poll, so neither can take all 20 before the other polls once.
    assert set(handled_by) == {w.worker_id for w in workers}, handled_by
    assert cli.returncode == 0, err.decode()
    printed = json.loads(out)
    assert printed.pop("worker") in {w.worker_id for w in workers}
    assert printed == expected_summary(["wmAlice", "wmBob", "stranger"])

    assert stats["calls"] == {"gettoken": 1, "kf/customer/batchget": len(jobs_ids) + 1}, (
        f"{stats}\n{logs}"
    )
    assert stats["errors"] == {}
    assert codes == [0, 0], logs
    for worker in workers:
        assert f"worker {worker.worker_id} closed its WeCom client" in worker.output


def test_worker_settings_errors_name_the_variable() -> None:
    """Missing or malformed settings fail with a message that says which and what to set."""
    with pytest.raises(arq_worker.SettingsError, match="WECOM_CORP_ID and WECOM_KF_SECRET not set"):
        arq_worker.WeComSettings.from_env({})
    with pytest.raises(arq_worker.SettingsError, match=r"^WECOM_KF_SECRET not set"):
        arq_worker.WeComSettings.from_env({"WECOM_CORP_ID": "ww1"})
    with pytest.raises(arq_worker.SettingsError, match="WECOM_RATE_LIMIT must be a positive"):
        arq_worker.WeComSettings.from_env(
            {"WECOM_CORP_ID": "ww1", "WECOM_KF_SECRET": "s", "WECOM_RATE_LIMIT": "0"}
        )
    with pytest.raises(arq_worker.SettingsError, match="REDIS_URL must start with"):
        arq_worker.redis_url_from_env({"REDIS_URL": "http://user:pw@host"})
    settings = arq_worker.WeComSettings.from_env(
        {"WECOM_CORP_ID": "ww1", "WECOM_KF_SECRET": "topsecret", "WECOM_RATE_LIMIT": "20"}
    )
    assert (settings.rate_limit, settings.base_url) == (20.0, None)
    assert "topsecret" not in repr(settings)
    assert arq_worker.redis_url_from_env({}) == arq_worker.DEFAULT_REDIS_URL
