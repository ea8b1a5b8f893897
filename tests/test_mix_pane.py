"""The latent mix pane with a real engine and the small NSynth fixture: sources from the
library and from a path, sliders and the XY pad (checked in the recipe each render sends),
encodings, renders with progress, cancel keeping partial audio, audition, keep with the
recipe, and rendering a kept recipe again."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import numpy as np
import pytest
import soundfile as sf

from tests.test_tui import eventually, wait_until
from tui.app import MagstationApp
from tui.pane_state import MixPlot, MixRecipe, MixRender, MixState
from tui.panes.latent_mix import LatentMixPane
from tui.widgets.mix_renders import render_line
from tui.messages import SendToMix
from tui.panes.library import LibraryPane
from tui.widgets.problem_line import ProblemLine
from tui.widgets.prompt import AskText, Choose

CKPT = str(Path(__file__).parent / "fixtures" / "nsynth" / "ckpt")
OVERRIDES = {"nsynth": {"checkpoint": CKPT}}
RATE = 16000
SIZE = (120, 36)


def tone(path: Path, hz: float, seconds: float, square: bool = False) -> str:
    t = np.arange(int(seconds * RATE)) / RATE
    x = np.sin(2 * np.pi * hz * t)
    sf.write(path, (0.5 * (np.sign(x) if square else x)).astype(np.float32), RATE, subtype="FLOAT")
    return str(path)


def make_app(home: Path, sources: list[str]) -> MagstationApp:
    session = {"version": 1, "pane": "mix",
               "panes": {"mix": {"sources": sources, "model_overrides": OVERRIDES}}}
    (home / "session.json").write_text(json.dumps(session))
    return MagstationApp()


def pane(app) -> LatentMixPane:
    return app.query_one(LatentMixPane)


async def encoded(pilot, app) -> None:
    p = pane(app)
    await wait_until(pilot, lambda: all(s in p.state.plots for s in p.sources) and not p.busy)


async def rendered(pilot, app, count: int) -> MixRender:
    renders = pane(app).state.renders
    await wait_until(pilot, lambda: len(renders) >= count and renders[count - 1].status
                     not in ("queued", "running"), 120)
    return renders[count - 1]


async def type_answer(pilot, app, text: str) -> None:
    await wait_until(pilot, lambda: isinstance(app.screen, AskText))
    app.screen.query_one("Input").value = text
    await pilot.press("enter")
    await pilot.pause()


async def playing(pilot, app, label: str) -> dict:
    """The engine's audition status once it plays `label`."""
    async def status() -> dict | None:
        st = await app.engine.call("audio.status")
        return st if st.get("label") == label else None
    return await eventually(pilot, status)


def wav(path: str) -> np.ndarray:
    return sf.read(path, dtype="float32")[0]


