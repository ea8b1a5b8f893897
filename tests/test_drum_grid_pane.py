"""The drum grid edited by keyboard, as a person would."""

from __future__ import annotations

import json

from tests.tui_helpers import autosaved
from tui.app import MagstationApp
from tui.panes.drum_grid import DrumGridPane

SIZE = (120, 32)


def pane(app) -> DrumGridPane:
    return app.query_one(DrumGridPane)


async def test_toggle_velocity_undo_redo(mag_home):
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4", "space", "right", "right", "space", "plus", "plus", "down", "space")
        p = pane(app).pattern
        assert p.velocities[0][0] == 80 and p.velocities[0][2] == 112 and p.velocities[1][2] == 80
        assert p.hit_count() == 3
        await pilot.press("u", "u")  # the snare hit, then the second louder step
        p = pane(app).pattern
        assert p.velocities[1][2] == 0 and p.velocities[0][2] == 96
        await pilot.press("U")
        assert pane(app).pattern.velocities[0][2] == 112
        await pilot.press("c")
        assert pane(app).pattern.hit_count() == 0
        await pilot.press("ctrl+z")
        assert pane(app).pattern.hit_count() == 2


async def test_cursor_wraps_and_parameters_stay_in_range(mag_home):
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4", "up", "left")
        assert pane(app).cursor == (8, 31)
        await pilot.press(*["right_square_bracket"] * 30)
        assert pane(app).state.temperature == 2.0
        await pilot.press(*["left_square_bracket"] * 30)
        assert pane(app).state.temperature == 0.1
        await pilot.press(*["full_stop"] * 20)
        assert pane(app).state.interp_steps == 16
        await pilot.press(*["comma"] * 20)
        assert pane(app).state.interp_steps == 2


async def test_pattern_survives_a_restart_of_the_tui(mag_home):
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4", "right", "space", "a", "L")
        await autosaved(pilot)
    saved = json.loads((mag_home / "session.json").read_text())["panes"]["drums"]
    assert saved["pattern"]["velocities"][0][1] == 80 and saved["seed_locked"]
    assert saved["slots"]["A"]["velocities"][0][1] == 80
    again = MagstationApp(connect_engine=False)
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert pane(again).pattern.velocities[0][1] == 80


async def test_interpolate_without_slots_says_what_to_do(mag_home):
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4", "i")
        await pilot.pause()
        assert any("slot A" in str(n.message) for n in app.notices)
