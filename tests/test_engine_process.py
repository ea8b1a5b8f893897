"""The engine as its own process: start, stop, crash and restart, stale sockets, the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys

from engine import launcher
from engine.client import EngineClient
from tests.conftest import ROOT, start_engine_process


def magstation(home, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "MAGSTATION_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", "import sys; from engine.cli import main; sys.exit(main())",
                           *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


async def status_of(sock) -> dict:
    c = EngineClient("probe")
    await c.connect_unix(sock)
    try:
        return await c.call("engine.status")
    finally:
        await c.close()


def test_start_status_stop_through_the_cli(engine_process, mag_home):
    proc = engine_process()
    sock = mag_home / "engine.sock"
    out = magstation(mag_home, "engine", "status")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["pid"] == proc.pid
    out = magstation(mag_home, "run", "--engine", "engine.sleep", '{"seconds": 0.1, "steps": 2}')
    assert json.loads(out.stdout) == {"slept_s": 0.1, "steps": 2}
    assert magstation(mag_home, "engine", "stop").returncode == 0
    assert proc.wait(timeout=120) == 0
    assert not sock.exists()


def test_second_engine_on_the_same_socket_is_refused(engine_process, mag_home):
    first = engine_process()
    second = start_engine_process(mag_home)
    out, _ = second.communicate(timeout=120)
    assert second.returncode == 3
    assert b"already serving" in out
    assert asyncio.run(status_of(mag_home / "engine.sock"))["pid"] == first.pid


def test_stale_socket_from_a_crashed_engine_is_replaced(engine_process, mag_home):
    sock = mag_home / "engine.sock"
    crashed = engine_process()
    os.kill(crashed.pid, signal.SIGKILL)
    crashed.wait(timeout=120)
    assert sock.exists() and not launcher.engine_answers(sock)  # left behind by the crash
    fresh = engine_process()
    assert asyncio.run(status_of(sock))["pid"] == fresh.pid


def test_a_plain_file_in_the_way_is_replaced_too(engine_process, mag_home):
    (mag_home / "engine.sock").write_text("junk")
    proc = engine_process()
    assert asyncio.run(status_of(mag_home / "engine.sock"))["pid"] == proc.pid


def test_ensure_engine_starts_one_on_demand_and_reuses_it(kill_spawned_engines):
    sock = kill_spawned_engines / "engine.sock"
    proc = launcher.ensure_engine(sock)
    try:
        assert proc is not None and launcher.engine_answers(sock)
        assert launcher.ensure_engine(sock) is None  # already there: nothing started
        assert asyncio.run(status_of(sock))["pid"] == proc.pid
    finally:
        proc.kill()
        proc.wait(timeout=120)


def test_tcp_listening_requires_a_token(mag_home):
    out = magstation(mag_home, "engine", "--tcp", "127.0.0.1:0")
    assert out.returncode == 2 and "--token" in out.stderr


def test_tcp_with_token(engine_process, mag_home):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    engine_process("--tcp", f"127.0.0.1:{port}", "--token", "tok")

    async def talk() -> dict:
        c = EngineClient("remote")
        for _ in range(50):
            try:
                await c.connect_tcp("127.0.0.1", port, "tok")
                break
            except ConnectionError:
                await asyncio.sleep(0.1)
        try:
            return await c.call("engine.ping")
        finally:
            await c.close()
    assert asyncio.run(talk())["pong"]


def test_cli_runs_a_method_in_process_and_lists_methods(mag_home):
    out = magstation(mag_home, "run", "engine.sleep", '{"seconds": 0, "steps": 1}')
    assert out.returncode == 0 and json.loads(out.stdout)["steps"] == 1
    out = magstation(mag_home, "methods")
    assert "engine.sleep" in out.stdout and "engine.status" in out.stdout
    out = magstation(mag_home, "run", "engine.sleep", '{"seconds": -1}')
    assert out.returncode == 2 and "`seconds` must be" in out.stderr
    out = magstation(mag_home, "run", "no.such.method")
    assert out.returncode == 2 and "unknown method" in out.stderr
