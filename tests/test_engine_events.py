"""State the engine pushes (never polled): the player's transport and where sound goes."""

from __future__ import annotations

import asyncio

import numpy as np
import soundfile as sf

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
