"""kf.media.upload against the simulator: sources, checks, multipart, retries, memory, CLI."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from wecom_kf_async import InvalidRequestError, KfClient
from wecom_kf_async.cli import main
from wecom_kf_async.models import MediaType, UploadedMedia, structure
from wecom_kf_async.resources.media import MEDIA_MAX_BYTES
from wecom_kf_async.testing import SIM_CORP_ID, SIM_SECRET, WeComSimulator, serve_in_subprocess
from wecom_kf_async.testing.simulator.media import DEMO_MEDIA_ID

from .conftest import FakeClock, client_for

UPLOAD = "media/upload"
MB = 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def requests_sent(sim: WeComSimulator) -> int:
    """Every request the simulator received, gettoken included."""
    return sum(sim.stats.calls.values())


def sparse_file(path: Path, size: int) -> Path:
    """A file of *size* zero bytes that takes no disk space (nothing is read in these tests)."""
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


async def test_upload_bytes(clock: FakeClock) -> None:
    """Bytes with a filename become a medium in the corp; created_at is an aware UTC datetime."""
    sim = WeComSimulator(clock=clock)
    async with client_for(sim, clock=clock) as kf:
        media = await kf.media.upload("image", PNG, filename="logo.png")
    assert media.type is MediaType.IMAGE
    assert media.created_at == dt.datetime.fromtimestamp(clock(), dt.UTC)
    assert media.created_at.tzinfo is dt.UTC
    stored = sim.corp.media[media.media_id]
    assert (stored.type, stored.filename, stored.size) == ("image", "logo.png", len(PNG))


@pytest.mark.parametrize("as_path", [str, Path])
async def test_upload_path_takes_its_file_name(
    kf: KfClient, sim: WeComSimulator, tmp_path: Path, as_path: Any
) -> None:
    """A str or PathLike path is uploaded whole, under its own file name unless one is given."""
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF-1.4 " * 1000)
    media = await kf.media.upload(MediaType.FILE, as_path(path))
    renamed = await kf.media.upload("file", as_path(path), filename="月报.pdf")
    assert media.type is MediaType.FILE
    assert sim.corp.media[media.media_id].filename == "report.pdf"
    assert sim.corp.media[media.media_id].size == 9000
    assert sim.corp.media[renamed.media_id].filename == "月报.pdf"


async def test_upload_file_object_is_rewound(
    kf: KfClient, sim: WeComSimulator, tmp_path: Path
) -> None:
    """A seekable binary file is sent whole from its start, and left open for its owner."""
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" * 500)
    with path.open("rb") as handle:
        handle.read(100)
        media = await kf.media.upload("video", handle, filename="clip.mp4")
        assert not handle.closed
    assert sim.corp.media[media.media_id].size == 6000


async def test_a_retry_sends_the_whole_file_again(sim: WeComSimulator, tmp_path: Path) -> None:
    """After an answer cut off mid-way, the retry resends every byte: a second medium results."""
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"\xff\xd8\xff" + b"j" * 70_000)
    sources: list[Any] = [str(path), path.read_bytes(), io.BytesIO(path.read_bytes())]
    async with client_for(sim, timeout=0.5) as kf:
        for source in sources:
            sim.script(UPLOAD, ["drop"])
            before = set(sim.corp.media)
            media = await kf.media.upload("image", source, filename="photo.jpg")
            made = [sim.corp.media[m] for m in set(sim.corp.media) - before]
            assert sorted(m.size for m in made) == [70_003, 70_003]
            assert media.media_id in {m.media_id for m in made}
    assert sim.stats.calls[UPLOAD] == 6


async def test_errcode_is_not_retried(kf: KfClient, sim: WeComSimulator) -> None:
    """An invalid-size answer is an InvalidRequestError with its errcode, sent once."""
    sim.script(UPLOAD, [40006])
    with pytest.raises(InvalidRequestError) as raised:
        await kf.media.upload("image", PNG, filename="logo.png")
    assert raised.value.errcode == 40006
    assert sim.stats.calls[UPLOAD] == 1


async def test_uploaded_media_id_is_accepted_by_account_add(
    kf: KfClient, sim: WeComSimulator
) -> None:
    """account/add takes the media_id an upload returned as the avatar."""
    media = await kf.media.upload("image", PNG, filename="avatar.png")
    answer = await kf.request(
        "POST", "kf/account/add", json={"name": "Support", "media_id": media.media_id}
    )
    assert sim.corp.accounts[answer["open_kfid"]].media_id == media.media_id


# -- refused before any request ---------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "size"),
    [
        ("image", MEDIA_MAX_BYTES[MediaType.IMAGE] + 1),
        ("voice", 2 * MB + 1),
        ("video", 10 * MB + 1),
        ("file", 20 * MB + 1),
        ("file", 5),
        ("image", 0),
    ],
)
async def test_size_limits_refused_before_sending(
    kf: KfClient, sim: WeComSimulator, tmp_path: Path, kind: str, size: int
) -> None:
    """A file over its type's limit, or of 5 bytes or fewer, raises ValueError and sends nothing."""
    path = sparse_file(tmp_path / "media.bin", size)
    with pytest.raises(ValueError, match="bytes"):
        await kf.media.upload(kind, path)
    with path.open("rb") as handle, pytest.raises(ValueError, match="bytes"):
        await kf.media.upload(kind, handle, filename="media.bin")
    assert requests_sent(sim) == 0


