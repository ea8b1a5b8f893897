"""The drum grid after #20, as a drummer uses it: the pattern on screen says where it came
from and exports are named by it (after undo and history recall too), undo covers tempo
and swing, tempo can be typed, a SoundFont is checked when entered, tap asks for a rhythm
only when its model is there, and a long MIDI file opens whole."""

from __future__ import annotations

import json

from tests.test_drum_grid_engine import OVERRIDES, SIZE, generated, grid
from tests.test_drum_trust import groove_16_bars
from tests.test_tui import wait_until
from tui.app import MagstationApp
from tui.panes.drum_grid import DrumGridPane
from tui.widgets.job_progress import FAILED, JobProgress
from tui.widgets.problem_line import ProblemLine
from tui.widgets.prompt import AskText, Choose


def start(home, overrides=OVERRIDES) -> MagstationApp:
    session = {"version": 1, "pane": "drums", "panes": {"drums": {"model_overrides": overrides}}}
    (home / "session.json").write_text(json.dumps(session))
    return MagstationApp()


async def answer(pilot, app, text: str) -> None:
    await wait_until(pilot, lambda: isinstance(app.screen, AskText))
    app.screen.query_one("Input").value = text
    await pilot.press("enter")


def names(folder) -> set[str]:
    return {p.name for p in folder.glob("*.mid")}


async def test_export_names_follow_the_pattern_on_screen(kill_spawned_engines, tmp_path):
    app = start(kill_spawned_engines)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.engine.state == "ready")
        g = grid(app)
        await pilot.press("s")
        await generated(pilot, app, 1)
        await pilot.press("h")
        await generated(pilot, app, 2)
        human = g.pattern.provenance
        assert human["method"] == "drums.humanize" and human["mode"] == "keep-hits"
        await pilot.press("s")
        await generated(pilot, app, 3)
        await pilot.press("u")  # back to the humanized pattern
        assert g.pattern.provenance == human
        header = str(g.query_one("#drum-source").render())
        assert f"seed {human['seed']}" in header and "humanize" in header
        assert g.state.seed == human["seed"]
        await pilot.press("e")
        await answer(pilot, app, str(tmp_path / "one"))
        await wait_until(pilot, lambda: len(names(tmp_path / "one")) == 1)
        (name,) = names(tmp_path / "one")
        assert f"seed{human['seed']}" in name and "groovae" in name

        # an interpolation, recalled from the history and exported as a chain
        await pilot.press("a", "s")
        await generated(pilot, app, 4)
        await pilot.press("b", "i")
        await generated(pilot, app, 5)
        interp_seed = g.state.history[-1].seed
        assert g.pattern.to_dict()["velocities"] == g.state.slots["A"].velocities  # starts on A
        await pilot.press("s")
        await generated(pilot, app, 6)
        await pilot.press("y")
        await wait_until(pilot, lambda: isinstance(app.screen, Choose))
        await pilot.press("down", "enter")  # newest first: the interpolation
        await wait_until(pilot, lambda: not isinstance(app.screen, Choose))
        assert g.state.chain_provenance["seed"] == interp_seed
        await pilot.press("E")
        await answer(pilot, app, str(tmp_path / "chain"))
        await wait_until(pilot, lambda: len(names(tmp_path / "chain")) == 1)
        (name,) = names(tmp_path / "chain")
        assert f"seed{interp_seed}" in name and "chain" in name


async def test_undo_covers_tempo_and_swing_and_tempo_can_be_typed(mag_home):
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        g = app.query_one(DrumGridPane)
        await pilot.press("apostrophe", "apostrophe", "right_curly_bracket")
        assert g.state.swing == 0.1 and g.pattern.qpm == 125
        await pilot.press("T")
        await answer(pilot, app, "93")
        assert g.pattern.qpm == 93
        await pilot.press("T")
        await answer(pilot, app, "fast")
        assert g.pattern.qpm == 93 and any("bpm from 40" in str(n.message) for n in app.notices)
        await pilot.press("u")
        assert g.pattern.qpm == 125
        await pilot.press("u")
        assert g.pattern.qpm == 120 and g.state.swing == 0.1
        await pilot.press("u")
        assert g.state.swing == 0.05
        await pilot.press("U", "U")
        assert g.state.swing == 0.1 and g.pattern.qpm == 125