async def test_blend_render_keep_and_render_again(kill_spawned_engines, tmp_path):
    a = tone(tmp_path / "sine.wav", 440, 0.2)
    b = tone(tmp_path / "square.wav", 220, 0.2, square=True)
    c = tone(tmp_path / "low.wav", 110, 0.2)
    d = tone(tmp_path / "high.wav", 880, 0.15, square=True)
    app = make_app(kill_spawned_engines, [a, b])  # as the library pane sends them (m)
    async with app.run_test(size=SIZE) as pilot:
        p = pane(app)
        await encoded(pilot, app)
        assert len(p.state.plots[a].plot) == 16 and p.state.plots[a].frames == 6
        assert p.state.plots[a].plot != p.state.plots[b].plot
        # add a file by path, then take it out again
        await pilot.press("o")
        await type_answer(pilot, app, c)
        assert p.sources == [a, b, c] and p.state.selected == 2
        await encoded(pilot, app)
        await pilot.press("d")
        assert p.sources == [a, b]
        # sliders: A up to 0.75, B down to 0.25
        await pilot.press("up", *["right"] * 5, "down", *["left"] * 5)
        assert p.state.weights == [0.75, 0.25]
        assert p.mix_weights() == [0.75, 0.25]
        await pilot.press("r")
        first = await rendered(pilot, app, 1)
        assert first.status == "done"
        assert first.recipe.weights == [0.75, 0.25] and first.recipe.xy is None
        assert first.recipe.checkpoint == CKPT and isinstance(first.recipe.seed, int)
        assert wav(first.wav_path).shape == (6 * 512,) and first.samples == 6 * 512
        assert p.state.seed == first.recipe.seed
        # audition: the selected source (B), then the result
        await pilot.press("space")
        status = await playing(pilot, app, "source B: square.wav")
        assert status["duration_s"] == pytest.approx(0.2)
        await pilot.press("enter")
        status = await playing(pilot, app, "mix #1")
        assert status["duration_s"] == pytest.approx(6 * 512 / RATE)

        # the XY pad with four corners: the recipe carries the pad point
        for extra in (c, d):
            await pilot.press("o")
            await type_answer(pilot, app, extra)
        await encoded(pilot, app)
        await pilot.press("x", "right", "right", *["up"] * 4, "right_square_bracket")
        assert p.state.mode == "xy" and p.state.xy == [0.6, 0.3]
        assert p.mix_weights() == pytest.approx([0.28, 0.42, 0.12, 0.18])
        await pilot.press("r")
        second = await rendered(pilot, app, 2)
        assert second.recipe.xy == [0.6, 0.3] and second.recipe.weights is None
        assert second.recipe.stretch == 1.25 and second.recipe.sources == [a, b, c, d]
        # the shortest source (0.15 s: 4 frames) sets the length; stretched ×1.25 -> 5 frames
        assert second.status == "done" and wav(second.wav_path).shape == (5 * 512,)

        # keep the first result in the library with its recipe
        await pilot.press("p")
        assert p.selected_result is first
        await pilot.press("k")
        await type_answer(pilot, app, "slider take")
        await wait_until(pilot, lambda: first.kept)
        kept = first.kept
        assert Path(kept).name == "slider-take.wav"
        np.testing.assert_array_equal(wav(kept), wav(first.wav_path))
        listed = await app.engine.call("library.list", {"text": "slider-take"})
        assert [s["path"] for s in listed["sounds"]] == [kept]
        assert set(listed["sounds"][0]["tags"]) == {"nsynth", "mix"}
        recipe = (await app.engine.call("mix.recipe", {"path": kept}))["recipe"]
        assert recipe == msgspec.to_builtins(first.recipe)
        assert recipe["weights"] == [0.75, 0.25] and recipe["sources"] == [a, b]

        # render the kept recipe again from the list of kept mixes: the same sound
        await pilot.press("y")
        await wait_until(pilot, lambda: isinstance(app.screen, Choose))
        await pilot.press("enter")
        third = await rendered(pilot, app, 3)
        assert p.sources == [a, b] and p.state.mode == "sliders" and p.state.seed_locked
        assert third.recipe.seed == recipe["seed"]
        np.testing.assert_array_equal(wav(third.wav_path), wav(kept))

    # everything was autosaved
    saved = json.loads((kill_spawned_engines / "session.json").read_text())["panes"]["mix"]
    assert saved["sources"] == [a, b] and len(saved["renders"]) == 3
    assert saved["renders"][0]["kept"] == kept


async def test_cancel_mid_render_keeps_partial_audio(kill_spawned_engines, tmp_path):
    # long enough (×4: about 8 s of audio, one engine chunk per 512 samples) that the cancel
    # lands mid-render even with a warm model and busy CPUs
    a = tone(tmp_path / "sine.wav", 440, 2.0)
    b = tone(tmp_path / "square.wav", 220, 2.0, square=True)
    app = make_app(kill_spawned_engines, [a, b])
    async with app.run_test(size=SIZE) as pilot:
        p = pane(app)
        await encoded(pilot, app)
        await pilot.press(*["right_square_bracket"] * 5)
        assert p.state.stretch == 4.0
        # the second render waits for the first (one at a time); escape cancels the
        # selected one, the waiting second, before it starts
        await pilot.press("r", "r", "escape")
        entry, waiting = p.state.renders
        assert waiting.status == "cancelled" and waiting.error == "cancelled before it started"
        await wait_until(pilot, lambda: entry.status == "running" and (entry.done or 0) > 0
                         and entry.eta_s is not None)  # the engine's ETA comes after a chunk or two
        assert "ETA" in render_line(entry, True)
        assert "escape cancels" in str(p.query_one("#mix-render-progress").render())
        await pilot.press("escape")  # the running one now: it keeps what it made
        entry = await rendered(pilot, app, 1)
        assert entry.status == "partial"
        audio = wav(entry.wav_path)
        frames = min(p.state.plots[a].frames, p.state.plots[b].frames)
        assert 0 < audio.size == entry.samples == entry.done < entry.total == frames * 4 * 512
        # the partial take can be auditioned and kept, with the recipe of the whole render
        await pilot.press("p")
        assert p.selected_result is entry
        await pilot.press("enter")
        status = await playing(pilot, app, "mix #1")
        assert status["duration_s"] == pytest.approx(audio.size / RATE)
        await pilot.press("k")
        await type_answer(pilot, app, "half")
        await wait_until(pilot, lambda: entry.kept)
        back = await app.engine.call("mix.recipe", {"path": entry.kept})
        assert back["recipe"]["stretch"] == 4.0 and back["recipe"]["seed"] == entry.recipe.seed
        np.testing.assert_array_equal(wav(entry.kept), audio)