async def test_size_limits_are_inclusive(kf: KfClient, sim: WeComSimulator, tmp_path: Path) -> None:
    """Exactly 6 bytes and exactly a type's limit are accepted and sent."""
    await kf.media.upload("voice", b"#!AMR\n", filename="hi.amr")
    path = sparse_file(tmp_path / "max.amr", 2 * MB)
    media = await kf.media.upload("voice", path)
    assert sim.corp.media[media.media_id].size == 2 * MB


@pytest.mark.parametrize(
    ("kind", "source", "filename", "error", "match"),
    [
        ("gif", PNG, "a.gif", ValueError, "type must be one of"),
        (5, PNG, "a.png", TypeError, "type must be"),
        ("image", PNG, None, ValueError, "filename is required"),
        ("image", PNG, "", ValueError, "filename must not be empty"),
        ("image", PNG, "dir/a.png", ValueError, "plain file name"),
        ("image", PNG, 'a".png', ValueError, "plain file name"),
        ("image", PNG, "a\n.png", ValueError, "plain file name"),
        ("image", PNG, b"a.png", TypeError, "filename must be a str"),
        ("image", 12345, "a.png", TypeError, "path, bytes or a binary file"),
        ("image", io.StringIO("x" * 100), "a.png", TypeError, "binary"),
        ("image", "/nonexistent/a.png", None, ValueError, "cannot upload"),
    ],
)
async def test_bad_input_sends_nothing(
    kf: KfClient,
    sim: WeComSimulator,
    kind: Any,
    source: Any,
    filename: Any,
    error: type[Exception],
    match: str,
) -> None:
    """A bad type, file name or source raises, naming what is wrong, with zero requests."""
    with pytest.raises(error, match=match):
        await kf.media.upload(kind, source, filename=filename)
    assert requests_sent(sim) == 0


class _Pipe(io.RawIOBase):
    """A readable binary stream that cannot seek (like a pipe or a socket)."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        buffer[:1] = b"x"
        return 1


async def test_non_seekable_file_is_refused(kf: KfClient, sim: WeComSimulator) -> None:
    """A file object a retry could not rewind raises ValueError before sending."""
    with pytest.raises(ValueError, match="not seekable"):
        await kf.media.upload("file", _Pipe(), filename="stream.bin")
    assert requests_sent(sim) == 0


async def test_directory_is_refused(kf: KfClient, sim: WeComSimulator, tmp_path: Path) -> None:
    """A path that is not a regular file raises ValueError."""
    with pytest.raises(ValueError, match="not a regular file"):
        await kf.media.upload("file", tmp_path)
    assert requests_sent(sim) == 0


# -- the simulator's checks (what WeCom answers a client that does not check) -------


async def post_upload(
    sim: WeComSimulator, kind: str | None = "image", **request: Any
) -> dict[str, Any]:
    """POST media/upload to *sim* as given (files=, data=, content=, headers=)."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim), base_url="http://sim"
    ) as http:
        token = await http.get(
            "/cgi-bin/gettoken", params={"corpid": sim.corp_id, "corpsecret": SIM_SECRET}
        )
        params = {"access_token": token.json()["access_token"]}
        if kind is not None:
            params["type"] = kind
        response = await http.post("/cgi-bin/media/upload", params=params, **request)
    answer: dict[str, Any] = response.json()
    return answer


@pytest.mark.parametrize(
    ("kind", "request_args", "errcode"),
    [
        ("gif", {"files": {"media": ("a.gif", b"GIF89a....")}}, 40004),
        (None, {"files": {"media": ("a.png", PNG)}}, 40004),
        ("image", {"json": {"media": "a.png"}}, 41005),
        ("image", {"files": {"file": ("a.png", PNG)}}, 41005),
        ("image", {"data": {"media": "not a file"}, "files": {"x": ("x", b"")}}, 41005),
        ("image", {"files": {"media": ("a.png", b"")}}, 44001),
        ("image", {"files": {"media": ("a.png", b"12345")}}, 40006),
        ("voice", {"files": {"media": ("a.amr", b"#" * (2 * MB + 1))}}, 40006),
    ],
)
async def test_simulator_checks_the_form(
    sim: WeComSimulator, kind: str | None, request_args: dict[str, Any], errcode: int
) -> None:
    """Type, the media field and its file name, emptiness and size each get their errcode."""
    answer = await post_upload(sim, kind, **request_args)
    assert answer["errcode"] == errcode
    assert sim.corp.media == {}


