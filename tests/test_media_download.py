"""kf.media.download / iter_bytes against the simulator: ranges, resume, checks, names, memory."""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from wecom_kf_async import (
    DownloadedMedia,
    InvalidRequestError,
    InvalidResponseError,
    KfClient,
    TransportError,
)
from wecom_kf_async.cli import main
from wecom_kf_async.resources.media_download import RANGE_MAX, safe_filename
from wecom_kf_async.testing import SIM_CORP_ID, SIM_SECRET, WeComSimulator, serve_in_subprocess
from wecom_kf_async.testing.simulator.media import DEMO_MEDIA_ID
from wecom_kf_async.testing.simulator.media_get import MEDIA_TTL

from .conftest import FakeClock, client_for
from .test_media import _peak_rss, _reset_peak_rss

GET = "media/get"
MB = 1024 * 1024


def listing(directory: Path) -> list[Path]:
    return list(directory.iterdir())


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def ranges(sim: WeComSimulator) -> list[tuple[int, int]]:
    """The ranges media/get was asked, as (first, last) byte pairs."""
    found = []
    for header in sim.media_get_ranges:
        assert header is not None, "a download asked without Range"
        first, _, last = header.removeprefix("bytes=").partition("-")
        found.append((int(first), int(last)))
    return found


async def test_download_to_a_path_in_ranges(sim: WeComSimulator, tmp_path: Path) -> None:
    """A 5 MB medium in 1 MB ranges: five requests, contiguous, the file whole, no part file."""
    media_id = sim.add_media("file", filename="report.pdf", size=5 * MB)
    dest = tmp_path / "out.pdf"
    async with client_for(sim) as kf:
        result = await kf.media.download(media_id, dest, range_size=MB)
    assert isinstance(result, DownloadedMedia)
    assert (result.filename, result.content_type, result.size) == (
        "report.pdf",
        "application/pdf",
        5 * MB,
    )
    assert result.path == str(dest)
    assert sha256(dest.read_bytes()) == sim.media_sha256(media_id)
    assert ranges(sim) == [(i * MB, (i + 1) * MB - 1) for i in range(5)]
    assert listing(tmp_path) == [dest]


async def test_download_to_a_file_object_and_iter_bytes(sim: WeComSimulator) -> None:
    """A binary file object gets the bytes; iter_bytes yields them in order; uploads come back."""
    async with client_for(sim) as kf:
        uploaded = await kf.media.upload("file", b"hello media " * 1000, filename="notes.txt")
        sink = io.BytesIO()
        result = await kf.media.download(uploaded.media_id, sink, range_size=5000)
        chunks = [chunk async for chunk in kf.media.iter_bytes(uploaded.media_id, range_size=777)]
    assert sink.getvalue() == b"hello media " * 1000
    assert b"".join(chunks) == b"hello media " * 1000
    assert (result.size, result.path, result.content_type) == (12000, None, "text/plain")


async def test_download_into_a_directory_uses_the_given_name(
    sim: WeComSimulator, tmp_path: Path
) -> None:
    """An existing directory receives the file under WeCom's (safe) name, UTF-8 names kept."""
    media_id = sim.add_media("file", filename="月报 2024.xlsx", size=3000)
    async with client_for(sim) as kf:
        result = await kf.media.download(media_id, tmp_path)
    assert result.filename == "月报 2024.xlsx"
    assert (tmp_path / "月报 2024.xlsx").read_bytes() == sim.media_bytes(media_id)