async def test_sounds_sent_from_the_library_show_up_with_default_weights(mag_home, tmp_path):
    a = tone(tmp_path / "a.wav", 440, 0.1)
    b = tone(tmp_path / "b.wav", 330, 0.1)
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        p = pane(app)
        library = app.query_one(LibraryPane)
        assert p.sources == [] and p.recipe() is None  # nothing to render: a note says why
        await pilot.press("1")
        for path in (a, b):  # what the library pane's `x` sends
            library.post_message(SendToMix(path, Path(path).name))
        await wait_until(pilot, lambda: library.mix_sources == [a, b])
        await pilot.press("2")
        assert p.sources == [a, b] and p.state.weights == [0.5, 0.5] and p.state.selected == 1
        await pilot.press("up", "right", "x")
        assert p.state.mode == "xy" and p.state.weights == [0.55, 0.5]
        # two sounds on the pad: A top-left and B top-right; the puck's row decides nothing else
        await pilot.press(*["left"] * 10)
        assert p.state.xy == [0.0, 0.5] and p.mix_weights() == [1.0, 0.0]
        await pilot.press("down", "down")
        assert p.recipe().weights == [1.0, 0.0]
        await pilot.press(*["down"] * 8)  # bottom-left corner holds no sound: nothing to render
        assert p.state.xy == [0.0, 1.0] and p.recipe() is None
        await pilot.press("x")
        recipe = p.recipe()
        assert recipe.weights == pytest.approx([0.5238, 0.4762], abs=1e-4)
        assert recipe.seed is None and recipe.model == "nsynth-wavenet"
        # removing a source tells the library too (its "mixer n/4")
        await pilot.press("d")  # A, the selected one
        assert p.sources == [b] and p.state.weights == [0.5]
        await wait_until(pilot, lambda: library.mix_sources == [b])


async def test_a_render_that_cannot_run_says_why_on_the_problem_line(mag_home, tmp_path):
    a = tone(tmp_path / "a.wav", 440, 0.1)
    b = tone(tmp_path / "b.wav", 330, 0.1)
    app = make_app(mag_home, [a, b])
    app.connect_engine = False  # no engine: run_job answers Failed, it never raises
    async with app.run_test(size=SIZE) as pilot:
        p = pane(app)
        await pilot.press("r")
        entry = await rendered(pilot, app, 1)
        assert entry.status == "failed" and "not reachable" in entry.error
        line = p.query_one(ProblemLine)
        assert "not reachable" in line.text_of("render") and line.display
        # the engine's absence has its own fix (ctrl+r), not the pane's "R renders it again"
        assert "ctrl+r restarts it" in str(line.render()) and "R renders" not in str(line.render())
        assert any("not reachable" in str(n.message) for n in app.notices)
        assert "failed" in str(p.query_one("#mix-renders").render())
        # nothing in flight: escape stops playing (here: says the engine is not there)
        await pilot.press("escape")
        await wait_until(pilot, lambda: "not reachable" in line.text_of("audition"))


async def test_queue_eta_adds_the_running_eta_and_the_waiting_renders(mag_home):
    plot = [[0.0] * 4 for _ in range(16)]
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        p = pane(app)
        p.state.plots = {"a": MixPlot(plot=plot, frames=10, seconds=0.32),
                         "b": MixPlot(plot=plot, frames=20, seconds=0.64)}
        mix = MixRecipe(sources=["a", "b"], weights=[0.5, 0.5])
        p.state.renders = [
            MixRender(id=1, recipe=mix, status="done", done=5120, elapsed_s=2.0),
            MixRender(id=2, recipe=mix, status="running", done=1000, total=5120, eta_s=3.0),
            MixRender(id=3, recipe=msgspec.structs.replace(mix, stretch=2.0), status="queued"),
        ]
        assert p.expected_samples(p.state.renders[2].recipe) == 20 * 512
        assert p.queue_eta() == pytest.approx(3.0 + 20 * 512 / 2560)
        p._redraw_renders()
        assert "all done in ~7 s" in str(p.query_one("#mix-renders").render())
        p.state.renders[0].status = "failed"  # no finished render: no speed to go by
        assert p.queue_eta() is None


