"""The job list (J) with a real engine process and a real batch process: a batch started
from the job list shows whole-batch and per-worker progress while it runs, stops on `x`
as Ctrl-C would, goes on when started again, and `a` puts its results in the library,
shown there as a set."""

from __future__ import annotations

import os
import signal

from engine.batch.runs import read_runs
from tests.test_batch import make_plan
from tests.test_tui import wait_until
from tui.app import MagstationApp
from tui.panes.library import LibraryPane
from tui.screens.jobs import JobsScreen, batch_rows, remaining
from tui.widgets.job_progress import fmt_eta

SIZE = (140, 36)


def cells(screen: JobsScreen, key: str) -> list[str]:
    table = screen.table
    try:
        return [str(c) for c in table.get_row(key)]
    except Exception:  # noqa: BLE001 - no such row (yet)
        return []


def run_of(app) -> dict:
    return next(iter(app.batches), {})


async def test_job_list_follows_a_batch_started_from_it_and_adds_it_to_the_library(kill_spawned_engines):
    home = kill_spawned_engines
    plan = make_plan(home / "p", kinds=("nsynth_grid",))  # a short path: it is typed key by key
    plan.write_text(plan.read_text().replace('name = "t"', 'name = "t"\noutput = "out"'))
    out = str((plan.parent / "out").resolve())
    app = MagstationApp()
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.engine.state == "ready")
            await pilot.press("J")
            assert isinstance(app.screen, JobsScreen)
            screen = app.screen
            await pilot.press("s", *str(plan), "enter")
            await wait_until(pilot, lambda: run_of(app).get("state") == "running")
            key = run_of(app)["key"]
            # while it runs: the batch's row, and a row for its worker
            await wait_until(pilot, lambda: "running" in cells(screen, f"batch:{key}")
                             and cells(screen, f"worker:{key}:local"))
            row = cells(screen, f"batch:{key}")
            assert row[0] == "batch t" and row[2].startswith("0/2") and row[4] == out

            # x stops it as Ctrl-C would; s again goes on from what finished
            await pilot.press("x")
            await wait_until(pilot, lambda: run_of(app).get("state") == "stopped")
            assert "Ctrl-C" in run_of(app)["error"]
            await pilot.press("s", *str(plan), "enter")
            await wait_until(pilot, lambda: run_of(app).get("state") == "done")
            run = run_of(app)
            assert run["done"] + run["skipped"] == 2 and run["failed"] == 0
            await wait_until(pilot, lambda: "done" in cells(screen, f"batch:{key}"))
            row = cells(screen, f"batch:{key}")
            assert row[2].startswith(f"{run['done']}/{run['done']} 100%")

            # a: into the library, shown there as the batch's set
            await pilot.press("a")
            await wait_until(pilot, lambda: not isinstance(app.screen, JobsScreen))
            lib = app.query_one(LibraryPane)
            assert lib.state.filter == "#batch:t"
            await wait_until(pilot, lambda: len(lib.sounds) == 8 + 4)  # 2 pitches x 2 x 2, 4 sources
            assert all("batch:t" in s["tags"] for s in lib.sounds.values())
            assert all(s["path"].startswith(out + "/") for s in lib.sounds.values())
    finally:
        for r in read_runs():  # a batch the test left running
            if r.get("state") == "running":
                os.kill(int(r["pid"]), signal.SIGKILL)


def test_rows_count_the_etas_down_between_records():
    run = {"key": "k", "name": "g", "state": "running", "total": 10, "done": 4, "failed": 0,
           "skipped": 2, "eta_s": 60.0, "updated": 1000.0, "out": "/o", "ray": "auto",
           "workers": [{"name": "w0", "done": 2, "mean_s": 5.0, "current": "t5", "eta_s": 4.0},
                       {"name": "w1", "done": 2, "mean_s": 6.0, "current": None, "eta_s": None}]}
    rows = dict(batch_rows(run, now=1010.0))
    batch = [str(c) for c in rows["batch:k"]]
    assert batch[0] == "batch g (Ray)" and batch[2] == "4/10 40% (+2 already done)"
    assert batch[3] == fmt_eta(remaining(60.0, 1000.0, 1010.0)) == "0m50s"
    w0, w1 = ([str(c) for c in rows[f"worker:k:{n}"]] for n in ("w0", "w1"))
    assert w0[1:] == ["busy", "2 done, 5.0 s/task", "0m00s", "t5"]
    assert w1[1:] == ["idle", "2 done, 6.0 s/task", "-", ""]
    finished = dict(batch_rows({**run, "state": "done", "done": 10}, now=1010.0))
    assert list(finished) == ["batch:k", "worker:k:w0", "worker:k:w1"]  # several workers: kept
    assert [str(c) for c in finished["batch:k"]][3] == "-"