@pytest.mark.parametrize(
    "hostile",
    [
        "../../etc/passwd",
        "/etc/passwd",
        "..\\..\\windows\\win.ini",
        "a\nb\r\x00c.txt",
        "..",
        ".bashrc",
        "C:evil.exe",
        "\u202etxt.exe",
        "x" * 300 + ".bin",
    ],
)
async def test_hostile_names_are_never_a_path(
    sim: WeComSimulator, tmp_path: Path, hostile: str
) -> None:
    """Whatever name WeCom gives, the file lands directly in the directory, plainly named."""
    media_id = sim.add_media("file", filename=hostile, size=100)
    target = tmp_path / "in"
    target.mkdir()
    async with client_for(sim) as kf:
        result = await kf.media.download(media_id, target)
    (written,) = listing(target)
    assert written.name == result.filename
    assert written.read_bytes() == sim.media_bytes(media_id)
    assert result.filename.isprintable()
    assert not set(result.filename) & set('/\\:"')
    assert not result.filename.startswith(".")
    assert len(result.filename.encode()) <= 255
    assert listing(tmp_path) == [target]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..", "m1.jpg"),
        ("", "m1.jpg"),
        (None, "m1.jpg"),
        ("dir\\file.txt", "file.txt"),
        ("tab\there.txt", "tabhere.txt"),
        ('a<b>:c"d|e?f*.txt', "a_b__c_d_e_f_.txt"),
    ],
)
def test_safe_filename(raw: str | None, expected: str) -> None:
    """The last component only, no controls or reserved characters; else the id + extension."""
    assert safe_filename(raw, "m1", "image/jpeg") == expected


async def test_a_cut_connection_resumes_where_it_stopped(
    sim: WeComSimulator, tmp_path: Path
) -> None:
    """Bodies cut half way resume from the first byte missing: no gap, no overlap, same hash."""
    media_id = sim.add_media("video", filename="clip.mp4", size=4 * MB + 123)
    sim.script(GET, ["drop", 0, "drop", "drop", 0])
    dest = tmp_path / "clip.mp4"
    async with client_for(sim) as kf:
        result = await kf.media.download(media_id, dest, range_size=2 * MB)
    assert sha256(dest.read_bytes()) == sim.media_sha256(media_id)
    assert result.size == 4 * MB + 123
    asked = ranges(sim)
    assert asked[0] == (0, 2 * MB - 1)
    assert asked[1] == (MB, 3 * MB - 1)  # resumed after the half received, not from zero
    for (_, last), (first, _) in itertools.pairwise(asked):
        assert first <= last + 1  # each range starts at or before the end of the one before
    assert all(first > 0 for first, _ in asked[1:])


async def test_iter_bytes_resumes_without_repeating(sim: WeComSimulator) -> None:
    """The chunks iter_bytes yields across cuts add up to the file exactly."""
    media_id = sim.add_media("file", filename="a.bin", size=300_000)
    sim.script(GET, ["drop", "drop"])
    async with client_for(sim) as kf:
        digest = hashlib.sha256()
        total = 0
        async for chunk in kf.media.iter_bytes(media_id, range_size=100_000):
            digest.update(chunk)
            total += len(chunk)
    assert (total, digest.hexdigest()) == (300_000, sim.media_sha256(media_id))


async def test_cut_again_and_again_gives_up_and_removes_the_part(
    sim: WeComSimulator, tmp_path: Path
) -> None:
    """A body cut before its first byte every time ends in a TransportError; no file is left."""
    media_id = sim.add_media("file", filename="a.bin", size=1)
    sim.script(GET, ["drop"] * 10)
    async with client_for(sim) as kf:
        with pytest.raises(TransportError) as raised:
            await kf.media.download(media_id, tmp_path / "a.bin")
    assert raised.value.__context__ is None
    assert raised.value.__cause__ is None
    for token in sim.issued_tokens:
        assert token not in str(raised.value)
        assert token not in repr(raised.value)
    assert listing(tmp_path) == []


