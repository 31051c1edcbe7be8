"""Serve an ASGI app (normally :class:`WeComSimulator`) on a loopback port.

uvicorn is an optional dependency (the ``simulator`` extra); it is imported only
inside the functions that need it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import ipaddress
import os
import queue
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .simulator import CUSTOMER_BATCHGET, SIM_CORP_ID, SIM_SECRET, ASGIApp, WeComSimulator

if TYPE_CHECKING:
    import uvicorn

__all__ = ["LISTENING_PREFIX", "main", "serve", "serve_in_subprocess"]

LISTENING_PREFIX = "LISTENING "
"""Start of the first stdout line of ``python -m wecom_kf_async.testing``."""

_BACKLOG = 4096


def _import_uvicorn() -> Any:
    try:
        import uvicorn
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            "serving the simulator on a port needs uvicorn: pip install 'wecom_kf_async[simulator]'"
        ) from error
    return uvicorn


def _http_protocol() -> str:
    return "httptools" if importlib.util.find_spec("httptools") is not None else "h11"


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio only sets TCP_NODELAY on accepted sockets whose proto
    # is IPPROTO_TCP, and without it every response waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        if sys.platform != "win32":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        # Listening now means clients may connect as soon as the URL is known.
        sock.listen(_BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock


def _base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _server(
    app: ASGIApp, host: str, port: int, *, shutdown_timeout: int, quiet_logging: bool
) -> uvicorn.Server:
    uvicorn_module = _import_uvicorn()
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "warning",
        "lifespan": "off",
        "access_log": False,
        "http": _http_protocol(),
        "loop": "asyncio",
        "ws": "none",
        "interface": "asgi3",
        "proxy_headers": False,
        "server_header": False,
        "backlog": _BACKLOG,
        "timeout_graceful_shutdown": shutdown_timeout,
    }
    if quiet_logging:
        # Leave the host application's logging configuration alone.
        options["log_config"] = None
    server: uvicorn.Server = uvicorn_module.Server(uvicorn_module.Config(app, **options))
    return server


async def _wait_started(
    server: uvicorn.Server, task: asyncio.Task[None], startup_timeout: float
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + startup_timeout
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the server stopped while starting")
        if loop.time() > deadline:
            raise TimeoutError(f"the server did not start within {startup_timeout} s")
        await asyncio.sleep(0.005)


async def _stop(server: uvicorn.Server, task: asyncio.Task[None], grace: float) -> None:
    server.should_exit = True
    try:
        await asyncio.wait_for(asyncio.shield(task), grace)
    except TimeoutError:
        server.force_exit = True
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def serve(
    app: ASGIApp,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    startup_timeout: float = 10.0,
    shutdown_timeout: int = 2,
) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn in the running event loop; yield its base URL.

    ``port=0`` picks a free port. The URL looks like ``"http://127.0.0.1:PORT"``.
    On exit the server stops accepting connections, waits up to
    ``shutdown_timeout`` seconds for calls in progress (e.g. hung ones), cancels
    what is left and returns. Needs the ``simulator`` extra (uvicorn).
    """
    server = _server(app, host, port, shutdown_timeout=shutdown_timeout, quiet_logging=True)
    sock = _bind(host, port)
    try:
        url = _base_url(sock)
        task = asyncio.create_task(server.serve(sockets=[sock]), name=f"wecom-sim {url}")
        try:
            await _wait_started(server, task, startup_timeout)
            yield url
        finally:
            await _stop(server, task, shutdown_timeout + 5.0)
    finally:
        sock.close()


def _package_root() -> str:
    return str(Path(__file__).resolve().parents[2])


@contextlib.contextmanager
def serve_in_subprocess(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    latency: float = 0.0,
    shuffle: bool = False,
    rate_limit: int | None = None,
    token_ttl: float | None = None,
    seed: int = 0,
    third_party: bool = False,
    fault_rate: float = 0.0,
    demo: bool = False,
    extra_args: Sequence[str] = (),
    startup_timeout: float = 30.0,
    python: str | None = None,
) -> Iterator[str]:
    """Run ``python -m wecom_kf_async.testing`` in a child process; yield its base URL.

    The options mirror the command-line flags (``extra_args`` are passed as is).
    The child's stderr is inherited. On exit the child is terminated (then killed
    if it does not stop within 5 seconds). Needs uvicorn in the child's Python.
    """
    command = [python or sys.executable, "-m", "wecom_kf_async.testing"]
    command += ["--host", host, "--port", str(port), "--latency", repr(latency)]
    command += ["--seed", str(seed)]
    if shuffle:
        command.append("--shuffle")
    if rate_limit is not None:
        command += ["--rate-limit", str(rate_limit)]
    if token_ttl is not None:
        command += ["--token-ttl", repr(token_ttl)]
    if third_party:
        command.append("--third-party")
    if fault_rate:
        command += ["--fault-rate", repr(fault_rate)]
    if demo:
        command.append("--demo")
    command += list(extra_args)
    with child_server(command, startup_timeout) as url:
        yield url


