"""The Models screen and the panes' missing-model lines, with a real engine (started by
the app) whose checkpoints folder is private: `M` opens the screen, the table marks what
is installed, import / verify / remove from the screen, a pull from a local server with
percent and ETA, cancel and resume; the latent mix without an NSynth model shows a
persistent line, and starting in the drum pane shows no toast about it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from textual.widgets import DataTable

from tests.test_models_engine import FIXTURE, LOKL_URL, REAL_MANIFEST, HeldServer, fixture_tar
from tests.tui_helpers import wait_until
from tui.app import MagstationApp
from tui.panes.drum_grid import DrumGridPane
from tui.panes.latent_mix import LatentMixPane
from tui.screens.models import ModelsScreen
from tui.widgets.model_line import ModelLine
from tui.widgets.problem_line import ProblemLine
from tui.widgets.prompt import AskText, Confirm

SIZE = (100, 32)


@pytest.fixture
def private_models(kill_spawned_engines, monkeypatch):
    """Checkpoints in the test's home; the manifest downloads the lokl drum model from a
    local server. The engine the app starts inherits both."""
    home = kill_spawned_engines
    monkeypatch.setenv("MAGSTATION_CHECKPOINTS", str(home / "checkpoints"))
    server = HeldServer(fixture_tar())
    manifest = home / "manifest"
    manifest.write_text(REAL_MANIFEST.read_text().replace(
        LOKL_URL, f"{server.url}/cat-drums_2bar_small.lokl.tar"))
    monkeypatch.setenv("MAGSTATION_MANIFEST", str(manifest))
    yield home, server
    server.close()


def start_in(home: Path, pane: str, panes: dict | None = None) -> MagstationApp:
    (home / "session.json").write_text(json.dumps({"version": 1, "pane": pane,
                                                   "panes": panes or {}}))
    return MagstationApp()


def cell(screen: ModelsScreen, name: str, column: str) -> str:
    return str(screen.query_one(DataTable).get_cell(name, column))


def toasts(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_no_toast_at_start_and_the_mix_line_opens_models(private_models, tmp_path):
    home, _ = private_models
    t = np.arange(8000) / 16000
    sound = tmp_path / "tone.wav"
    sf.write(sound, (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16000)
    app = start_in(home, "drums", {"mix": {"sources": [str(sound)]}})
    async with app.run_test(size=SIZE) as pilot:
        mix = app.query_one(LatentMixPane)
        await wait_until(pilot, lambda: app.models.loaded)
        # the mix pane tried to encode its source at start and met the missing model
        await wait_until(pilot, lambda: mix.auto_encode is not None and mix.auto_encode.is_finished)
        assert app.current_pane is app.query_one(DrumGridPane)
        assert not any("nsynth" in t.lower() or "encod" in t for t in toasts(app)), toasts(app)

        line = mix.query_one(ModelLine)
        await wait_until(pilot, lambda: line.missing == ["nsynth-wavenet"])
        assert line.display
        assert "nsynth-wavenet" in str(line.render()) and "M" in str(line.render())
        assert not app.query_one(DrumGridPane).query_one(ModelLine).display  # auto: starter
        # said once, by the model line: no "encoding failed" line or problem line beside it
        assert not mix.query_one("#mix-encode-progress").display
        assert not mix.query_one(ProblemLine).problems

        await pilot.press("2")
        await pilot.press("M")
        await wait_until(pilot, lambda: isinstance(app.screen, ModelsScreen))
        await wait_until(pilot, lambda: app.screen.selected_name() == "nsynth-wavenet")
        assert "latent mix" in cell(app.screen, "nsynth-wavenet", "used")
        await pilot.press("escape")
        assert app.current_pane is mix and mix.query_one(ModelLine).display


async def test_models_screen_import_verify_remove_and_pull(private_models, tmp_path):
    home, server = private_models
    app = start_in(home, "drums")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.models.loaded)
        await pilot.press("M")
        await wait_until(pilot, lambda: isinstance(app.screen, ModelsScreen))
        screen = app.screen
        await wait_until(pilot, lambda: screen._shown)
        assert "✓" in cell(screen, "starter-drums_2bar", "mark")
        assert "✓" not in cell(screen, "cat-drums_2bar_small.hikl", "mark")

        # import: one prompt for a path; the folder's name picks the manifest entry
        folder = tmp_path / "cat-drums_2bar_small.hikl"
        shutil.copytree(FIXTURE, folder)
        await pilot.press("i")
        await wait_until(pilot, lambda: isinstance(app.screen, AskText))
        app.screen.query_one("Input").value = str(folder)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.models.installed("cat-drums_2bar_small.hikl"))
        await wait_until(pilot, lambda: "✓" in cell(screen, "cat-drums_2bar_small.hikl", "mark"))
        assert screen.selected_name() == "cat-drums_2bar_small.hikl"
        assert (home / "checkpoints" / "cat-drums_2bar_small.hikl").is_dir()

        # verify: the fixture's small widths are named as problems, with the fix
        await pilot.press("v")
        verdict = lambda: app.models.verified.get("cat-drums_2bar_small.hikl", "")  # noqa: E731
        await wait_until(pilot, lambda: "problem" in verdict())
        assert "models pull cat-drums_2bar_small.hikl --force" in verdict()

        # the drum grid's chooser marks it installed
        drums = app.query_one(DrumGridPane)
        drums._set(model="cat-drums_2bar_small.hikl")
        assert "✓" in str(drums.query_one("#drum-params").render())

        # remove, after a confirmation
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await wait_until(pilot, lambda: app.models.installed("cat-drums_2bar_small.hikl") is False)
        assert not (home / "checkpoints" / "cat-drums_2bar_small.hikl").exists()
        await wait_until(pilot, lambda: drums.query_one(ModelLine).display)
        # starter models are refused on the screen
        screen.select("starter-drums_2bar")
        await pilot.press("d")
        assert isinstance(app.screen, ModelsScreen)
        assert any("cannot be removed" in t for t in toasts(app))

        # pull from the local server: percent and ETA while it runs; cancel keeps the part
        name = "cat-drums_2bar_small.lokl"
        server.hold_after = len(server.data) // 3
        screen.select(name)
        await pilot.press("p")
        shown = lambda: str(screen.query_one("#models-detail").render())  # noqa: E731
        await wait_until(pilot, lambda: " of " in shown() and "%" in cell(screen, name, "status"))
        assert app.models.pulls[name].done > 0 and "ETA" in shown() and "ETA" in cell(screen, name, "status")
        await pilot.press("x")
        await wait_until(pilot, lambda: app.models.pulls[name].message == "cancelling")
        server.hold_after = None
        server.release.set()
        await wait_until(pilot, lambda: name not in app.models.pulls)
        await wait_until(pilot, lambda: "paused" in cell(screen, name, "status"))
        kept = app.models.rows[name]["partial_bytes"]
        assert kept > 0
        await pilot.press("p")  # resumes
        await wait_until(pilot, lambda: "✓" in cell(screen, name, "mark"))
        assert app.models.installed(name)
        assert server.ranges[-1] == f"bytes={kept}-"  # resumed where the cancel left it


def test_the_models_screen_keeps_the_tui_light(mag_home):
    from tests.conftest import assert_tui_stays_light
    assert_tui_stays_light(mag_home, ["M", "j", "escape", "4", "m"])


async def test_used_by_is_cut_with_an_ellipsis_to_fit_80_columns(private_models):
    """At 80x24 every column stays on screen: "Used by" is cut to what is left, with an
    ellipsis, and grows back when the terminal does (the detail panel has it whole)."""
    home, _ = private_models
    app = start_in(home, "drums")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.models.loaded)
        await pilot.press("M")
        await wait_until(pilot, lambda: isinstance(app.screen, ModelsScreen))
        screen = app.screen
        await wait_until(pilot, lambda: screen._shown)
        table = screen.query_one(DataTable)
        whole = {name: ", ".join(row["used_by"]) for name, row in app.models.rows.items()}
        longest = max(whole, key=lambda n: len(whole[n]))
        assert len(whole[longest]) > 20  # some model serves several roles
        assert cell(screen, longest, "used").endswith("…")
        assert table.virtual_size.width <= 80
        await pilot.resize_terminal(200, 50)
        await wait_until(pilot, lambda: cell(screen, longest, "used") == whole[longest])
