"""Pictures that use the space: the library's columns, source and scrolling, the waveform
that grows with the terminal (time and Hz axes, a playhead from the engine's transport
events), the drum grid that grows, and the timeline's playhead from transport events."""

from __future__ import annotations

import time
from pathlib import Path

import soundfile as sf

from engine import api
from tests.test_library import tone
from tests.tui_helpers import wait_until
from tui.app import MagstationApp
from tui.messages import TransportChanged
from tui.panes.drum_grid import DrumGridPane
from tui.panes.library import COLUMNS, LibraryPane, column_widths, fit, folder_labels
from tui.panes.timeline import PLAY_LABEL, TimelinePane
from tui.widgets.drum_grid_view import DrumGridView
from tui.widgets.waveform import WaveformView, hz_label, time_axis

LONG_TAGS = ["acoustic-kick-in-a-dry-room", "from-the-old-sampler-disk-two", "needs-more-top-end"]


def make_sounds(base: Path) -> tuple[Path, Path]:
    """Two folders both named `drums`, each with a kick.wav, one with many more sounds and
    one long (8 s) sound to watch a playhead move on (long enough for a busy machine)."""
    one, two = base / "one" / "drums", base / "two" / "drums"
    for folder in (one, two):
        folder.mkdir(parents=True)
        sf.write(folder / "kick.wav", tone(0.2, 16000), 16000)
    for i in range(40):
        sf.write(one / f"hit{i:02d}.wav", tone(0.1, 16000, hz=200 + 10 * i), 16000)
    sf.write(two / "long.wav", tone(8.0, 16000), 16000)
    return one, two


async def open_library(pilot, *folders: Path) -> LibraryPane:
    app = pilot.app
    await pilot.press("1")
    await wait_until(pilot, lambda: app.engine.state == "ready")
    for f in folders:
        await app.engine.call(api.library.AddFolder(path=str(f)))
    p = app.query_one(LibraryPane)
    p.action_rescan()
    await wait_until(pilot, lambda: sum(1 for s in p.sounds.values()
                                        if Path(s["path"]).parent in folders) == 43)
    return p


def visible_rows(p: LibraryPane) -> list[str]:
    """The paths of the table rows inside the table's visible region."""
    t = p.table
    top = t.scroll_offset.y
    height = t.scrollable_content_region.height - t.header_height
    return [t.coordinate_to_cell_key((r, 0)).row_key.value
            for r in range(top, min(t.row_count, top + height))]


async def test_library_fits_80x24_shows_sources_and_keeps_the_selection_on_screen(kill_spawned_engines):
    one, two = make_sounds(kill_spawned_engines / "s")
    app = MagstationApp()
    async with app.run_test(size=(80, 24)) as pilot:
        p = await open_library(pilot, one, two)
        await app.engine.call(api.library.Tag_(path=str(one / "kick.wav"), add=LONG_TAGS, remove=[]))
        p._reload()
        await wait_until(pilot, lambda: set(LONG_TAGS) <= set(p.sounds[str(one / "kick.wav")]["tags"]))

        # the columns fit the table, and what does not fit ends in an ellipsis
        widths = [c.get_render_width(p.table) for c in p.table.columns.values()]
        assert sum(widths) <= p.table.size.width
        tags = p.table.get_cell(str(one / "kick.wav"), "tags")
        assert str(tags).endswith("…") and len(str(tags)) == p.widths["tags"]
        assert str(tags)[:-1] in " ".join(sorted(LONG_TAGS))

        # two kick.wav: the source column tells them apart
        sources = {str(p.table.get_cell(str(f / "kick.wav"), "source")) for f in (one, two)}
        assert sources == {"one/drums", "two/drums"}
        assert {str(p.table.get_cell(str(f / "kick.wav"), "name")) for f in (one, two)} == {"kick.wav"}

        # moving past the bottom of the screen scrolls: the selection stays in sight
        # (from the top: a listing made before the folders were in kept its selection)
        while p.table.cursor_row > 0:
            await pilot.press("pageup")
        for _ in range(30):
            await pilot.press("down")
            await wait_until(pilot, lambda: p.state.selected in visible_rows(p))
        assert p.table.cursor_row == 30 and p.table.scroll_offset.y > 0
        await pilot.press("pagedown", "pagedown")
        await wait_until(pilot, lambda: p.state.selected in visible_rows(p))
        await pilot.press("pageup", "pageup", "pageup", "pageup")
        await wait_until(pilot, lambda: p.state.selected in visible_rows(p))
        assert p.table.cursor_row == 10


