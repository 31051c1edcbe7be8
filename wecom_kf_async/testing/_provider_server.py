"""Serve the provider simulator in a child process: ``python -m wecom_kf_async.testing --provider``.

For multi-process tests (a fleet of workers sharing one provider world): the
child installs ``--corps`` corps at start; the test reads their permanent codes
from ``GET /__sim__/provider/permanent_codes`` and mints tickets with
``POST /__sim__/provider/ticket``.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator, Sequence

from ._server import child_server

__all__ = ["provider_main", "serve_provider_in_subprocess"]


@contextlib.contextmanager
def serve_provider_in_subprocess(
    corps: int = 0,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    seed: int = 0,
    app_kind: str = "third_party",
    token_ttl: float | None = None,
    demo: bool = False,
    extra_args: Sequence[str] = (),
    startup_timeout: float = 30.0,
    python: str | None = None,
) -> Iterator[str]:
    """Run a :class:`ProviderSimulator` in a child process; yield its base URL.

    *corps* corps are installed at start (``wwcorp000001``, ...); their permanent
    codes are served (test-only) at ``GET /__sim__/provider/permanent_codes``.
    *demo* seeds each corp like ``wecom-kf --simulate``. On exit the child is
    terminated (killed if it does not stop within 5 seconds). Needs uvicorn.
    """
    if corps < 0:
        raise ValueError("corps must be >= 0")
    command = [python or sys.executable, "-m", "wecom_kf_async.testing", "--provider"]
    command += ["--host", host, "--port", str(port), "--seed", str(seed)]
    command += ["--corps", str(corps), "--app-kind", app_kind]
    if token_ttl is not None:
        command += ["--token-ttl", repr(token_ttl)]
    if demo:
        command.append("--demo")
    command += list(extra_args)
    with child_server(command, startup_timeout) as url:
        yield url


def provider_main(args: argparse.Namespace) -> int:
    """Serve a provider simulator as parsed by ``python -m wecom_kf_async.testing``."""
    import asyncio

    from ._server import _serve_forever
    from .provider import ProviderSimulator

    if args.app_kind not in ("third_party", "agency"):
        print(f"--app-kind must be third_party or agency, not {args.app_kind!r}", file=sys.stderr)
        return 2
    provider = ProviderSimulator(seed=args.seed, app_kind=args.app_kind, token_ttl=args.token_ttl)
    for _ in range(args.corps):
        install = provider.install()
        install.sim.latency = args.latency
        if args.demo:
            install.sim.seed_demo()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(provider, args.host, args.port))
    return 0
