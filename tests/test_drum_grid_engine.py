"""The drum grid with a real engine and fixture checkpoints: generate, edit, interpolate,
humanize, undo, audition, export — checked on the resulting notes and files."""

from __future__ import annotations

import asyncio
import json
import os
import signal

import pretty_midi
import pytest

from tests.conftest import ROOT
from tests.test_tui import wait_until
from engine import api
from tui.app import MagstationApp
from tui.engine_link import Cancelled, JobControl
from tui.panes.drum_grid import DrumGridPane, parse_taps, wire
from tui.widgets.job_progress import CANCELLED, JobProgress
from tui.widgets.prompt import AskText, Confirm

FIX = ROOT / "tests" / "fixtures" / "musicvae"
OVERRIDES = {
    "sample": {"checkpoint": str(FIX / "cat-drums_2bar_small"), "config": "cat-drums_2bar_small"},
    "interpolate": {"checkpoint": str(FIX / "cat-drums_2bar_small"), "config": "cat-drums_2bar_small"},
    "humanize": {"checkpoint": str(FIX / "groovae_2bar_humanize"), "config": "groovae_2bar_humanize"},
    "tap": {"checkpoint": str(FIX / "groovae_2bar_tap_fixed_velocity"),
            "config": "groovae_2bar_tap_fixed_velocity"},
}
SIZE = (130, 36)


@pytest.fixture
def app(kill_spawned_engines):
    session = {"version": 1, "pane": "drums", "panes": {"drums": {"model_overrides": OVERRIDES}}}
    (kill_spawned_engines / "session.json").write_text(json.dumps(session))
    return MagstationApp()


def grid(app) -> DrumGridPane:
    return app.query_one(DrumGridPane)


async def generated(pilot, app, count: int) -> None:
    await wait_until(pilot, lambda: len(grid(app).state.history) >= count and not grid(app).busy, 60)


async def test_generate_edit_interpolate_humanize_undo(app):
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.engine.state == "ready")
        g = grid(app)
        await pilot.press("s")
        await generated(pilot, app, 1)
        first = g.pattern.to_dict()
        seed = g.state.history[-1].seed
        assert g.state.seed == seed and g.pattern.hit_count() > 0
        # the same seed, locked, gives the same pattern
        await pilot.press("L", "s")
        await generated(pilot, app, 2)
        assert g.pattern.to_dict() == first
        # edit a cell, then undo it
        before = g.pattern.velocities[0][0]
        await pilot.press("space")
        assert g.pattern.velocities[0][0] != before
        await pilot.press("u")
        assert g.pattern.velocities[0][0] == before
        # two slots and an interpolation of 4 steps
        await pilot.press("a", "L", "s")
        await generated(pilot, app, 3)
        await pilot.press("b", "comma", "comma")
        assert g.state.interp_steps == 4
        await pilot.press("i")
        await generated(pilot, app, 4)
        assert len(g.state.chain) == 4
        await pilot.press("n")
        assert g.state.chain_index == 1 and g.pattern.to_dict() == wire(g.state.chain[1])
        # humanize: GrooVAE gives velocities and timing; undo brings the grid pattern back
        quantized = g.pattern.to_dict()
        await pilot.press("h")
        await generated(pilot, app, 5)
        offs = [o for row in g.pattern.offsets for o in row]
        assert any(abs(o) > 0 for o in offs)
        await pilot.press("u")
        assert g.pattern.to_dict() == quantized
        # history recall
        await pilot.press("y")
        await pilot.pause()
        await pilot.press("enter")  # newest first: the humanized pattern
        await pilot.pause()
        assert any(abs(o) > 0 for row in g.pattern.offsets for o in row)


async def interpolation_queued_behind_a_long_job(pilot, app):
    """Two patterns in slots A and B, a long job (a render, here engine.sleep) holding the
    model worker, and `i` pressed: the interpolation waits in the queue. Returns the
    long job's control and task (the test lets it go)."""
    await wait_until(pilot, lambda: app.engine.state == "ready")
    g = grid(app)
    await pilot.press("s")
    await generated(pilot, app, 1)
    await pilot.press("a", "s")
    await generated(pilot, app, 2)
    await pilot.press("b")
    blocker, started = JobControl(), asyncio.Event()
    sleeper = asyncio.create_task(app.engine.run_job(
        api.system.Sleep(seconds=600, steps=6000), lambda msg: started.set(), blocker))
    await wait_until(pilot, started.is_set, 60)
    await pilot.press("i")
    await wait_until(pilot, lambda: g.generating is not None and g.generating.request is not None)
    return blocker, sleeper


