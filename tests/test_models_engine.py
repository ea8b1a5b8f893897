"""The engine's models.* methods, through a real engine process with its own checkpoints
folder: list, import a fixture checkpoint, verify, remove, refuse to remove a starter
model, and pull from a local HTTP server with byte progress, cancel and resume."""

from __future__ import annotations

import asyncio
import io
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from engine.client import EngineClient
from engine.errors import BadRequest, CheckpointError, JobCancelled, ModelNotInstalled

FIXTURE = Path(__file__).parent / "fixtures" / "musicvae" / "cat-drums_2bar_small"
REAL_MANIFEST = Path(__file__).resolve().parent.parent / "checkpoints" / "manifest"
LOKL_URL = ("https://storage.googleapis.com/magentadata/models/music_vae/checkpoints/"
            "cat-drums_2bar_small.lokl.tar")


class HeldServer:
    """Serves one tar with HTTP Range. While `hold_after` is set, a response sends that many
    bytes, waits for `release`, then drops the connection (a download cut mid-way)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.hold_after: int | None = None
        self.release = threading.Event()
        self.ranges: list[str | None] = []
        srv = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                rng = self.headers.get("Range")
                srv.ranges.append(rng)
                start = int(rng.split("=")[1].split("-")[0]) if rng else 0
                self.send_response(206 if rng else 200)
                if rng:
                    self.send_header("Content-Range",
                                     f"bytes {start}-{len(srv.data) - 1}/{len(srv.data)}")
                body = srv.data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if srv.hold_after is not None:
                    self.wfile.write(body[:srv.hold_after])
                    self.wfile.flush()
                    srv.release.wait(120)
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def fixture_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for f in sorted(FIXTURE.glob("model.ckpt*")):
            tf.add(f, arcname=f"cat-drums_2bar_small.lokl/{f.name}")
    return buf.getvalue()


@pytest.fixture
def http_tar():
    s = HeldServer(fixture_tar())
    yield s
    s.close()


@pytest.fixture
def engine(engine_process, mag_home, monkeypatch, http_tar):
    """A real engine whose checkpoints folder is private and whose manifest downloads the
    lokl drum model from the local server."""
    ckdir = mag_home / "checkpoints"
    monkeypatch.setenv("MAGSTATION_CHECKPOINTS", str(ckdir))
    manifest = mag_home / "manifest"
    manifest.write_text(REAL_MANIFEST.read_text().replace(
        LOKL_URL, f"{http_tar.url}/cat-drums_2bar_small.lokl.tar"))
    monkeypatch.setenv("MAGSTATION_MANIFEST", str(manifest))
    engine_process()
    return ckdir


async def connect(home: Path) -> EngineClient:
    c = EngineClient("test")
    await c.connect_unix(home / "engine.sock")
    return c


def by_name(listing: dict) -> dict[str, dict]:
    return {m["name"]: m for m in listing["models"]}


async def test_list_import_verify_remove(engine, mag_home):
    c = await connect(mag_home)
    try:
        listing = await c.call("models.list")
        rows = by_name(listing)
        assert listing["checkpoints_dir"] == str(engine)
        assert not rows["cat-drums_2bar_small.hikl"]["installed"]
        assert rows["cat-drums_2bar_small.hikl"]["can_pull"]
        assert "drum grid" in rows["cat-drums_2bar_small.hikl"]["used_by"][0]
        assert rows["nsynth-wavenet"]["used_by"] == ["latent mix"]
        starter = rows["starter-drums_2bar"]
        assert starter["installed"] and starter["shipped"] and not starter["can_remove"]

        # import under an official name: installed, and where it lives is reported
        res = await c.call("models.import", {"path": str(FIXTURE),
                                             "name": "cat-drums_2bar_small.hikl"})
        assert res["name"] == "cat-drums_2bar_small.hikl"
        assert Path(res["path"]).parent == engine / "cat-drums_2bar_small.hikl"
        row = by_name(await c.call("models.list"))["cat-drums_2bar_small.hikl"]
        assert row["installed"] and row["can_remove"] and row["disk_size"] > 0
        assert row["path"] == res["path"]

        # the fixture has the official names but small widths: verify names the variable
        ver = await c.call("models.verify", {"name": "cat-drums_2bar_small.hikl"})
        assert not ver["ok"] and ver["checked"] >= 1
        assert any("expected" in p and "lstm_cell/kernel" in p for p in ver["problems"])
        assert ver["fix"] == "magstation models pull cat-drums_2bar_small.hikl --force"

        # under a name of its own, without a family: every variable is read
        res = await c.call("models.import", {"path": str(FIXTURE), "name": "my-drums"})
        ver = await c.call("models.verify", {"name": "my-drums"})
        assert ver["ok"] and ver["checked"] > 10 and ver["notes"]
        assert by_name(await c.call("models.list"))["my-drums"]["custom"]

        # a bad path gets the CLI's message
        with pytest.raises(Exception, match="no such file, folder or checkpoint prefix"):
            await c.call("models.import", {"path": str(mag_home / "nothing-here")})
        junk = mag_home / "junk"
        junk.mkdir()
        (junk / "notes.txt").write_text("not a checkpoint")
        with pytest.raises(CheckpointError, match="no musicvae checkpoint found"):
            await c.call("models.import", {"path": str(junk), "name": "cat-mel_2bar_big"})

        # remove: gone from disk and from the list; starter models are refused
        res = await c.call("models.remove", {"name": "cat-drums_2bar_small.hikl"})
        assert not (engine / "cat-drums_2bar_small.hikl").exists()
        assert not by_name(await c.call("models.list"))["cat-drums_2bar_small.hikl"]["installed"]
        await c.call("models.remove", {"name": "my-drums"})
        assert "my-drums" not in by_name(await c.call("models.list"))
        with pytest.raises(BadRequest, match="ships with magstation"):
            await c.call("models.remove", {"name": "starter-drums_2bar"})
        assert (Path(starter["install_dir"]) / "train.json").is_file()
        with pytest.raises(ModelNotInstalled, match="is not installed"):
            await c.call("models.remove", {"name": "cat-drums_2bar_small.hikl"})
    finally:
        await c.close()


async def test_pull_progress_cancel_and_resume(engine, mag_home, http_tar):
    size = len(http_tar.data)
    http_tar.hold_after = size // 3
    c = await connect(mag_home)
    try:
        events: list[dict] = []
        got_bytes = asyncio.Event()

        def progress(msg: dict) -> None:
            events.append(msg)
            if msg["message"].startswith("downloading") and msg["done"] > 0:
                got_bytes.set()

        req = await c.start("models.pull", {"name": "cat-drums_2bar_small.lokl"}, progress)
        await got_bytes.wait()
        assert events[-1]["total"] == size  # bytes, for percent and ETA
        await req.cancel()
        await c.call("engine.ping")  # the engine has read the cancel before the cut
        http_tar.release.set()
        with pytest.raises(JobCancelled, match="the next pull resumes it"):
            await req.result()
        row = by_name(await c.call("models.list"))["cat-drums_2bar_small.lokl"]
        assert not row["installed"]
        kept = row["partial_bytes"]
        assert 0 < kept < size

        http_tar.hold_after = None
        events.clear()
        res = await c.call("models.pull", {"name": "cat-drums_2bar_small.lokl"}, progress)
        assert res["resumed_from"] == kept
        assert http_tar.ranges[-1] == f"bytes={kept}-"
        downloading = [e for e in events if e["message"].startswith("downloading")]
        assert downloading[-1]["done"] == downloading[-1]["total"] == size
        row = by_name(await c.call("models.list"))["cat-drums_2bar_small.lokl"]
        assert row["installed"] and row["partial_bytes"] == 0
        assert not (engine / ".downloads" / "cat-drums_2bar_small.lokl.tar.part").exists()
    finally:
        await c.close()


async def test_imports_do_not_wait_behind_model_jobs(connect, mag_home, monkeypatch):
    """Transfers (pull, import, verify) have a worker of their own: an import finishes while
    a long model job holds the model worker."""
    monkeypatch.setenv("MAGSTATION_CHECKPOINTS", str(mag_home / "checkpoints"))
    c = await connect()
    started = asyncio.Event()
    busy = await c.start("engine.sleep", {"seconds": 600, "steps": 6000},
                         lambda msg: started.set())
    await started.wait()
    res = await c.call("models.import", {"path": str(FIXTURE), "name": "my-drums"})
    assert Path(res["path"]).is_file() or Path(res["path"] + ".index").is_file()
    status = await c.call("engine.status")
    assert any(j["method"] == "engine.sleep" and j["state"] == "running" for j in status["jobs"])
    await busy.cancel()
    with pytest.raises(JobCancelled):
        await busy.result()
