"""Scripted sessions shared by the recorder (tests/reference/record_engine_sessions.py,
against the real engine) and the snapshot tests (tests/test_snapshots.py, against its
recording): the same keys, so the replay meets the same requests."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable

from tests.tui_helpers import wait_until
from tui.panes.drum_grid import DrumGridPane
from tui.panes.library import LibraryPane

ROOT = Path(__file__).resolve().parent.parent
MUSICVAE = ROOT / "tests" / "fixtures" / "musicvae"
DRUM_MODELS = {
    role: {"checkpoint": str(MUSICVAE / name), "config": name}
    for role, name in [("sample", "cat-drums_2bar_small"), ("interpolate", "cat-drums_2bar_small"),
                       ("humanize", "groovae_2bar_humanize"),
                       ("tap", "groovae_2bar_tap_fixed_velocity")]}
SOUNDS = ROOT / "sounds"
MIDI = ROOT / "midi" / "cs1-1pre-short.mid"
GANSYNTH = ROOT / "tests" / "fixtures" / "gansynth" / "tiny_ckpt"
CONTINUE_BUNDLE = ROOT / "tests" / "fixtures" / "melody_rnn" / "attention_rnn.mag"
NSYNTH = ROOT / "tests" / "fixtures" / "nsynth" / "ckpt"


async def _ready(pilot) -> None:
    await wait_until(pilot, lambda: pilot.app.engine.state == "ready")


async def _drums_made(pilot, count: int) -> None:
    g = pilot.app.query_one(DrumGridPane)
    await wait_until(pilot, lambda: len(g.state.history) >= count and not g.busy)


async def drums_humanized(pilot) -> None:
    """A sampled pattern, then humanized by GrooVAE (velocities and timing)."""
    await _ready(pilot)
    await pilot.press("s")
    await _drums_made(pilot, 1)
    await pilot.press("h")
    await _drums_made(pilot, 2)


async def drums_looping(pilot) -> None:
    """The humanized pattern looping (enter): the engine's transport says it plays."""
    await drums_humanized(pilot)
    await pilot.press("enter")
    g = pilot.app.query_one(DrumGridPane)
    await wait_until(pilot, lambda: g.playing and pilot.app.engine.transport.get("playing"))


async def drums_chain(pilot) -> None:
    """Two samples in slots A and B and the interpolated chain between them."""
    await _ready(pilot)
    await pilot.press("s")
    await _drums_made(pilot, 1)
    await pilot.press("a", "s")
    await _drums_made(pilot, 2)
    await pilot.press("b", "i")
    await _drums_made(pilot, 3)
    g = pilot.app.query_one(DrumGridPane)
    await wait_until(pilot, lambda: len(g.state.chain) > 1)


async def library_sounds(pilot) -> None:
    """The repository's sounds/ folder added to the library, every sound listed and the
    selected one's waveform drawn."""
    await _ready(pilot)
    await pilot.press("1")
    p = pilot.app.query_one(LibraryPane)
    await wait_until(pilot, lambda: p.loaded and not p.scanning and not p.busy)
    await pilot.press("a", *str(SOUNDS), "enter")
    names = {f.name for f in SOUNDS.glob("*.wav")}
    await wait_until(pilot, lambda: names <= {s["name"] for s in p.sounds.values()})
    await wait_until(pilot, lambda: not p.scanning and not p.busy)
    from tui.widgets.waveform import WaveformView
    view = p.query_one(WaveformView)
    await wait_until(pilot, lambda: view.overview is not None
                     and view.overview["path"] == p.state.selected)


async def timeline_continued(pilot) -> None:
    """The repository's MIDI file on the timeline, a keyframe added at 1 s, and a
    continuation of the first 2 s of the first track proposed (not yet accepted)."""
    from tui.panes.timeline import TimelinePane
    from tui.widgets.problem_line import ProblemLine
    from tui.widgets.prompt import AskText
    app = pilot.app
    await _ready(pilot)
    await pilot.press("3", "o")
    await wait_until(pilot, lambda: isinstance(app.screen, AskText))
    app.screen.query_one("#answer").value = str(MIDI)
    await pilot.press("enter")
    p = app.query_one(TimelinePane)
    problems = p.query_one(ProblemLine).problems
    await wait_until(pilot, lambda: p.song is not None or problems)
    assert p.song is not None, problems
    await pilot.press(*["right"] * 8, "i")
    await pilot.press("home", "b", *["right"] * 16, "C")
    await wait_until(pilot, lambda: (p.proposal is not None and not p.busy) or problems)
    assert p.proposal is not None, problems


async def mix_encoded(pilot) -> None:
    """Two kit sounds in the mixer, both encoded by the NSynth fixture (their latent plots)."""
    from tui.panes.latent_mix import LatentMixPane
    await _ready(pilot)
    p = pilot.app.query_one(LatentMixPane)
    await wait_until(pilot, lambda: all(s in p.state.plots for s in p.sources) and not p.busy)


@dataclass(frozen=True)
class Scenario:
    name: str  # the recording is tests/fixtures/recorded/NAME.jsonl
    size: tuple[int, int]
    run: Callable[[Any], Awaitable[None]]
    session: dict[str, Any] | None = None  # session.json written before the app starts

    def prepare(self, home: Path) -> None:
        """Before the app starts: its session, and Python's random numbers (the timeline
        draws keyframe and continuation seeds itself, so a replay asks the same)."""
        random.seed(RANDOM_SEED)
        if self.session is not None:
            (home / "session.json").write_text(json.dumps(self.session))


RANDOM_SEED = 18
DRUM_SESSION = {"version": 1, "pane": "drums", "panes": {"drums": {"model_overrides": DRUM_MODELS}}}
TIMELINE_SESSION = {"version": 1, "pane": "timeline", "panes": {"timeline": {
    "checkpoint": str(GANSYNTH), "continue_checkpoint": str(CONTINUE_BUNDLE)}}}
MIX_SESSION = {"version": 1, "pane": "mix", "panes": {"mix": {
    "sources": [str(SOUNDS / "kit" / "kick.wav"), str(SOUNDS / "kit" / "snare.wav")],
    "model_overrides": {"nsynth": {"checkpoint": str(NSYNTH)}}}}}
SCENARIOS = {s.name: s for s in [
    Scenario("drums_humanized", (130, 36), drums_humanized, DRUM_SESSION),
    Scenario("drums_looping", (130, 36), drums_looping, DRUM_SESSION),
    Scenario("drums_chain", (130, 36), drums_chain, DRUM_SESSION),
    Scenario("timeline_continued", (120, 40), timeline_continued, TIMELINE_SESSION),
    Scenario("mix_encoded", (120, 36), mix_encoded, MIX_SESSION),
    Scenario("library_80x24", (80, 24), library_sounds),
    Scenario("library_200x50", (200, 50), library_sounds),
]}
