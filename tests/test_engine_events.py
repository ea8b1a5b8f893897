"""State the engine pushes (never polled): the player's transport and where sound goes."""

from __future__ import annotations

import asyncio

import numpy as np
import soundfile as sf

from rich.text import Text

from engine.client import EngineClient
from tui.widgets.status_bar import output_label


class Events:
    """Collects one client's events; `wait(pred)` returns the first that matches."""

    def __init__(self, client: EngineClient) -> None:
        self.queue: asyncio.Queue[dict] = asyncio.Queue()
        client.on_event = lambda msg, blob: self.queue.put_nowait(msg)

    async def wait(self, pred) -> dict:
        while True:
            msg = await asyncio.wait_for(self.queue.get(), 120)  # only a hang reaches this
            if pred(msg):
                return msg


async def test_transport_changes_are_pushed_with_a_clock_to_move_the_playhead(connect, tmp_path):
    wav = tmp_path / "tone.wav"
    sf.write(wav, np.sin(np.arange(16000) / 10).astype(np.float32) * 0.2, 16000)
    c = await connect("ui")
    ev = Events(c)
    await c.call("engine.subscribe", {"topics": ["transport"]})
    first = await ev.wait(lambda m: m["event"] == "transport")
    assert first["transport"]["playing"] is False  # the current state comes at once
    await c.call("audio.play", {"path": str(wav), "loop": True, "label": "tone"})
    playing = await ev.wait(lambda m: m["event"] == "transport" and m["transport"]["playing"])
    t = playing["transport"]
    assert t["label"] == "tone" and t["loop"] is True and t["duration_s"] == 1.0
    assert isinstance(t["at"], float)
    await c.call("audio.stop")
    stopped = await ev.wait(lambda m: m["event"] == "transport" and not m["transport"]["playing"])
    assert stopped["transport"]["label"] == "tone"


async def test_output_says_where_sound_goes_and_counts_listeners(connect):
    ui = await connect("ui")
    ev = Events(ui)
    await ui.call("engine.subscribe", {"topics": ["output"]})
    first = await ev.wait(lambda m: m["event"] == "output")
    assert first["output"]["device"] == "null" and first["output"]["listeners"] == 0
    assert "nothing hears it" in output_label(first["output"])
    assert "magstation listen" in output_label(first["output"])
    listener = await connect("listener")
    await listener.call("engine.subscribe", {"topics": ["audio"]})
    joined = await ev.wait(lambda m: m["event"] == "output" and m["output"]["listeners"] == 1)
    assert "1 listener" in output_label(joined["output"])
    await listener.close()
    left = await ev.wait(lambda m: m["event"] == "output" and m["output"]["listeners"] == 0)
    assert left["output"]["device"] == "null"


def test_a_started_engine_warms_the_default_drum_model_by_itself(mag_home, monkeypatch):
    """With MAGSTATION_WARM on (the default outside tests), the engine queues a warm-up
    of the default drum model as its own job, which runs and finishes unasked."""
    from tests.conftest import _wait_for_socket, start_engine_process

    monkeypatch.setenv("MAGSTATION_WARM", "1")
    proc = start_engine_process(mag_home)
    try:
        _wait_for_socket(mag_home / "engine.sock", proc)

        async def watch() -> list[list[dict]]:
            c = EngineClient("watch")
            await c.connect_unix(mag_home / "engine.sock")
            snapshots: asyncio.Queue[list[dict]] = asyncio.Queue()
            c.on_event = lambda m, b: snapshots.put_nowait(m.get("jobs") or []) if m["event"] == "jobs" else None
            seen = []
            await c.call("engine.subscribe", {"topics": ["jobs"]})
            while True:  # the warm-up shows, then leaves the list
                jobs = await asyncio.wait_for(snapshots.get(), 300)
                seen.append(jobs)
                if any(j["method"] == "engine.warm" for s in seen for j in s) and not jobs:
                    await c.close()
                    return seen
        seen = asyncio.run(watch())
        warm = [j for s in seen for j in s if j["method"] == "engine.warm"]
        assert warm and warm[0]["owner"] == "engine"
    finally:
        proc.kill()
        proc.wait(timeout=30)