async def test_soundfont_tap_and_whole_files(kill_spawned_engines, tmp_path):
    missing = {**OVERRIDES, "tap": {"checkpoint": str(tmp_path / "no-such-model"),
                                    "config": OVERRIDES["tap"]["config"]}}
    app = start(kill_spawned_engines, missing)
    groove_16_bars(tmp_path / "groove.mid")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.engine.state == "ready")
        g = grid(app)
        # a SoundFont path that is not there is refused when typed, not at the next export
        await pilot.press("F")
        await answer(pilot, app, str(tmp_path / "gone.sf2"))
        await wait_until(pilot, lambda: any("not using it" in str(n.message) for n in app.notices))
        assert g.state.soundfont is None
        problems = g.query_one(ProblemLine)  # said on the pane, with the key that fixes it
        assert "gone.sf2" in problems.text_of("soundfont") and problems.display
        assert "F tries another" in str(problems.render())
        # the General MIDI kit is offered first: enter takes it
        await pilot.press("F")
        await wait_until(pilot, lambda: isinstance(app.screen, AskText))
        assert app.screen.query_one("Input").value == "gm"
        await pilot.press("enter")
        await wait_until(pilot, lambda: g.state.soundfont == "gm")
        assert any("General MIDI kit" in str(n.message) for n in app.notices)
        assert problems.text_of("soundfont") == ""  # solved: the line goes
        # tap → drums says its model is missing before asking for a rhythm
        await pilot.press("t")
        await wait_until(pilot, lambda: any("tap → drums needs its model" in str(n.message)
                                            for n in app.notices))
        assert not isinstance(app.screen, AskText)
        # a 16-bar groove opens whole, as a chain of 8
        await pilot.press("o")
        await answer(pilot, app, str(tmp_path / "groove.mid"))
        await wait_until(pilot, lambda: len(g.state.chain) == 8)
        assert any("16 bars as 8 pattern" in str(n.message) for n in app.notices)
        assert "groove.mid bars 1-2" in str(g.query_one("#drum-source").render())


async def test_a_failed_tap_keeps_the_typed_rhythm(kill_spawned_engines, tmp_path):
    (tmp_path / "not-a-checkpoint").mkdir()  # there, so asked for; fails when loaded
    broken = {**OVERRIDES, "tap": {**OVERRIDES["tap"], "checkpoint": str(tmp_path / "not-a-checkpoint")}}
    app = start(kill_spawned_engines, broken)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.engine.state == "ready")
        g = grid(app)
        await pilot.press("t")
        await answer(pilot, app, "x...x...x.x.x...")
        await wait_until(pilot, lambda: any("tap → drums failed" in str(n.message)
                                            for n in app.notices))
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, AskText))
        assert app.screen.query_one("Input").value == "x...x...x.x.x..."


async def test_a_failed_interpolation_stays_on_the_pane_with_its_fix(kill_spawned_engines, tmp_path):
    """A long job (A→B) shows its progress line; when the model cannot run, the progress
    line says it failed and the problem line keeps the reason and the keys that help until
    an interpolation works."""
    broken = {**OVERRIDES, "interpolate": {**OVERRIDES["interpolate"],
                                           "checkpoint": str(tmp_path / "no-such-model")}}
    app = start(kill_spawned_engines, broken)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.engine.state == "ready")
        g = grid(app)
        await pilot.press("space", "a", "right", "space", "b", "i")
        problems, progress = g.query_one(ProblemLine), g.query_one(JobProgress)
        await wait_until(pilot, lambda: problems.text_of("interpolate") != "")
        assert problems.text_of("interpolate").startswith("interpolate failed: ")
        assert "no-such-model" in problems.text_of("interpolate")
        assert "m chooses the model · M opens Models" in str(problems.render())
        assert progress.status == FAILED and progress.display and progress.label == "interpolate"
        assert not g.busy and g.state.history == [] and g.state.chain == []
        assert any("interpolate failed" in str(n.message) for n in app.notices)  # and in Messages
