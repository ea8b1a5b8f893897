"""SVG snapshots (update with `pytest --snapshot-update` after a deliberate change).

The states are real: each pane is driven by keys through a recorded engine session
(tests/recorded_link.py, tests/fixtures/recorded/), so the pictures show what the real
engine answered, with no engine process and the same result every run."""

from __future__ import annotations

import pytest

from tests.recorded_link import RECORDINGS, Recording, ReplayLink
from tests.recorded_scenarios import SCENARIOS, Scenario
from tests.tui_helpers import wait_until
from tui.app import MagstationApp
from tui.panes import PANES


def replaying(scenario: Scenario, home) -> MagstationApp:
    scenario.prepare(home)
    app = MagstationApp()
    app.engine = ReplayLink(app, Recording.load(RECORDINGS / f"{scenario.name}.jsonl"), home)
    return app


def assert_all_recorded(app: MagstationApp) -> None:
    """Every request the app made was in the recording (else: re-record)."""
    assert isinstance(app.engine, ReplayLink)
    assert app.engine.replay.unmatched == [], app.engine.replay.unmatched


async def quiet(pilot) -> None:
    """Toasts off the picture (they fade, and the app keeps them in its notices log)."""
    pilot.app.clear_notifications()
    await pilot.pause()


@pytest.mark.parametrize("name", [n for n in SCENARIOS if n != "drums_looping"])
def test_recorded_state_snapshot(snap_compare, mag_home, name):
    scenario = SCENARIOS[name]
    app = replaying(scenario, mag_home)

    async def run(pilot) -> None:
        await scenario.run(pilot)
        await quiet(pilot)

    assert snap_compare(app, run_before=run, terminal_size=scenario.size)
    assert_all_recorded(app)


class FrozenClock:
    """The drum pane's `time` module with the wall clock stopped at `now`: the playhead is
    the transport's position plus the time since its event, so a picture of a playing
    loop needs a clock that does not move."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


def test_drum_loop_playing_snapshot(snap_compare, mag_home, monkeypatch):
    """The humanized pattern looping, its playhead on the sixth step (0.7 s into the loop)."""
    import tui.panes.drum_grid as drum_grid_module
    scenario = SCENARIOS["drums_looping"]
    app = replaying(scenario, mag_home)

    async def run(pilot) -> None:
        await scenario.run(pilot)
        at = float(app.engine.transport["at"]) + 0.7 - float(app.engine.transport["position_s"])
        monkeypatch.setattr(drum_grid_module, "time", FrozenClock(at))
        pane = app.query_one(drum_grid_module.DrumGridPane)
        await wait_until(pilot, lambda: pane.playhead == 5)
        await quiet(pilot)

    assert snap_compare(app, run_before=run, terminal_size=scenario.size)
    assert_all_recorded(app)


HELP_OVER = {"library": "library_80x24", "mix": "mix_encoded", "timeline": "timeline_continued",
             "drums": "drums_humanized"}


@pytest.mark.parametrize("key", [p.KEY for p in PANES], ids=[p.PANE_ID for p in PANES])
def test_help_on_each_pane_snapshot(snap_compare, mag_home, key):
    """Help opens at the pane it was asked from, over that pane's recorded state."""
    pane_id = next(p.PANE_ID for p in PANES if p.KEY == key)
    scenario = SCENARIOS[HELP_OVER[pane_id]]
    app = replaying(scenario, mag_home)

    async def open_help(pilot) -> None:
        await scenario.run(pilot)
        await quiet(pilot)
        await pilot.press(key, "question_mark")

    assert snap_compare(app, run_before=open_help, terminal_size=scenario.size)
    assert_all_recorded(app)


def _library_records(home) -> tuple[dict, dict]:
    """Real engine answers (in process) for two folders both named `drums`, a long tag and
    a 3 s sound's overview: what the library pane would get over the socket."""
    import numpy as np
    import soundfile as sf

    from engine.local import run_method
    from tests.test_library import tone
    from tui.panes.library import OVERVIEW_BANDS, OVERVIEW_COLUMNS

    for name in ("one", "two"):
        folder = home / name / "drums"
        folder.mkdir(parents=True)
        sf.write(folder / "kick.wav", tone(0.2, 16000), 16000)
        run_method("library.add_folder", {"path": str(folder)}, quiet=True)
    long = home / "two" / "drums" / "long.wav"
    sf.write(long, tone(3.0, 16000, hz=220) * np.linspace(1, 0, 48000, dtype=np.float32), 16000)
    run_method("library.scan", {}, quiet=True)
    run_method("library.tag", {"path": str(home / "one" / "drums" / "kick.wav"),
                               "add": ["acoustic-kick-in-a-dry-room", "from-the-old-sampler-disk"]},
               quiet=True)
    listed = run_method("library.list", {}, quiet=True)
    # only this test's sounds: the shipped ones sort before or after them depending on
    # where the checkout lives (the list is in path order)
    listed["sounds"] = [s for s in listed["sounds"] if s["path"].startswith(str(home))]
    overview = run_method("library.overview", {"path": str(long), "columns": OVERVIEW_COLUMNS,
                                               "bands": OVERVIEW_BANDS}, quiet=True)
    return listed, overview


@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
def test_library_snapshot(snap_compare, mag_home, size):
    """The library with sounds: columns that fit (ellipsis), the source column telling two
    kick.wav apart, the selection on screen, the waveform's axes and a playhead at 1.2 s."""
    from tests.tui_helpers import wait_until
    from tui.panes.library import LibraryPane, folder_labels
    from tui.widgets.waveform import WaveformView

    listed, overview = _library_records(mag_home)
    long = overview["path"]

    async def show(pilot) -> None:
        await pilot.press("1")
        p = pilot.app.query_one(LibraryPane)
        view = p.query_one(WaveformView)
        p.overviews[(long, overview["hash"])] = overview  # the preview needs no engine
        p.folder_labels = folder_labels(listed["folders"])
        p._show(listed["sounds"], select=long)
        await wait_until(pilot, lambda: view.overview is not None and p.row_visible())
        view.set_playhead(1.2)

    app = MagstationApp(connect_engine=False)
    assert snap_compare(app, run_before=show, terminal_size=size)