@pytest.mark.parametrize("expire", [False, True])
async def test_unknown_or_expired_id_is_40007(
    clock: FakeClock, tmp_path: Path, expire: bool
) -> None:
    """An unknown id, or one 3 days old, raises InvalidRequestError 40007 and writes nothing."""
    sim = WeComSimulator(clock=clock)
    media_id = sim.add_media("image", filename="a.jpg", size=100) if expire else "3nosuchmedia"
    clock.advance(MEDIA_TTL if expire else 0)
    async with client_for(sim, clock=clock) as kf:
        with pytest.raises(InvalidRequestError) as raised:
            await kf.media.download(media_id, tmp_path / "a.jpg")
        with pytest.raises(InvalidRequestError):
            async for _ in kf.media.iter_bytes(media_id):
                pass
    assert raised.value.errcode == 40007
    assert listing(tmp_path) == []


async def test_a_json_error_mid_download_is_the_error(sim: WeComSimulator, tmp_path: Path) -> None:
    """The second range answered with a JSON error raises it; the JSON is never written."""
    media_id = sim.add_media("file", filename="a.bin", size=3000)
    sim.script(GET, [0, 40007])
    sink = io.BytesIO()
    async with client_for(sim) as kf:
        with pytest.raises(InvalidRequestError):
            await kf.media.download(media_id, sink, range_size=1000)
    assert sink.getvalue() == sim.media_bytes(media_id)[:1000]
    assert b"errcode" not in sink.getvalue()


async def test_a_transient_error_is_retried_within_the_range(sim: WeComSimulator) -> None:
    """errcode -1 on a range is retried by the pipeline; the download completes."""
    media_id = sim.add_media("file", filename="a.bin", size=3000)
    sim.script(GET, [0, -1, 0])
    async with client_for(sim) as kf:
        data = b"".join([c async for c in kf.media.iter_bytes(media_id, range_size=1000)])
    assert data == sim.media_bytes(media_id)
    assert sim.stats.calls[GET] == 4


def rewriting(
    sim: WeComSimulator, rewrite: Callable[[int, int, dict[bytes, bytes]], tuple[int, Any]]
) -> Any:
    """An ASGI app: *sim*, with media/get's status and headers passed through *rewrite*.

    *rewrite* gets the call's number (0-based), the status and the headers, and
    returns the status and headers to send.
    """
    calls = [0]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].endswith(GET):
            await sim(scope, receive, send)
            return
        number = calls[0]
        calls[0] += 1

        async def rewritten(message: Any) -> None:
            if message["type"] == "http.response.start":
                status, headers = rewrite(number, message["status"], dict(message["headers"]))
                message = {**message, "status": status, "headers": list(headers.items())}
            await send(message)

        await sim(scope, receive, rewritten)

    return app


def lie_about(range_value: bytes, call: int = 1) -> Any:
    def rewrite(number: int, status: int, headers: dict[bytes, bytes]) -> tuple[int, Any]:
        if number == call:
            headers[b"content-range"] = range_value
        return status, headers

    return rewrite


@pytest.mark.parametrize(
    ("rewrite", "match"),
    [
        (lie_about(b"bytes 1001-2000/3000"), "does not match"),  # a gap
        (lie_about(b"bytes 999-1998/3000"), "does not match"),  # an overlap
        (lie_about(b"bytes 1000-1999/4000"), "does not match"),  # another total
        (lie_about(b"bytes 1000-2999/3000"), "does not match"),  # more than asked
        (lie_about(b"1000-1999"), "Content-Range"),
        (lambda n, s, h: (200 if n == 1 else s, h), "whole file"),  # 200 at an offset
    ],
)
async def test_range_answers_that_do_not_match_are_refused(
    sim: WeComSimulator, tmp_path: Path, rewrite: Any, match: str
) -> None:
    """A 206 not matching the range asked, or a 200 to a range from 1000: InvalidResponseError."""
    media_id = sim.add_media("file", filename="a.bin", size=3000)
    kf = KfClient(
        corp_id=sim.corp_id,
        secret=SIM_SECRET,
        base_url="http://wecom.sim",
        transport=httpx.ASGITransport(app=rewriting(sim, rewrite)),
        rate_limit=None,
    )
    async with kf:
        with pytest.raises(InvalidResponseError, match=match):
            await kf.media.download(media_id, tmp_path / "a.bin", range_size=1000)
    assert listing(tmp_path) == []


