"""The workstation driven as a person would, with Textual's Pilot and a real engine."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from textual.widgets import Label, Static, TabbedContent

from tests.conftest import ROOT, assert_tui_stays_light
from tests.tui_helpers import autosaved, eventually, settle, wait_until  # noqa: F401 - used by the pane tests
from tui.app import MagstationApp
from tui.pane_state import DrumsState
from tui.keys import long_description
from tui.panes import PANES
from tui.panes.latent_mix import LatentMixPane
from tui.screens.notices import NoticesScreen
from tui.widgets.help_screen import HelpScreen
from tui.widgets.status_bar import JobRow

SIZE = (120, 32)


def palette_highlights(app, text: str) -> bool:
    """The command palette is open and its highlighted command reads `text`."""
    from textual.command import CommandList, CommandPalette
    if not isinstance(app.screen, CommandPalette):
        return False
    commands = app.screen.query_one(CommandList)
    return commands.highlighted is not None and \
        text in str(commands.get_option_at_index(commands.highlighted).prompt)


def engine_label(app) -> str:
    return str(app.query_one("#engine-state", Label).render())


async def test_every_pane_is_reachable_by_its_key(mag_home):
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        for pane in PANES:
            await pilot.press(pane.KEY)
            await pilot.pause()
            assert app.query_one(TabbedContent).active == pane.PANE_ID
            assert app.focused is app.current_pane


async def test_help_lists_every_binding(mag_home):
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = app.screen.visible_text()
        for pane in PANES:
            for b in pane.BINDINGS:
                assert long_description(b) in text and b.id in text
        for b in app.BINDINGS:
            assert long_description(b) in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_command_palette_goes_to_a_pane(mag_home):
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"go to timeline")
        await wait_until(pilot, lambda: palette_highlights(app, "Go to Timeline"))
        await pilot.press("enter")
        await pilot.pause()
        assert app.query_one(TabbedContent).active == "timeline"


async def test_messages_stay_after_their_toast_fades(mag_home):
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        app.notify("first thing", timeout=0)
        app.notify("export failed: disk full", severity="error", timeout=0)
        await pilot.pause()
        assert not list(app._notifications)  # both toasts are gone (timeout 0)
        assert app.notices.text() == "first thing\nexport failed: disk full"
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"messages")
        await wait_until(pilot, lambda: palette_highlights(app, "Messages"))
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, NoticesScreen))
        lines = [str(w.render()) for w in app.screen.query(Static)]
        assert "disk full" in lines[0] and "first thing" in lines[1]  # newest first
        await pilot.press("escape")
        assert not isinstance(app.screen, NoticesScreen)


def two_mix_sources(home) -> None:
    """A session whose mixer holds two sounds (the mix pane's sliders need sources)."""
    session = {"version": 1, "pane": "drums",
               "panes": {"mix": {"sources": [str(home / "a.wav"), str(home / "b.wav")]}}}
    (home / "session.json").write_text(json.dumps(session))


async def test_session_is_autosaved_and_restored(mag_home):
    two_mix_sources(mag_home)
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "down", "right", "right")
        await autosaved(pilot)
        saved = json.loads((mag_home / "session.json").read_text())
        assert saved["pane"] == "mix" and saved["panes"]["mix"]["weights"][1] == pytest.approx(0.6)
    again = MagstationApp(connect_engine=False)
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert again.query_one(TabbedContent).active == "mix"
        assert again.query_one(LatentMixPane).state.weights[1] == pytest.approx(0.6)


async def test_a_damaged_session_file_is_kept_aside_not_fatal(mag_home):
    (mag_home / "session.json").write_text("{ half a file")
    app = MagstationApp(connect_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "could not be read" in app.session.warning
    assert list(mag_home.glob("session.json.damaged-*"))


async def test_starts_the_engine_shows_jobs_and_stays_responsive(kill_spawned_engines):
    app = MagstationApp()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.engine.state == "ready")
        assert "ready" in engine_label(app)
        req = await app.engine.start_request("engine.sleep", {"seconds": 60, "steps": 600})
        await wait_until(pilot, lambda: len(app.query(JobRow)) == 1)
        # keys still work while the engine is busy
        for key in "1234":
            await pilot.press(key)
            await pilot.pause()
        assert app.query_one(TabbedContent).active == "drums"
        row = app.query_one(JobRow)
        assert row.job["method"] == "engine.sleep"
        await req.cancel()
        await wait_until(pilot, lambda: len(app.query(JobRow)) == 0)


async def test_engine_crash_is_reported_restarted_and_reconnected(kill_spawned_engines):
    two_mix_sources(kill_spawned_engines)
    app = MagstationApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4", "space")
        await wait_until(pilot, lambda: app.engine.state == "ready")
        assert app.session.typed("drums", DrumsState).pattern.velocities[0][0] == 80
        first_pid = app.engine.client.welcome["pid"]
        app.engine.history.clear()
        os.kill(first_pid, signal.SIGKILL)
        await wait_until(pilot, lambda: "down" in app.engine.history)
        await wait_until(pilot, lambda: "down" in engine_label(app) or app.engine.state != "down")
        await wait_until(pilot, lambda: app.engine.state == "ready"
                         and app.engine.client.welcome["pid"] != first_pid)
        assert app.engine.restarts == 1
        assert app.session.typed("drums", DrumsState).pattern.velocities[0][0] == 80  # nothing lost
        assert (await app.engine.call("engine.ping"))["pong"]


def test_the_tui_never_imports_tensorflow(mag_home):
    assert_tui_stays_light(mag_home, ["1", "2", "3", "4", "question_mark", "escape", "J"])
