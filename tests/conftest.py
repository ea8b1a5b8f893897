"""Shared fixtures: a private MAGSTATION_HOME per test, and a real engine process or an
in-process engine server on a short socket path."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["MAGSTATION_PLAYBACK"] = "null"  # engines the tests start record, never sound
os.environ["MAGSTATION_WARM"] = "0"  # engines the tests start skip the drum warm-up (one test turns it on)


HEAVY_MODULES = ("tensorflow", "keras", "magenta", "note_seq", "pretty_midi", "mido", "scipy")


def assert_tui_stays_light(home: Path, keys: list[str]) -> None:
    """Open the TUI in a fresh process, press `keys`, and check that no model or music
    library was imported (the TUI gets everything musical from the engine as JSON)."""
    code = (
        "import sys, asyncio\n"
        "from tui.app import MagstationApp\n"
        "async def main():\n"
        "    app = MagstationApp(connect_engine=False)\n"
        "    async with app.run_test() as pilot:\n"
        f"        for k in {keys!r}:\n"
        "            await pilot.press(k)\n"
        "asyncio.run(main())\n"
        f"bad = sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY_MODULES!r}))\n"
        "assert not bad, bad\n"
        "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "MAGSTATION_HOME": str(home)}, timeout=120)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr


@pytest.fixture
def short_tmp():
    """A short temp dir: AF_UNIX socket paths must stay under ~107 bytes."""
    d = Path(tempfile.mkdtemp(prefix="ms", dir="/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def mag_home(short_tmp, monkeypatch):
    monkeypatch.setenv("MAGSTATION_HOME", str(short_tmp))
    monkeypatch.delenv("MAGSTATION_SOCKET", raising=False)
    return short_tmp


def _wait_for_socket(path: Path, proc: subprocess.Popen, timeout: float = 180.0) -> None:
    from engine.launcher import engine_answers
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if engine_answers(path):
            return
        if proc.poll() is not None:
            raise RuntimeError(f"engine exited with {proc.returncode}")
        time.sleep(0.05)
    raise TimeoutError("engine did not start")


def start_engine_process(home: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "MAGSTATION_HOME": str(home), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "engine", *extra], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    return proc


@pytest.fixture
def engine_process(mag_home):
    """A real `python -m engine` on $MAGSTATION_HOME/engine.sock; killed afterwards."""
    procs: list[subprocess.Popen] = []

    def start(*extra: str) -> subprocess.Popen:
        proc = start_engine_process(mag_home, *extra)
        procs.append(proc)
        _wait_for_socket(mag_home / "engine.sock", proc)
        return proc

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=10)
        if p.stdout:
            p.stdout.close()


@pytest.fixture
def kill_spawned_engines(mag_home):
    """For tests where the TUI starts the engine itself: kill whatever answers there after."""
    yield mag_home
    subprocess.run(["pkill", "-f", f"engine --socket {mag_home}"], check=False)


async def close_engine_server(srv, threads_before: set[threading.Thread]) -> None:
    """Close an in-process EngineServer, then wait (with the event loop still running) for
    the job workers it started to finish the job they were on: a worker that outlived the
    test's loop would report that job's end to a closed loop."""
    await srv.close()
    workers = [t for t in threading.enumerate()
               if t not in threads_before and t.name.startswith("magstation-")
               and t.name.endswith("-worker")]

    def join() -> None:
        for t in workers:
            t.join(timeout=180)
    await asyncio.to_thread(join)


@pytest.fixture
async def server(mag_home):
    """The real EngineServer, in this test's event loop, on a private socket."""
    from engine.jobs import JobRunner, ResultCache
    from engine.server import EngineServer
    before = set(threading.enumerate())
    runner = JobRunner(work_root=mag_home / "jobs", cache=ResultCache(mag_home / "results"))
    srv = EngineServer(mag_home / "engine.sock", runner=runner)
    await srv.start()
    yield srv
    await close_engine_server(srv, before)


@pytest.fixture
async def connect(server):
    """connect(name) -> a connected EngineClient to the in-process server."""
    from engine.client import EngineClient
    clients = []

    async def make(name: str = "test") -> EngineClient:
        c = EngineClient(name)
        await c.connect_unix(server.socket_path)
        clients.append(c)
        return c

    yield make
    for c in clients:
        await c.close()


@pytest.fixture(autouse=True)
def _pilot_waits_for_the_app(monkeypatch):
    """Pilot.press sends one key at a time and waits until the app has handled it (and
    what it set off) before the next; Pilot.pause() waits the same way. See
    tests/tui_helpers.py: without this, a busy machine lets keys overtake each other."""
    from textual.pilot import Pilot

    from tests.tui_helpers import settle
    original_pause = Pilot.pause

    async def press(self, *keys: str) -> None:
        for key in keys:
            await self._app._press_keys([key])
            await settle(self)

    async def pause(self, delay: float | None = None) -> None:
        if delay is None:
            await settle(self)
        await original_pause(self, delay)

    monkeypatch.setattr(Pilot, "press", press)
    monkeypatch.setattr(Pilot, "pause", pause)


async def tcp_ping(port: int, token: str) -> dict:
    """Say hello with `token` over TCP and ping: what a remote listener's first call does."""
    from engine.client import EngineClient
    c = EngineClient("remote")
    await c.connect_tcp("127.0.0.1", port, token)
    try:
        return await c.call("engine.ping")
    finally:
        await c.close()


# Register the test-only methods in the real registry.
import tests.jobs_for_tests  # noqa: E402,F401