async def test_a_200_at_offset_zero_is_the_whole_file(sim: WeComSimulator) -> None:
    """A server that ignores Range and answers 200 from byte 0 gives the whole file, once."""
    media_id = sim.add_media("file", filename="a.bin", size=3000)

    def whole(number: int, status: int, headers: dict[bytes, bytes]) -> tuple[int, Any]:
        headers.pop(b"content-range", None)
        return 200, headers

    kf = KfClient(
        corp_id=sim.corp_id,
        secret=SIM_SECRET,
        base_url="http://wecom.sim",
        transport=httpx.ASGITransport(app=rewriting(sim, whole)),
        rate_limit=None,
    )
    async with kf:
        data = b"".join([c async for c in kf.media.iter_bytes(media_id)])
    assert data == sim.media_bytes(media_id)
    assert sim.stats.calls[GET] == 1


@pytest.mark.parametrize(
    ("media_id", "range_size", "error"),
    [
        ("m1", RANGE_MAX + 1, ValueError),
        ("m1", 0, ValueError),
        ("m1", True, TypeError),
        ("m1", 1.5, TypeError),
        ("", RANGE_MAX, ValueError),
        (None, RANGE_MAX, TypeError),
    ],
)
async def test_bad_arguments_send_nothing(
    kf: KfClient, sim: WeComSimulator, media_id: Any, range_size: Any, error: type[Exception]
) -> None:
    """range_size over 20 MB (or not a positive int) and a bad media_id raise before any request."""
    with pytest.raises(error):
        await kf.media.download(media_id, io.BytesIO(), range_size=range_size)
    with pytest.raises(error):
        async for _ in kf.media.iter_bytes(media_id, range_size=range_size):
            pass
    assert sum(sim.stats.calls.values()) == 0


async def test_text_file_destination_is_refused(kf: KfClient, sim: WeComSimulator) -> None:
    """A text-mode file object is no destination for bytes."""
    with pytest.raises(TypeError, match="binary"):
        await kf.media.download("m1", io.StringIO())  # type: ignore[arg-type]
    assert sum(sim.stats.calls.values()) == 0


async def test_the_slot_is_held_while_a_range_is_read(sim: WeComSimulator) -> None:
    """With one concurrency slot, it is taken while a body is read and free once closed."""
    media_id = sim.add_media("file", filename="a.bin", size=300_000)
    async with client_for(sim, max_concurrency=1) as kf:
        slots = kf._pipeline._admitter._slots
        chunks = kf.media.iter_bytes(media_id)
        async with contextlib.aclosing(chunks):
            await anext(chunks)
            assert slots.locked()
        assert not slots.locked()
        await kf.media.download(media_id, io.BytesIO())
        assert not slots.locked()


async def test_customer_media_can_be_downloaded(sim: WeComSimulator) -> None:
    """The media id of an image a customer sent downloads (what a bot does with it)."""
    account = sim.add_account("Support")
    sim.customer_says(
        account, "wmcustomer1", {"msgtype": "image", "image": {"media_id": "3customerimage"}}
    )
    async with client_for(sim) as kf:
        sink = io.BytesIO()
        result = await kf.media.download("3customerimage", sink)
    assert sink.getvalue() == sim.media_bytes("3customerimage")
    assert result.size == len(sink.getvalue())


# -- the simulator's rules ---------------------------------------------------------


async def get(sim: WeComSimulator, media_id: str, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim), base_url="http://sim"
    ) as http:
        token = await http.get(
            "/cgi-bin/gettoken", params={"corpid": sim.corp_id, "corpsecret": SIM_SECRET}
        )
        params = {"access_token": token.json()["access_token"], "media_id": media_id}
        return await http.get("/cgi-bin/media/get", params=params, headers=headers)


