"""Training runs in the background: a real engine starts `magstation train melody` on the
folk fixture as a process of its own; its record reports step/total, loss and done; stop
mid-run leaves a resumable checkpoint; the job list (J) starts one from its prompts, shows
it, and installs the finished bundle as a model that models.list then lists."""

from __future__ import annotations

import os
import signal

import pytest

from engine.batch.runs import TRAIN, read_runs
from engine.errors import EngineError
from engine.train.trainer import latest_checkpoint
from tests.conftest import ROOT
from tests.test_engine_events import Events
from tests.test_tui import wait_until
from tui.app import MagstationApp
from tui.screens.jobs import JobsScreen, train_row
from tui.widgets.prompt import AskText

FOLK = ROOT / "tests" / "fixtures" / "folk_midi"
TINY = {"layers": [16, 16], "batch_size": 4, "max_len": 48}


def kill_left_running() -> None:
    for r in read_runs():
        if r.get("state") == "running":
            os.kill(int(r["pid"]), signal.SIGKILL)


def train_run(msg: dict) -> dict:
    return next((r for r in msg.get("batches") or [] if r.get("kind") == TRAIN), {})


async def test_a_background_run_reports_progress_stops_resumably_and_resumes(connect, tmp_path):
    out = tmp_path / "run"
    c = await connect("ui")
    ev = Events(c)
    await c.call("engine.subscribe", {"topics": ["batches"]})
    with pytest.raises(EngineError, match="data"):  # bad input names the parameter
        await c.call("train.start", {"data": str(tmp_path), "steps": 2, "out": str(out)})
    with pytest.raises(EngineError, match="config"):
        await c.call("train.start", {"data": str(FOLK), "config": "rnn", "steps": 2})
    try:
        res = await c.call("train.start", {"data": str(FOLK), "steps": 100_000, "out": str(out),
                                           "name": "folk", **TINY})
        assert res["out"] == str(out.resolve()) and res["bundle"].endswith("attention_rnn.mag")
        going = train_run(await ev.wait(lambda m: m["event"] == "batches"
                                        and (train_run(m).get("done") or 0) >= 2))
        assert going["state"] == "running" and going["total"] == 100_000
        assert going["name"] == "folk" and going["config"] == "attention_rnn"
        assert going["loss"] > 0 and going["eta_s"] is not None
        with pytest.raises(EngineError, match="already"):  # one run per folder
            await c.call("train.start", {"data": str(FOLK), "steps": 5, "out": str(out)})

        await c.call("train.stop", {"out": str(out)})
        stopped = train_run(await ev.wait(lambda m: m["event"] == "batches"
                                          and train_run(m).get("state") != "running"))
        assert stopped["state"] == "stopped" and "resume" in stopped["error"]
        step = stopped["done"]
        assert latest_checkpoint(out) == out / f"model.ckpt-{step}"
        assert stopped["bundle"] == str(out / "attention_rnn.mag")
        assert (out / "attention_rnn.mag").is_file()

        # started again, it resumes from the checkpoint and finishes
        await c.call("train.start", {"data": str(FOLK), "steps": step + 2, "out": str(out),
                                     "name": "folk", **TINY})
        done = train_run(await ev.wait(lambda m: m["event"] == "batches"
                                       and train_run(m).get("state") not in ("running", "stopped")))
        assert done["state"] == "done", done
        assert done["start_step"] == step and done["done"] == done["total"] == step + 2
        assert latest_checkpoint(out) == out / f"model.ckpt-{step + 2}"
    finally:
        kill_left_running()


def test_rows_show_step_loss_and_what_to_do():
    run = {"key": "k", "kind": "train", "name": "folk", "config": "basic_rnn", "state": "running",
           "total": 200, "done": 50, "loss": 2.5, "eta_s": 30.0, "updated": 100.0, "out": "/o"}
    key, cells = train_row(run, now=110.0)
    cells = [str(c) for c in cells]
    assert key == "train:k" and cells[0] == "train folk (basic_rnn)"
    assert cells[2] == "step 50/200 25% · loss 2.50" and cells[3] == "0m20s"
    _, cells = train_row({**run, "state": "done", "done": 200, "bundle": "/o/basic_rnn.mag"}, 110.0)
    assert [str(c) for c in cells][3:] == ["-", "i: install · /o/basic_rnn.mag"]


async def test_job_list_trains_from_its_prompts_and_installs_the_model(kill_spawned_engines,
                                                                        monkeypatch):
    home = kill_spawned_engines  # models install into the test's home (the engine inherits it)
    monkeypatch.setenv("MAGSTATION_CHECKPOINTS", str(home / "checkpoints"))
    monkeypatch.setenv("MAGSTATION_MANIFEST", str(ROOT / "checkpoints" / "manifest"))
    app = MagstationApp()

    def run() -> dict:
        return next((r for r in app.batches if r.get("kind") == TRAIN), {})

    def cells(screen: JobsScreen) -> list[str]:
        try:
            return [str(c) for c in screen.table.get_row(f"train:{run()['key']}")]
        except Exception:  # noqa: BLE001 - no such row (yet)
            return []
    try:
        async with app.run_test(size=(140, 36)) as pilot:
            await wait_until(pilot, lambda: app.engine.state == "ready")
            await pilot.press("J")
            screen = app.screen
            assert isinstance(screen, JobsScreen)
            # the folder, the config (default), the steps
            await pilot.press("t", *str(FOLK), "enter", "enter", *["backspace"] * 4, "1", "enter")
            await wait_until(pilot, lambda: run().get("state") == "done")
            await wait_until(pilot, lambda: "done" in cells(screen))
            row = cells(screen)
            assert row[0] == "train folk_midi-attention_rnn (attention_rnn)"
            assert row[2].startswith("step 1/1 100%") and "i: install" in row[4]
            screen.table.move_cursor(row=screen.table.get_row_index(f"train:{run()['key']}"))
            await pilot.press("i", "enter")  # the run's name is offered as the model's
            await wait_until(pilot, lambda: getattr(screen, "last_installed", None) is not None
                             or "could not install" in app.notices.text())
            installed = getattr(screen, "last_installed", None) or {}
            assert installed.get("name") == "folk_midi-attention_rnn", app.notices.text()
            listed = await app.engine.call("models.list")
            mine = next(m for m in listed["models"] if m["name"] == "folk_midi-attention_rnn")
            assert mine["installed"] and mine["family"] == "melody_rnn", mine
            assert mine["config"] == "attention_rnn"  # from the bundle's generator id
            # the palette's "Train a melody model" asks the same first question
            await pilot.press("escape")
            assert not isinstance(app.screen, JobsScreen)
            app.action_train_melody()
            await wait_until(pilot, lambda: isinstance(app.screen, AskText))
            assert "folder of MIDI files" in app.screen.question
            assert isinstance(app.screen_stack[-2], JobsScreen)
    finally:
        kill_left_running()
