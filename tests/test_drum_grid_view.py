"""The drum grid draws only what changed (keypress latency while the engine renders), and
what it then shows is exactly what a full redraw shows; the status bar updates in place."""

from __future__ import annotations

import random

from textual.geometry import Region

from tests.tui_helpers import wait_until
from tui.app import MagstationApp
from tui.messages import JobsChanged
from tui.panes.drum_grid import DrumGridPane
from tui.widgets.drum_grid_view import DrumGridView
from tui.widgets.status_bar import JobRow, StatusBar, job_label

SIZE = (110, 34)


def on_screen(grid: DrumGridView) -> list[list[tuple[str, object]]]:
    """The grid's lines as the screen gets them (through Textual's line cache)."""
    w, h = grid.size
    return [[(seg.text, seg.style) for seg in strip] for strip in grid.render_lines(Region(0, 0, w, h))]


def scatter_hits(grid: DrumGridView, seed: int) -> None:
    rnd = random.Random(seed)
    p = grid.pattern
    for c, row in enumerate(p.velocities):
        for s in range(len(row)):
            if rnd.random() < 0.35:
                row[s] = rnd.randint(1, 127)
                p.offsets[c][s] = rnd.uniform(-0.4, 0.4)


async def test_keys_redraw_only_changed_lines_and_match_a_full_redraw(mag_home):
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(DrumGridPane.KEY)
        grid = app.query_one(DrumGridView)
        pane = app.query_one(DrumGridPane)
        await wait_until(pilot, lambda: grid.size.height > 0)
        scatter_hits(grid, 7)
        grid.show(grid.pattern, pane.cursor)
        await pilot.pause()
        _, row_h = grid.cell_size()
        assert row_h > 1  # the test covers the tall cells (several text lines per drum class)

        built: list[int] = []
        line_parts = grid._line_parts

        def counting(y, cell_w, rows):
            built.append(y)
            return line_parts(y, cell_w, rows)
        grid._line_parts = counting

        for key, classes_redrawn in [("right", 1), ("down", 2), ("left", 1), ("up", 2)]:
            built.clear()
            await pilot.press(key)
            await pilot.pause()
            assert built, f"{key}: nothing was drawn again"
            assert len(set(built)) <= classes_redrawn * row_h, (key, sorted(set(built)))
        await pilot.press("space")  # a hit on the cursor cell: its drum class changes
        grid.show(grid.pattern, pane.cursor, playhead=5)  # and a playhead column
        await pilot.pause()
        shown = on_screen(grid)
        assert any("▼" in text for text, _ in shown[0])

        grid.refresh()  # everything drawn again from scratch
        await pilot.pause()
        assert on_screen(grid) == shown
        text = [line.rstrip() for line in str(grid.render()).split("\n")]
        assert ["".join(t for t, _ in line).rstrip() for line in shown[:len(text)]] == text


async def test_status_bar_job_rows_update_in_place(mag_home):
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        job = {"job": "j1", "method": "gansynth.render", "state": "running", "eta_s": 12.0,
               "total": 10, "done": 1}
        app.post_message(JobsChanged([job]))
        await wait_until(pilot, lambda: len(app.query(JobRow)) == 1)
        row = app.query_one(JobRow)
        await wait_until(pilot, lambda: str(row.label.render()) == job_label(job))
        for done, eta in [(2, 11.0), (3, 9.0), (4, 100.0)]:  # the same width, then a wider one
            app.post_message(JobsChanged([{**job, "done": done, "eta_s": eta}]))
            await wait_until(pilot, lambda: row.bar.progress == done)
            assert str(row.label.render()) == job_label({**job, "eta_s": eta})
            assert app.query_one(JobRow) is row  # the row is kept, not mounted again
        bar = app.query_one(StatusBar)
        bar.set_engine("ready", "pid 1")
        bar.set_engine("ready", "pid 2")  # same width
        await pilot.pause()
        assert "pid 2" in str(bar.engine_label.render())