async def test_waveform_grows_has_axes_and_a_playhead_from_transport_events(kill_spawned_engines):
    one, two = make_sounds(kill_spawned_engines / "w")
    long = two / "long.wav"
    app = MagstationApp()
    async with app.run_test(size=(80, 24)) as pilot:
        p = await open_library(pilot, one, two)
        view = p.query_one(WaveformView)
        target = p.table.get_row_index(str(long))
        while p.table.cursor_row != target:
            await pilot.press("down" if p.table.cursor_row < target else "up")
        await wait_until(pilot, lambda: view.overview is not None and view.overview["path"] == str(long))
        small = view.size.height, view.layout_rows(view.size.height)
        drawn = str(view.render())
        assert "╵0" in drawn and "╵1" in drawn and drawn.count("\n") == view.size.height - 1

        await pilot.resize_terminal(200, 50)
        await wait_until(pilot, lambda: view.size.height > small[0])
        big = view.layout_rows(view.size.height)
        assert big[0] > small[1][0] and big[1] > small[1][1]  # more waveform, more spectrogram
        drawn = str(view.render())
        assert "Hz" in drawn and "k" in drawn  # the spectrogram's Hz axis (40Hz … 7k)
        assert "╵1" in drawn and "╵2" in drawn  # seconds along the time axis

        # audition through the engine (null output): the playhead comes with the
        # engine's transport event and moves on the local clock
        await pilot.press("space")
        await wait_until(pilot, lambda: view.playhead_s is not None)
        first = view.playhead_s
        await wait_until(pilot, lambda: view.playhead_s is not None and view.playhead_s > first + 0.1)
        assert "▲" in str(view.render())
        await pilot.press("escape")  # stop: the engine's event takes the playhead away
        await wait_until(pilot, lambda: view.playhead_s is None)

        # a transport event as the engine sends it, looping from 2.5 s: the local clock
        # wraps it round the sound's length
        now = time.time()
        app.post_message(TransportChanged({"playing": True, "position_s": 2.5, "duration_s": 3.0,
                                           "loop": True, "label": "long.wav", "at": now}))
        await wait_until(pilot, lambda: view.playhead_s is not None)
        assert abs(p.playhead_seconds(now=now + 1.0) - 0.5) < 1e-6
        app.post_message(TransportChanged({"playing": True, "position_s": 0.0, "duration_s": 1.0,
                                           "loop": False, "label": "drums", "at": now}))
        await wait_until(pilot, lambda: view.playhead_s is None)  # another sound took the player


def test_column_and_label_helpers():
    for total in (80, 120, 200, 300):
        w = column_widths(total)
        assert sum(w.values()) + 2 * len(COLUMNS) + 2 <= total
        assert set(w) == {key for key, _, _ in COLUMNS}
    assert column_widths(200)["name"] > column_widths(80)["name"]
    assert str(fit("abcdef", 4)) == "abc…" and str(fit("abc", 4)) == "abc"
    labels = folder_labels([{"path": "/x/one/drums", "kind": "user"},
                            {"path": "/y/two/drums", "kind": "user"},
                            {"path": "/y/two/bass", "kind": "user"},
                            {"path": "/home/me/lib", "kind": "library"}])
    assert labels == {"/x/one/drums": "one/drums", "/y/two/drums": "two/drums",
                      "/y/two/bass": "bass", "/home/me/lib": "library"}
    assert hz_label(440) == "440" and hz_label(8000) == "8k" and hz_label(1250) == "1.2k"
    axis = time_axis(2.0, 40)
    assert len(axis) == 40 and axis.startswith("╵0") and axis.endswith(" s") and "╵1" in axis


async def test_drum_grid_grows_with_the_terminal(mag_home):
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(DrumGridPane.KEY)
        grid = app.query_one(DrumGridView)
        await wait_until(pilot, lambda: grid.size.height > 0)
        small = grid.cell_size(), grid.size
        rows = len(grid.pattern.velocities)
        assert small[0] == (2, 1) and small[1].height >= rows + 1  # every drum class on screen
        await pilot.resize_terminal(200, 50)
        await wait_until(pilot, lambda: grid.size.width > small[1].width)
        cell_w, row_h = grid.cell_size()
        assert cell_w > 2 and row_h > 1
        lines = str(grid.render()).split("\n")
        assert len(lines) == 1 + rows * row_h and max(map(len, lines)) <= grid.size.width
        assert max(map(len, lines)) > 78  # not the old 78 x 12


async def test_timeline_playhead_follows_transport_events(mag_home):
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=(120, 34)) as pilot:
        await pilot.press(TimelinePane.KEY)
        t = app.query_one(TimelinePane)
        now = time.time()
        app.post_message(TransportChanged({"playing": True, "position_s": 1.0, "duration_s": 60.0,
                                           "loop": False, "label": PLAY_LABEL, "at": now}))
        await wait_until(pilot, lambda: t.playhead is not None and t.playhead >= 1.0)
        first = t.playhead
        await wait_until(pilot, lambda: t.playhead > first)  # the local clock moves it
        app.post_message(TransportChanged({"playing": False, "position_s": 0.0, "duration_s": 0.0,
                                           "loop": False, "label": PLAY_LABEL, "at": time.time()}))
        await wait_until(pilot, lambda: t.playhead is None)
