"""SVG snapshots of each pane (update with `pytest --snapshot-update` after a deliberate change)."""

from __future__ import annotations

import pytest

from tui.app import MagstationApp
from tui.panes import PANES


@pytest.mark.parametrize("key", [p.KEY for p in PANES], ids=[p.PANE_ID for p in PANES])
def test_pane_snapshot(snap_compare, mag_home, key):
    app = MagstationApp(connect_engine=False)
    assert snap_compare(app, press=[key], terminal_size=(110, 30))


def test_help_snapshot(snap_compare, mag_home):
    app = MagstationApp(connect_engine=False)
    assert snap_compare(app, press=["question_mark"], terminal_size=(110, 30))



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
