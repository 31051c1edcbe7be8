"""An arq worker that looks WeCom customers up, one fleet-mode client per process.

Every worker process opens one :meth:`KfClient.for_fleet
<wecom_kf_async.KfClient.for_fleet>` at startup and closes it at shutdown. The
clients of all the workers share one access token and one rate budget on Redis,
so however many workers run, WeCom sees one ``gettoken`` per token lifetime and
at most ``WECOM_RATE_LIMIT`` calls per second from the whole fleet.

Start workers (as many as you like, on any number of hosts)::

    python -m arq examples.arq_worker.WorkerSettings

Enqueue a lookup, wait for it and print the result as JSON::

    python -m examples.arq_worker enqueue wmAlice wmBob stranger

Settings come from the environment:

- ``REDIS_URL``: the Redis of both arq and fleet mode
  (default ``redis://127.0.0.1:6379/0``).
- ``WECOM_CORP_ID`` and ``WECOM_KF_SECRET``: the credentials (workers only).
- ``WECOM_BASE_URL``: the API root, e.g. the simulator's URL (default: WeCom).
- ``WECOM_RATE_LIMIT``: calls per second for the whole fleet (default 150).
- ``ARQ_QUEUE_NAME``: the arq queue (default ``arq:wecom_kf``).

See docs/recipes/arq-fleet.md for a walk-through against the bundled simulator.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import socket
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from arq.connections import RedisSettings, create_pool
from redis.exceptions import RedisError

from wecom_kf_async import (
    BatchGetResult,
    ConfigurationError,
    KfClient,
    KfError,
    PermissionDeniedError,
)

__all__ = [
    "DEFAULT_QUEUE_NAME",
    "DEFAULT_RATE_LIMIT",
    "DEFAULT_REDIS_URL",
    "DEFAULT_WAIT",
    "ENV_BASE_URL",
    "ENV_CORP_ID",
    "ENV_QUEUE_NAME",
    "ENV_RATE_LIMIT",
    "ENV_REDIS_URL",
    "ENV_SECRET",
    "SettingsError",
    "WeComSettings",
    "WorkerSettings",
    "enqueue_and_wait",
    "lookup_customers",
    "main",
    "queue_name_from_env",
    "redis_url_from_env",
    "shutdown",
    "startup",
    "summarize",
]

ENV_REDIS_URL = "REDIS_URL"
ENV_CORP_ID = "WECOM_CORP_ID"
ENV_SECRET = "WECOM_KF_SECRET"  # noqa: S105 - the name of a variable, not a secret
ENV_BASE_URL = "WECOM_BASE_URL"
ENV_RATE_LIMIT = "WECOM_RATE_LIMIT"
ENV_QUEUE_NAME = "ARQ_QUEUE_NAME"

#: Redis used when ``REDIS_URL`` is unset.
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
#: arq queue used when ``ARQ_QUEUE_NAME`` is unset.
DEFAULT_QUEUE_NAME = "arq:wecom_kf"
#: Fleet-wide calls per second when ``WECOM_RATE_LIMIT`` is unset (for_fleet's default).
DEFAULT_RATE_LIMIT = 150.0
#: Seconds ``enqueue`` waits for a result by default.
DEFAULT_WAIT = 60.0

# A child of the "arq" logger: arq's command line configures that one, so these
# lines show up next to arq's own without any logging setup here.
logger = logging.getLogger("arq.wecom_kf_example")


class SettingsError(RuntimeError):
    """A setting in the environment is missing or malformed."""


@dataclass(frozen=True)
class WeComSettings:
    """What a worker needs to reach WeCom, read from the environment."""

    corp_id: str
    secret: str
    base_url: str | None
    rate_limit: float | None

    def __repr__(self) -> str:
        # Never show the secret.
        return (
            f"WeComSettings(corp_id={self.corp_id!r}, base_url={self.base_url!r}, "
            f"rate_limit={self.rate_limit!r})"
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WeComSettings:
        """Read ``WECOM_*`` from *environ* (default: ``os.environ``).

        Raises :class:`SettingsError` naming what is missing or malformed.
        """
        env = os.environ if environ is None else environ
        corp_id = env.get(ENV_CORP_ID, "").strip()
        secret = env.get(ENV_SECRET, "").strip()
        missing = [
            name for name, value in ((ENV_CORP_ID, corp_id), (ENV_SECRET, secret)) if not value
        ]
        if missing:
            raise SettingsError(
                f"{' and '.join(missing)} not set: the worker needs {ENV_CORP_ID} and "
                f"{ENV_SECRET} (and {ENV_BASE_URL}=<simulator URL> to run against the "
                "simulator)"
            )
        base_url = env.get(ENV_BASE_URL, "").strip() or None
        if base_url is not None and not base_url.startswith(("http://", "https://")):
            raise SettingsError(f"{ENV_BASE_URL} must be an http(s) URL, got {base_url!r}")
        return cls(corp_id, secret, base_url, _rate_limit(env.get(ENV_RATE_LIMIT, "")))


def _rate_limit(raw: str) -> float | None:
    raw = raw.strip()
    if not raw:
        return DEFAULT_RATE_LIMIT
    if raw.lower() == "none":
        return None
    try:
        rate = float(raw)
    except ValueError:
        rate = math.nan
    if not 0 < rate < math.inf:
        raise SettingsError(
            f"{ENV_RATE_LIMIT} must be a positive number of calls per second "
            f"(or 'none'), got {raw!r}"
        )
    return rate


def redis_url_from_env(environ: Mapping[str, str] | None = None) -> str:
    """``REDIS_URL`` from *environ* (default: ``os.environ``), or the default."""
    env = os.environ if environ is None else environ
    url = env.get(ENV_REDIS_URL, "").strip() or DEFAULT_REDIS_URL
    if not url.startswith(("redis://", "rediss://", "unix://")):
        # The URL may hold a password: don't echo it.
        raise SettingsError(f"{ENV_REDIS_URL} must start with redis://, rediss:// or unix://")
    return url


def queue_name_from_env(environ: Mapping[str, str] | None = None) -> str:
    """``ARQ_QUEUE_NAME`` from *environ* (default: ``os.environ``), or the default."""
    env = os.environ if environ is None else environ
    return env.get(ENV_QUEUE_NAME, "").strip() or DEFAULT_QUEUE_NAME


def _where(settings: RedisSettings) -> str:
    """Where *settings* point, without credentials."""
    if settings.unix_socket_path:
        return f"unix:{settings.unix_socket_path}"
    return f"{settings.host}:{settings.port}/{settings.database}"


# -- the worker ---------------------------------------------------------------------


async def startup(ctx: dict[str, Any]) -> None:
    """arq ``on_startup``: open this process's fleet client and keep it in ``ctx["kf"]``.

    Fetches the access token at once, so wrong credentials stop the worker here
    rather than failing every job. The workers that start together share that
    fetch: one of them calls ``gettoken``, the others read its token from Redis.
    """
    settings = WeComSettings.from_env()
    options: dict[str, Any] = {}
    if settings.base_url is not None:
        options["base_url"] = settings.base_url
    kf = KfClient.for_fleet(
        redis_url_from_env(),
        corp_id=settings.corp_id,
        secret=settings.secret,
        rate_limit=settings.rate_limit,
        **options,
    )
    # The client lives as long as the worker, which no `async with` block spans:
    # enter it here and close it in shutdown().
    await kf.__aenter__()
    ctx["kf"] = kf  # from here on, shutdown() closes it, even if the rest fails
    ctx["worker_id"] = f"{socket.gethostname()}:{os.getpid()}"
    try:
        await kf.tokens.get()
    except (ConfigurationError, PermissionDeniedError) as exc:
        raise SettingsError(f"WeCom refused {ENV_CORP_ID}/{ENV_SECRET} or this app: {exc}") from exc
    except KfError as exc:
        # Maybe a passing outage: the jobs will fetch a token when they need one.
        logger.warning("could not fetch an access token at startup (%s); going on", exc)
    logger.info(
        "worker %s ready: WeCom at %s, corp %s, fleet budget %s calls/s",
        ctx["worker_id"],
        kf.base_url,
        settings.corp_id,
        "unlimited" if settings.rate_limit is None else f"{settings.rate_limit:g}",
    )


async def shutdown(ctx: dict[str, Any]) -> None:
    """arq ``on_shutdown``: close the fleet client opened by :func:`startup`."""
    kf: KfClient | None = ctx.pop("kf", None)
    if kf is not None:
        await kf.aclose()
        logger.info("worker %s closed its WeCom client", ctx.get("worker_id"))


def summarize(result: BatchGetResult) -> dict[str, Any]:
    """A JSON-able summary of a :class:`~wecom_kf_async.BatchGetResult`.

    ``customers`` maps each resolved id to ``{"nickname": ...}``, ``invalid``
    lists the ids WeCom does not know (no session within 48 hours), and
    ``failed`` maps each id that failed after retries to ``"ErrorType: message"``.
    Every distinct id requested is in exactly one of the three.
    """
    return {
        "customers": {c.external_userid: {"nickname": c.nickname} for c in result.customers},
        "invalid": list(result.invalid_external_userids),
        "failed": {uid: f"{type(exc).__name__}: {exc}" for uid, exc in result.failed.items()},
    }


async def lookup_customers(ctx: dict[str, Any], ids: list[str]) -> dict[str, Any]:
    """arq job: look *ids* up with ``customer/batchget``; return :func:`summarize`'s dict.

    The summary also names the ``worker`` (``host:pid``) that ran the job.
    Errors no request can escape (wrong credentials, API not allowed, IP not
    allowed) fail the job with the library's exception (a ``WeComError``), which
    reaches whoever waits on the job: the library's exceptions pickle.
    """
    kf: KfClient = ctx["kf"]
    result = await kf.customers.batch_get(ids)
    return {**summarize(result), "worker": ctx["worker_id"]}


class WorkerSettings:
    """arq's settings: ``python -m arq examples.arq_worker.WorkerSettings``."""

    functions = (lookup_customers,)
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = RedisSettings.from_dsn(redis_url_from_env())
    queue_name = queue_name_from_env()