def test_the_engine_the_tui_starts_listens_on_tcp_from_config_even_after_a_restart(mag_home):
    """config.toml's [engine] tcp + token_file: the engine the TUI starts (launcher) takes
    them, and so does the one a restart brings back: a listener reaches both."""
    from engine import launcher
    from tests.conftest import tcp_ping
    from tests.test_hostile_requests import _free_port

    token = mag_home / "token"
    token.write_text("t0ken\n")
    token.chmod(0o600)
    port = _free_port()
    (mag_home / "config.toml").write_text(
        f'[engine]\ntcp = "127.0.0.1:{port}"\ntoken_file = "{token}"\nplayback = "null"\n')

    for _ in range(2):  # first start, then a restart after the engine died
        proc = launcher.ensure_engine(mag_home / "engine.sock")
        assert proc is not None and "t0ken" not in " ".join(proc.args)
        try:
            assert asyncio.run(tcp_ping(port, "t0ken"))["pong"]
        finally:
            proc.kill()
            proc.wait(timeout=30)


def test_a_bad_config_names_the_file_and_the_fix(mag_home):
    import pytest

    from engine.config import ConfigError, engine_args, load_engine_config

    (mag_home / "config.toml").write_text('[engine]\ntcp = "somewhere"\n')
    with pytest.raises(ConfigError, match="config.toml"):
        load_engine_config()
    (mag_home / "config.toml").write_text('[engine]\ntcp = "127.0.0.1:7171"\n')
    with pytest.raises(ConfigError, match="no token.*MAGSTATION_TOKEN"):
        engine_args(load_engine_config())


async def test_a_request_made_while_the_engine_restarts_waits_and_then_runs(kill_spawned_engines):
    """The TUI's link: the engine dies; a request sent before it is back waits for the
    restarted engine instead of failing with 'not connected'."""
    import os
    import signal

    from tui.engine_link import READY, EngineLink
    from tui.messages import EngineStateChanged

    class Sink:  # what the link posts to: the app's message queue
        def __init__(self) -> None:
            self.states: asyncio.Queue[str] = asyncio.Queue()

        def post_message(self, msg) -> None:
            if isinstance(msg, EngineStateChanged):
                self.states.put_nowait(msg.state)

    sink = Sink()
    link = EngineLink(sink, kill_spawned_engines / "engine.sock", retry_delays=(0.05,))
    link.start()
    try:
        while await asyncio.wait_for(sink.states.get(), 120) != READY:
            pass
        first_pid = link.pid
        os.kill(first_pid, signal.SIGKILL)
        while link.client is not None and link.client.connected:  # until the link notices
            await asyncio.wait_for(sink.states.get(), 120)
        pong = await asyncio.wait_for(link.call("engine.ping"), 120)  # sent while it is down
        assert pong["pong"] and link.pid != first_pid and link.restarts == 1
    finally:
        await link.stop()


def test_config_is_pushed_and_the_fix_names_the_engines_tcp_address(engine_process, mag_home):
    """A subscriber gets the engine's config once: its socket and TCP address. When nothing
    can hear the engine, the status bar's fix is the tunnel to that address, not a
    generic hint; without TCP it says how to turn it on."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    engine_process("--tcp", f"127.0.0.1:{port}", "--token", "tok")

    async def subscribe() -> tuple[dict, dict]:
        c = EngineClient("ui")
        await c.connect_unix(mag_home / "engine.sock")
        ev = Events(c)
        await c.call("engine.subscribe", {"topics": ["config", "output"]})
        config = await ev.wait(lambda m: m["event"] == "config")
        output = await ev.wait(lambda m: m["event"] == "output")
        await c.close()
        return config["config"], output["output"]

    config, output = asyncio.run(subscribe())
    assert config["tcp"] == f"127.0.0.1:{port}" and config["socket"] == str(mag_home / "engine.sock")
    assert config["playback"] == "null" and config["model_budget_mb"] > 0
    label = output_label(output, config)
    assert f"ssh -L {port}:127.0.0.1:{port}" in label
    assert f"magstation listen --connect 127.0.0.1:{port}" in label
    no_tcp = output_label(output, {"tcp": None})
    assert "set [engine] tcp in config.toml" in Text.from_markup(no_tcp).plain  # shown as written