async def test_simulator_answers_like_wecom(sim: WeComSimulator) -> None:
    """A good upload answers type, media_id and created_at as a string of epoch seconds."""
    answer = await post_upload(sim, "file", files={"media": ("notes.txt", b"hello world")})
    assert answer["errcode"] == 0
    assert answer["type"] == "file"
    assert isinstance(answer["created_at"], str)
    assert answer["created_at"].isdigit()
    assert sim.corp.media[answer["media_id"]].filename == "notes.txt"


def test_add_media_and_demo_media(sim: WeComSimulator) -> None:
    """add_media seeds distinct ids; seed_demo adds DEMO_MEDIA_ID, an image."""
    first = sim.add_media()
    second = sim.add_media("file", filename="a.txt", size=10)
    assert first != second
    assert sim.corp.media[second].size == 10
    sim.seed_demo()
    assert sim.corp.media[DEMO_MEDIA_ID].type == "image"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"type": "image", "media_id": "m1", "created_at": "1700000000"}, MediaType.IMAGE),
        ({"type": "sticker", "media_id": "m1", "created_at": 1700000000, "x": 1}, "sticker"),
    ],
)
def test_uploaded_media_model(data: dict[str, Any], expected: Any) -> None:
    """created_at (a string, or tolerated an int) becomes UTC; an unknown type stays a str."""
    media = structure(data, UploadedMedia, path=UPLOAD)
    assert media.type == expected
    assert media.created_at == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)


# -- 20 MB streams from disk --------------------------------------------------------


def _peak_rss() -> int:
    """The process's peak resident set (VmHWM), in bytes."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/self/status")


def _reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")
    except OSError:
        return False
    return Path("/proc/self/status").exists()


async def test_upload_20mb_streams_from_disk(tmp_path: Path) -> None:
    """A 20 MB file goes over loopback with the client's peak RSS growing well under 10 MB."""
    if not _reset_peak_rss():
        pytest.skip("needs Linux /proc to measure the peak RSS")
    path = tmp_path / "big.bin"
    chunk = os.urandom(MB)
    with path.open("wb") as handle:
        for _ in range(20):
            handle.write(chunk)
    del chunk
    with serve_in_subprocess() as base_url:
        client = KfClient(corp_id=SIM_CORP_ID, secret=SIM_SECRET, base_url=base_url, timeout=60)
        async with client as kf:
            # Warm up every code path (imports, connection, token) before measuring.
            await kf.media.upload("file", PNG, filename="warmup.bin")
            _reset_peak_rss()
            baseline = _peak_rss()
            media = await kf.media.upload("file", path)
            growth = _peak_rss() - baseline
            async with httpx.AsyncClient() as http:
                stats = (await http.get(f"{base_url}/__sim__/stats")).json()
    assert growth < 10 * MB, f"peak RSS grew by {growth / MB:.1f} MB for a 20 MB upload"
    assert media.type is MediaType.FILE
    assert stats["calls"][UPLOAD] == 2
    assert stats["errors"] == {}


# -- CLI -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [("logo.PNG", "image"), ("hello.amr", "voice"), ("clip.mp4", "video"), ("notes.txt", "file")],
)
def test_cli_upload_type_from_extension(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, kind: str
) -> None:
    """`media upload FILE --simulate` picks the type from the extension and prints one line."""
    path = tmp_path / name
    path.write_bytes(PNG)
    assert main(["media", "upload", str(path), "--simulate"]) == 0
    out, _ = capsys.readouterr()
    (line,) = [json.loads(text) for text in out.splitlines()]
    assert line["type"] == kind
    assert line["media_id"]
    assert dt.datetime.fromisoformat(line["created_at"]).tzinfo is not None


def test_cli_upload_type_option_and_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--type overrides the extension; --format table prints a header and one row."""
    path = tmp_path / "logo.png"
    path.write_bytes(PNG)
    status = main(
        ["media", "upload", str(path), "--type", "file", "--simulate", "--format", "table"]
    )
    out, _ = capsys.readouterr()
    lines = out.splitlines()
    assert status == 0
    assert lines[0].split() == ["type", "media_id", "created_at"]
    assert lines[2].split()[0] == "file"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/nonexistent/x.png"], "no such file"),
        (["{tiny}"], "needs more than 5"),
        (["{tiny}", "--type", "gif"], "invalid choice"),
    ],
)
def test_cli_upload_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    """A missing file or a file WeCom would refuse exits 2 with a one-line message."""
    tiny = tmp_path / "tiny.png"
    tiny.write_bytes(b"abc")
    argv = ["media", "upload", *(arg.format(tiny=tiny) for arg in args), "--simulate"]
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse rejects an unknown --type itself
        status = int(str(exit_.code))
    _, err = capsys.readouterr()
    assert status == 2
    assert message in err


async def test_concurrent_uploads_of_one_path(
    kf: KfClient, sim: WeComSimulator, tmp_path: Path
) -> None:
    """Uploads of the same path at once each open their own handle and make their own id."""
    path = tmp_path / "shared.png"
    path.write_bytes(PNG)
    results = await asyncio.gather(*(kf.media.upload("image", path) for _ in range(5)))
    assert len({media.media_id for media in results}) == 5
    assert all(sim.corp.media[m.media_id].size == len(PNG) for m in results)