# -- the command line ---------------------------------------------------------------


async def enqueue_and_wait(ids: Sequence[str], *, wait: float = DEFAULT_WAIT) -> dict[str, Any]:
    """Enqueue one :func:`lookup_customers` job for *ids* and return its result.

    Raises ``TimeoutError`` if no worker finished it within *wait* seconds,
    and re-raises the job's exception if it failed.
    """
    pool = await create_pool(
        WorkerSettings.redis_settings, default_queue_name=WorkerSettings.queue_name
    )
    try:
        job = await pool.enqueue_job(lookup_customers.__name__, list(ids))
        if job is None:  # only when a job id is reused, which arq's own ids never are
            raise RuntimeError("arq did not enqueue the job")
        result = await job.result(timeout=wait, poll_delay=0.1)
    finally:
        await pool.aclose()
    if not isinstance(result, dict):
        raise RuntimeError(f"unexpected job result: {type(result).__name__}")
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m examples.arq_worker",
        description="Enqueue customer lookups for the arq workers of examples.arq_worker "
        "(start them with: python -m arq examples.arq_worker.WorkerSettings).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    enqueue = commands.add_parser(
        "enqueue",
        help="enqueue one lookup job, wait for its result and print it as JSON",
        description=f"Enqueue one lookup_customers job on ${ENV_QUEUE_NAME} (default "
        f"{DEFAULT_QUEUE_NAME}) in ${ENV_REDIS_URL}, wait for a worker to run it and "
        "print its result as JSON.",
    )
    enqueue.add_argument("ids", nargs="+", metavar="ID", help="external_userid(s)")
    enqueue.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_WAIT,
        metavar="S",
        help=f"seconds to wait for the result (default {DEFAULT_WAIT:g})",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    0: the job ran and no id failed; 1: some ids failed, the job failed or no
    worker finished it in time; 2: bad input.
    """
    args = _parser().parse_args(argv)
    where = f"{_where(WorkerSettings.redis_settings)}, queue {WorkerSettings.queue_name!r}"
    try:
        result = asyncio.run(enqueue_and_wait(args.ids, wait=args.timeout))
    except TimeoutError:
        print(
            f"error: no worker finished the job within {args.timeout:g} s ({where}); "
            "it stays queued. Is a worker running? "
            "python -m arq examples.arq_worker.WorkerSettings",
            file=sys.stderr,
        )
        return 1
    except (TypeError, ValueError) as exc:  # the worker refused the ids
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (OSError, RedisError, RuntimeError, KfError) as exc:  # Redis down, or the job failed
        print(f"error: {type(exc).__name__}: {exc} ({where})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 1 if result.get("failed") else 0


if __name__ == "__main__":
    raise SystemExit(main())