async def test_escape_cancels_an_interpolation_waiting_behind_a_long_job(app):
    """The model worker is busy with a long job (a render, here engine.sleep): the
    interpolation waits in the queue, and escape cancels it; the grid stays as it was."""
    async with app.run_test(size=SIZE) as pilot:
        blocker, sleeper = await interpolation_queued_behind_a_long_job(pilot, app)
        g = grid(app)
        before = g.pattern.to_dict()  # the pattern kept in slot B, on screen while queued
        progress = app.query_one("#drum-progress", JobProgress)
        assert "queued · escape cancels" in str(progress.render())
        await pilot.press("escape")
        await wait_until(pilot, lambda: g.generating is None, 60)
        assert progress.status == CANCELLED
        assert "interpolate cancelled: the grid is as it was" in str(progress.render())
        assert len(g.state.history) == 2 and not g.state.chain and g.pattern.to_dict() == before
        await blocker.cancel()
        assert isinstance(await sleeper, Cancelled)
        # the worker is free again: the next interpolation runs
        await pilot.press("i")
        await generated(pilot, app, 3)
        assert len(g.state.chain) == g.state.interp_steps


async def test_a_generation_replaced_by_a_newer_one_is_cancelled_in_the_engine(app):
    """`i` waits behind a long job; `s` replaces it (the pane runs one generation at a
    time): the engine drops the interpolation instead of running it before the sample."""
    async with app.run_test(size=SIZE) as pilot:
        blocker, sleeper = await interpolation_queued_behind_a_long_job(pilot, app)
        g = grid(app)
        await wait_until(pilot, lambda: [j["method"] for j in app.jobs]
                         == ["engine.sleep", "drums.interpolate"])  # the engine's pushed list
        await pilot.press("s")
        await wait_until(pilot, lambda: [j["method"] for j in app.jobs]
                         == ["engine.sleep", "drums.sample"])  # the interpolation is gone
        await blocker.cancel()
        assert isinstance(await sleeper, Cancelled)
        await generated(pilot, app, 3)
        assert [e.method for e in g.state.history] == ["drums.sample"] * 3 and not g.state.chain


async def test_tap_audition_and_export(app, tmp_path):
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.engine.state == "ready")
        g = grid(app)
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, AskText)
        await pilot.press(*"x...x...x.x.x...", "enter")
        await generated(pilot, app, 1)
        assert g.pattern.hit_count() > 0
        await pilot.press("enter")  # loop it
        await wait_until(pilot, lambda: g.playing)
        status = await app.engine.call("audio.status")
        assert status["playing"] and status["loop"] and status["duration_s"] == pytest.approx(4.0)
        await pilot.press("enter")
        await wait_until(pilot, lambda: not g.playing)
        await pilot.press("e")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, AskText)
        dialog.query_one("Input").value = str(tmp_path)
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(list(tmp_path.glob("*"))) == 2)
        mid = next(tmp_path.glob("*.mid"))
        notes = pretty_midi.PrettyMIDI(str(mid)).instruments[0].notes
        assert len(notes) == g.pattern.hit_count()
        # exporting again asks before overwriting
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await pilot.pause(1.0)
        assert len(list(tmp_path.glob("*"))) == 2



async def test_playhead_follows_the_engine_and_a_restart_clears_the_loop(app):
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.engine.state == "ready")
        g = grid(app)
        await pilot.press("space", "enter")  # one hit, looped
        await wait_until(pilot, lambda: g.playing and g.playhead is not None)
        # the playhead comes from the engine's pushed transport, not from asking it
        assert g._transport is not None and g._transport["label"] == "drum grid"
        first_pid = app.engine.client.welcome["pid"]
        os.kill(first_pid, signal.SIGKILL)
        await wait_until(pilot, lambda: not g.playing and g.playhead is None)
        assert "looping" not in str(app.query_one("#drum-cell").render())
        await wait_until(pilot, lambda: app.engine.state == "ready"
                         and app.engine.client.welcome["pid"] != first_pid)
        await pilot.press("enter")  # the first enter after the restart loops again
        await wait_until(pilot, lambda: g.playing and g.playhead is not None)
        status = await app.engine.call("audio.status")
        assert status["playing"] and status["label"] == "drum grid"
        await pilot.press("escape")
        await wait_until(pilot, lambda: not g.playing)


def test_typed_taps():
    assert parse_taps("x.X.", 8) == [80, 0, 110, 0, 0, 0, 0, 0]
    assert parse_taps("x... |x...", 8) == [80, 0, 0, 0, 80, 0, 0, 0]