@contextlib.contextmanager
def child_server(command: list[str], startup_timeout: float) -> Iterator[str]:
    """Run *command* (a ``python -m wecom_kf_async.testing ...``) until the block ends;
    yield the base URL its first line reports. On exit the child is terminated (killed
    if it does not stop within 5 seconds)."""
    env = dict(os.environ)
    # Make the child import this very copy of the package.
    env["PYTHONPATH"] = os.pathsep.join(
        part for part in (_package_root(), env.get("PYTHONPATH")) if part
    )
    process = subprocess.Popen(  # noqa: S603 - fixed command: this interpreter, this module
        command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, text=True
    )
    try:
        yield _read_listening_line(process, startup_timeout)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _read_listening_line(process: subprocess.Popen[str], timeout: float) -> str:
    stdout = process.stdout
    assert stdout is not None  # noqa: S101 - Popen was given stdout=PIPE
    lines: queue.Queue[str] = queue.Queue(maxsize=1)
    reader = threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True)
    reader.start()
    try:
        line = lines.get(timeout=timeout)
    except queue.Empty:
        raise TimeoutError(f"the simulator process did not start within {timeout} s") from None
    if not line.startswith(LISTENING_PREFIX):
        code = process.wait(timeout=5) if not line else None
        raise RuntimeError(
            f"the simulator process did not report its address "
            f"(exit code {code}, first line {line!r})"
        )
    return line[len(LISTENING_PREFIX) :].strip()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m wecom_kf_async.testing",
        description="Serve the WeCom KF API simulator. Prints 'LISTENING <base url>' "
        "on its first stdout line, then serves until interrupted.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (loopback)")
    parser.add_argument("--port", type=int, default=0, help="port (0 picks a free one)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per call")
    parser.add_argument("--shuffle", action="store_true", help="shuffle customer_list")
    parser.add_argument(
        "--rate-limit", type=int, default=None, help="calls per second per endpoint (45009 beyond)"
    )
    parser.add_argument("--token-ttl", type=float, default=7200.0, help="token lifetime, s")
    parser.add_argument("--seed", type=int, default=0, help="seed for faults and shuffling")
    parser.add_argument("--third-party", action="store_true", help="answer as a 3rd-party app")
    parser.add_argument(
        "--fault-rate", type=float, default=0.0, help="random fault rate for customer/batchget"
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="seed a demo corp (an account with servicers, a session) like wecom-kf --simulate",
    )
    parser.add_argument("--corp-id", default=SIM_CORP_ID, help="corp id to accept")
    parser.add_argument("--secret", default=SIM_SECRET, help="secret to accept")
    parser.add_argument(
        "--provider", action="store_true", help="serve a service provider's world instead"
    )
    parser.add_argument("--corps", type=int, default=0, help="--provider: corps installed")
    parser.add_argument(
        "--app-kind", default="third_party", help="--provider: third_party or agency"
    )
    return parser


async def _serve_forever(app: ASGIApp, host: str, port: int) -> None:
    server = _server(app, host, port, shutdown_timeout=2, quiet_logging=False)
    sock = _bind(host, port)
    try:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        await _wait_started(server, task, 30.0)
        print(f"{LISTENING_PREFIX}{_base_url(sock)}", flush=True)
        await task
    finally:
        sock.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m wecom_kf_async.testing``; returns the exit status."""
    args = _parser().parse_args(argv)
    if not _is_loopback(args.host):
        print(f"warning: serving the simulator on non-loopback {args.host}", file=sys.stderr)
    if args.provider:
        from ._provider_server import provider_main

        return provider_main(args)
    sim = WeComSimulator(
        args.corp_id,
        args.secret,
        token_ttl=args.token_ttl,
        seed=args.seed,
        third_party=args.third_party,
    )
    sim.latency = args.latency
    sim.shuffle = args.shuffle
    sim.calls_per_second_limit = args.rate_limit
    if args.fault_rate:
        sim.set_fault_rate(CUSTOMER_BATCHGET, args.fault_rate)
    if args.demo:
        sim.seed_demo()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(sim, args.host, args.port))
    return 0
