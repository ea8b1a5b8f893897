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