# -- a session written before the mixer's state was typed ----------------------------
def main_session(home: Path, a: str, b: str) -> dict:
    """The mix pane's state as the untyped pane wrote it: sources, sliders, the XY pad,
    plots, a finished and kept render, a partial one and one still running at exit."""
    plot = [[float(i + j) for j in range(4)] for i in range(16)]
    recipe = {"sources": [a, b], "weights": [0.6, 0.4], "seed": 7, "model": "nsynth-wavenet",
              "checkpoint": CKPT}
    return {"sources": [a, b], "weights": [0.6, 0.4], "selected": 1, "mode": "sliders",
            "xy": [0.25, 0.75], "stretch": 1.5, "seed": 7, "seed_locked": True,
            "renders": [
                {"id": 1, "recipe": recipe, "status": "done", "done": 3072, "total": 3072,
                 "eta_s": None, "queued_at": 1700000000.5, "elapsed_s": 1.25,
                 "wav_path": str(home / "mix-1.wav"), "samples": 3072, "seconds": 0.192,
                 "kept": str(home / "kept.wav")},
                {"id": 2, "recipe": {**recipe, "stretch": 2.0}, "status": "partial", "done": 1024,
                 "total": 6144, "eta_s": None, "queued_at": 1700000001.0, "elapsed_s": 0.5,
                 "wav_path": str(home / "mix-2.wav"), "samples": 1024, "seconds": 0.064},
                {"id": 3, "recipe": {"sources": [a, b], "xy": [0.5, 0.5], "seed": None,
                                     "model": "nsynth-wavenet"},
                 "status": "running", "done": 512, "total": 3072, "eta_s": 4.5,
                 "queued_at": 1700000002.0}],
            "result_index": 2, "plots": {a: {"plot": plot, "frames": 6, "seconds": 0.2},
                                         b: {"plot": plot, "frames": 5, "seconds": 0.16}},
            "next_id": 4, "model_overrides": OVERRIDES, "from_a_newer_version": {"x": 1}}


async def test_a_session_written_by_the_untyped_pane_loads_with_nothing_lost(mag_home, tmp_path):
    a = tone(tmp_path / "a.wav", 440, 0.1)
    b = tone(tmp_path / "b.wav", 330, 0.1)
    written = main_session(mag_home, a, b)
    (mag_home / "session.json").write_text(json.dumps(
        {"version": 1, "pane": "mix", "panes": {"mix": written}}))
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        p = pane(app)
        assert app.session.warning == ""
        st = p.state
        assert (st.sources, st.weights, st.selected, st.mode, st.xy, st.stretch, st.seed,
                st.seed_locked, st.result_index, st.next_id) == (
            [a, b], [0.6, 0.4], 1, "sliders", [0.25, 0.75], 1.5, 7, True, 2, 4)
        assert st.plots[a].plot == written["plots"][a]["plot"] and st.plots[b].frames == 5
        assert [e.status for e in st.renders] == ["done", "partial", "interrupted"]
        assert st.renders[0].kept == written["renders"][0]["kept"]
        assert st.renders[1].recipe.stretch == 2.0 and st.renders[2].recipe.xy == [0.5, 0.5]
        shown = str(p.query_one("#mix-renders").render())
        assert "interrupted" in shown and "kept as kept.wav" in shown and "partial" in shown
        assert app.query_one(LibraryPane).mix_sources == [a, b]
        await pilot.press("right")  # a change, so the session is saved again
    saved = json.loads((mag_home / "session.json").read_text())["panes"]["mix"]
    interrupted = {**written["renders"][2], "status": "interrupted"}
    expected = {**written, "weights": [0.6, 0.45], "renders": written["renders"][:2] + [interrupted]}
    assert normal(saved) == normal(expected)


def normal(state: dict) -> dict:
    """A mix state with what means "the default" left out, as the typed pane saves it
    (`None` fields, a stretch of 1, a pane field at its default)."""
    fresh = MixState()
    defaults = {f: getattr(fresh, f) for f in MixState.__struct_fields__}

    def clean(value):
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()
                    if v is not None and not (k == "stretch" and v == 1.0)}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value
    return {k: v for k, v in clean(state).items() if k not in defaults or v != defaults[k]}