async def test_simulator_answers_like_page_96486(sim: WeComSimulator) -> None:
    """200 with Content-Disposition, 206 with Content-Range, 830002 over 20 MB, 416 past the end."""
    small = sim.add_media("image", filename="a.jpg", size=2048)
    big = sim.add_media("file", filename="big.bin", size=20 * MB + 1)
    whole = await get(sim, small)
    assert whole.status_code == 200
    assert whole.headers["content-disposition"] == 'attachment; filename="a.jpg"'
    assert whole.headers["content-type"] == "image/jpeg"
    assert whole.content == sim.media_bytes(small)
    part = await get(sim, small, Range="bytes=0-1023")
    assert part.status_code == 206
    assert part.headers["content-range"] == "bytes 0-1023/2048"
    assert part.headers["accept-ranges"] == "bytes"
    assert part.headers["content-length"] == "1024"
    assert (await get(sim, big)).json()["errcode"] == 830002
    assert (await get(sim, big, Range=f"bytes=0-{20 * MB}")).json()["errcode"] == 830002
    assert (await get(sim, big, Range=f"bytes=1-{20 * MB}")).status_code == 206
    assert (await get(sim, small, Range="bytes=2048-")).status_code == 416
    assert (await get(sim, "3nosuch")).json()["errcode"] == 40007


# -- 100 MB streams --------------------------------------------------------------


@pytest.mark.parametrize("how", ["download", "iter_bytes"])
async def test_100mb_never_held_in_memory(tmp_path: Path, how: str) -> None:
    """100 MB from a simulator in another process: peak RSS grows well under 20 MB."""
    if not _reset_peak_rss():
        pytest.skip("needs Linux /proc to measure the peak RSS")
    with serve_in_subprocess() as base_url:
        async with httpx.AsyncClient() as http:
            seeded = await http.post(
                f"{base_url}/__sim__/media",
                json={"type": "file", "filename": "big.bin", "size": 100 * MB},
            )
            seeded.raise_for_status()
            media_id = seeded.json()["media_id"]
            expected = seeded.json()["sha256"]
        client = KfClient(corp_id=SIM_CORP_ID, secret=SIM_SECRET, base_url=base_url, timeout=60)
        async with client as kf:
            warm = await kf.media.upload("file", b"warm up", filename="w.bin")
            await kf.media.download(warm.media_id, io.BytesIO())
            _reset_peak_rss()
            baseline = _peak_rss()
            digest = hashlib.sha256()
            if how == "download":
                dest = tmp_path / "big.bin"
                result = await kf.media.download(media_id, dest)
                growth = _peak_rss() - baseline
                with dest.open("rb") as handle:
                    while block := handle.read(MB):
                        digest.update(block)
                assert result.size == 100 * MB
            else:
                async for chunk in kf.media.iter_bytes(media_id):
                    digest.update(chunk)
                growth = _peak_rss() - baseline
    assert growth < 20 * MB, f"peak RSS grew by {growth / MB:.1f} MB for a 100 MB download"
    assert digest.hexdigest() == expected


# -- CLI -------------------------------------------------------------------------


def test_cli_download_with_a_progress_bar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`media download ID -o FILE --simulate` writes the file, a bar on stderr, JSON on stdout."""
    dest = tmp_path / "avatar.png"
    assert main(["media", "download", DEMO_MEDIA_ID, "-o", str(dest), "--simulate"]) == 0
    out, err = capsys.readouterr()
    (line,) = [json.loads(text) for text in out.splitlines()]
    assert line["size"] == dest.stat().st_size == 2048
    assert (line["filename"], line["content_type"], line["path"]) == (
        "avatar.png",
        "image/png",
        str(dest),
    )
    assert "100%" in err
    assert "#" * 30 in err


def test_cli_download_unknown_id_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown id exits non-zero naming errcode 40007; nothing is written."""
    status = main(["media", "download", "3nosuch", "-o", str(tmp_path / "x"), "--simulate"])
    _, err = capsys.readouterr()
    assert status != 0
    assert "40007" in err
    assert listing(tmp_path) == []
