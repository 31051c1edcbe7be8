"""Memory per idle corp: a ``KfProvider`` serving 300 corps, against 300 separate clients.

The provider simulator runs in another process with 300 installed corps, over
loopback HTTP, so every client has a real connection pool. A fresh child process
per round (``python -m benchmarks.providers --child SUBJECT URL``) takes its peak
RSS and ``tracemalloc``'s current size as the baseline once one corp is served
(warm), then serves every other corp once (a one-id ``batch_get``) and leaves the
clients open and idle. Reported per idle corp: the growth of
``tracemalloc``'s current size (Python objects the clients keep) and of the peak
RSS; and the round's wall and CPU time. Subjects:

- ``KfProvider``: a client per corp on one shared HTTP pool (the library's way);
- ``separate clients`` (the baseline): a ``KfClient`` per corp with
  ``token_source=ThirdPartyCorp(...)``, each with a pool of its own.

Rounds interleave the subjects; medians. Target: at most 200 KB per idle corp.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import httpx

from wecom_kf_async import KfClient, set_testing
from wecom_kf_async.providers import InMemoryCorpCredentials, KfProvider, Suite, ThirdPartyCorp
from wecom_kf_async.providers.suite import SuiteClient
from wecom_kf_async.testing import serve_provider_in_subprocess
from wecom_kf_async.testing.provider import SIM_SUITE_ID, SIM_SUITE_SECRET

from ._common import (
    Settings,
    interleaved,
    max_rss_bytes,
    median,
    print_header,
    print_table,
    ratio,
    verdict,
)

CORPS = 300
TARGET_KB = 200.0
SUBJECTS = ("KfProvider", "separate clients")
_RESULT = "RESULT "


async def _provider_round(url: str, codes: dict[str, str], ticket: str) -> tuple[int, int]:
    corps = list(codes)
    suite = Suite(SIM_SUITE_ID, SIM_SUITE_SECRET)
    await suite.receive_ticket(ticket, int(time.time()))
    provider = KfProvider(
        suite=suite,
        credentials=InMemoryCorpCredentials(codes),
        client_options={"rate_limit": None},
        base_url=url,
    )
    async with provider:
        async with provider.corp(corps[0]) as kf:  # warm
            await kf.customers.batch_get(["wmA"])
        base = tracemalloc.get_traced_memory()[0], max_rss_bytes()
        for corp_id in corps[1:]:
            async with provider.corp(corp_id) as kf:
                await kf.customers.batch_get(["wmA"])
        assert len(provider.open_corps) == len(corps)
        return tracemalloc.get_traced_memory()[0] - base[0], max_rss_bytes() - base[1]


async def _separate_round(url: str, codes: dict[str, str], ticket: str) -> tuple[int, int]:
    corps = list(codes)
    suite = Suite(SIM_SUITE_ID, SIM_SUITE_SECRET)
    await suite.receive_ticket(ticket, int(time.time()))
    async with SuiteClient(token_source=suite, rate_limit=None, base_url=url) as suite_client:
        clients: list[KfClient] = []
        try:
            for index, corp_id in enumerate(corps):
                if index == 1:  # the first one warm
                    base = tracemalloc.get_traced_memory()[0], max_rss_bytes()
                source = ThirdPartyCorp(suite_client, corp_id, codes[corp_id])
                client = KfClient(token_source=source, rate_limit=None, base_url=url)
                await client.__aenter__()
                clients.append(client)
                await client.customers.batch_get(["wmA"])
            return tracemalloc.get_traced_memory()[0] - base[0], max_rss_bytes() - base[1]
        finally:
            for client in clients:
                await client.aclose()


async def _child(subject: str, url: str) -> dict[str, Any]:
    set_testing(True)
    async with httpx.AsyncClient(base_url=f"{url}/__sim__/provider") as control:
        codes = (await control.get("/permanent_codes")).json()
        ticket = (await control.post("/ticket")).json()["ticket"]
    tracemalloc.start()
    cpu, start = time.process_time(), time.perf_counter()
    run = _provider_round if subject == "KfProvider" else _separate_round
    traced, rss = await run(url, codes, ticket)
    return {
        "traced": traced,
        "rss": rss,
        "wall": time.perf_counter() - start,
        "cpu": time.process_time() - cpu,
    }


def _round(subject: str, url: str) -> dict[str, Any]:
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
    done = subprocess.run(  # noqa: S603 - this interpreter, this module
        [sys.executable, "-m", "benchmarks.providers", "--child", subject, url],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith(_RESULT):
            result: dict[str, Any] = json.loads(line[len(_RESULT) :])
            return result
    raise RuntimeError(f"the {subject} round printed no result: {done.stderr[-2000:]}")


def run(settings: Settings) -> bool:
    """Run the rounds; True when the provider keeps at most TARGET_KB per idle corp."""
    repeats = settings.pick(3, 1)
    print_header(
        "providers",
        f"{CORPS} corps served once each and left open and idle, the provider simulator in "
        f"another process (loopback HTTP); a fresh child per round, {repeats} round(s) per "
        "subject, interleaved, medians",
    )
    results: dict[str, list[dict[str, Any]]] = {s: [] for s in SUBJECTS}
    with serve_provider_in_subprocess(corps=CORPS) as url:
        for subject in interleaved(SUBJECTS, repeats):
            results[subject].append(_round(subject, url))
    per_corp = CORPS - 1

    def kb(subject: str, field: str) -> float:
        return median([r[field] for r in results[subject]]) / per_corp / 1024

    base = kb("separate clients", "traced")
    rows = [
        [
            subject,
            f"{kb(subject, 'traced'):.1f}",
            f"{ratio(kb(subject, 'traced'), base):.2f}x",
            f"{kb(subject, 'rss'):.1f}",
            f"{median([r['wall'] for r in results[subject]]):.2f}",
            f"{median([r['cpu'] for r in results[subject]]):.2f}",
        ]
        for subject in SUBJECTS
    ]
    print_table(
        [
            "subject",
            "KB/idle corp (traced)",
            "vs separate",
            "KB/corp (peak RSS)",
            "wall s",
            "CPU s",
        ],
        rows,
    )
    measured = kb("KfProvider", "traced")
    return verdict(
        measured <= TARGET_KB,
        f"KfProvider keeps {measured:.1f} KB per idle corp (target <= {TARGET_KB:.0f} KB)",
    )


def _main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs=2, metavar=("SUBJECT", "URL"))
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(_RESULT + json.dumps(asyncio.run(_child(*args.child))), flush=True)
        return
    sys.exit(0 if run(Settings(quick=args.quick)) else 1)


if __name__ == "__main__":
    _main()
