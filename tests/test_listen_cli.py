"""`magstation listen` as a user runs it: a real listener process against a real engine
over TCP with a token file; what it prints per audition and when it ends."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading

import numpy as np
import pytest
import soundfile as sf

from engine.audio.playback import LocalBackend, NullBackend
from engine.client import EngineClient
from engine.errors import PlaybackUnavailable
from engine.listener import NoListenerDevice, open_listener_backend
from engine.server import EngineServer
from tests.conftest import ROOT, close_engine_server

TOKEN = "listen-cli-token"
CLI = [sys.executable, "-c",
       "import sys; from engine.cli import main; sys.exit(main(sys.argv[1:]))"]


@pytest.fixture
async def tcp_server(mag_home):
    before = set(threading.enumerate())
    srv = EngineServer(None, ("127.0.0.1", 0), token=TOKEN, playback="null")
    await srv.start()
    yield srv
    await close_engine_server(srv, before)


def token_file(tmp_path, text: str):
    path = tmp_path / "token"
    path.write_text(text + "\n")
    path.chmod(0o600)
    return path


async def listen(srv, tok) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *CLI, "listen", "--connect", f"127.0.0.1:{srv.tcp_port}", "--token-file", str(tok),
        "--backend", "null", cwd=ROOT, env={**os.environ, "MAGSTATION_TOKEN": ""},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def line_with(stream: asyncio.StreamReader, text: str) -> str:
    while True:
        line = (await stream.readline()).decode()
        if not line:
            raise AssertionError(f"the listener ended before printing {text!r}")
        if text in line:
            return line


async def test_listen_prints_each_sound_and_sums_up_when_killed(tcp_server, tmp_path):
    """name, length and level per audition; SIGTERM (a closed SSH session) ends it like
    ctrl+c, with the summary."""
    t = np.arange(16000 * 2) / 16000
    wav = tmp_path / "tone.wav"
    sf.write(wav, (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000, subtype="FLOAT")
    proc = await listen(tcp_server, token_file(tmp_path, TOKEN))
    await line_with(proc.stderr, "listening to the engine at 127.0.0.1:")
    ctl = EngineClient("tui")
    await ctl.connect_tcp("127.0.0.1", tcp_server.tcp_port, TOKEN)
    await ctl.call("audio.play", {"path": str(wav), "label": "kick 3"})
    heard = await line_with(proc.stdout, "♪")
    assert heard.strip() == "♪ kick 3: 2.00 s at 16000 Hz, peak -6 dBFS"
    proc.send_signal(signal.SIGTERM)
    rest = (await proc.stderr.read()).decode()
    assert await proc.wait() == 0
    assert "magstation listen: heard 1 sound (2.0 s) over 1 connection" in rest
    await ctl.close()


async def test_listen_with_a_wrong_token_stops_with_the_reason(tcp_server, tmp_path):
    proc = await listen(tcp_server, token_file(tmp_path, "not-the-token"))
    _, err = await proc.communicate()
    assert proc.returncode == 2
    lines = err.decode().strip().splitlines()
    assert lines[-1].startswith("magstation listen: stopped: the engine at") and "token" in lines[-1]
    assert sum("token" in line for line in lines) == 1  # the reason once, not twice


def no_device_here() -> bool:
    try:
        LocalBackend().close()
    except PlaybackUnavailable:
        return True
    return False


@pytest.mark.skipif(not no_device_here(), reason="this machine has a sound device")
def test_a_listener_without_a_device_gets_its_own_advice():
    """Not the engine's "listen through an SSH tunnel": the listener is that end already."""
    with pytest.raises(NoListenerDevice) as e:
        open_listener_backend("local")
    msg = str(e.value)
    assert "no sound device here" in msg and "--backend null" in msg
    assert "tunnel" not in msg and "remote listener" not in msg
    backend, warning = open_listener_backend("auto")
    assert isinstance(backend, NullBackend) and backend.note in warning
    assert "received but not heard" in warning and "tunnel" not in warning


def test_null_backend_needs_no_warning():
    backend, warning = open_listener_backend("null")
    assert isinstance(backend, NullBackend) and warning == ""
