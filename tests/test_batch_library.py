"""A finished batch into the sample library in one step (real batch run on the fixture
NSynth checkpoint, real SQLite), and the run records the engine pushes to the job list."""

from __future__ import annotations

import json
import os
import re
import time
import subprocess
import sys
from pathlib import Path

import pytest

from engine.batch.manifest import NAME
from engine.batch.plan import load_plan
from engine.batch.runner import run_plan
from engine.batch.runs import read_runs, record_path
from engine.errors import BadInput
from engine.local import run_method
from engine.store import get_store
from tests.test_batch import make_plan

GRID = 2  # make_plan's nsynth_grid: 2 x 2 at pitches 60 and 67


def grid_places(manifest: dict) -> dict[str, set[str]]:
    """For every grid cell the manifest lists: the place tags it should get, worked out from
    the task's own params (the name it asked for, its XY-pad position, its pitch's task)."""
    want = {}
    for task_id, e in manifest["tasks"].items():
        pitch = int(task_id.split("-p")[1][:3])
        for name, mix in zip(e["params"]["names"], e["params"]["mixes"]):
            x, y = (round(v * (GRID - 1)) for v in mix["xy"])
            want[str(Path(manifest_out(manifest)) / task_id / f"{name}.wav")] = {
                "batch:t", "nsynth", "grid:grid", f"pitch:{pitch}", f"x:{x}", f"y:{y}"}
    return want


def manifest_out(manifest: dict) -> str:
    return manifest["_out"]


@pytest.fixture
def finished_grid(mag_home, tmp_path):
    path = make_plan(tmp_path, kinds=("nsynth_grid",))
    out = tmp_path / "out"
    summary = run_plan(load_plan(path, output=out), out, quiet=True, record=True)
    assert summary.ok and summary.done == 2
    manifest = json.loads((out / NAME).read_text())
    manifest["_out"] = str(out.resolve())
    return out.resolve(), manifest


def test_run_record_says_done_with_the_workers_and_stopped_once_its_process_is_gone(finished_grid):
    out, manifest = finished_grid
    [run] = read_runs()
    assert run["out"] == str(out) and run["state"] == "done" and run["pid"] == os.getpid()
    assert (run["total"], run["done"], run["failed"]) == (len(manifest["tasks"]), 2, 0)
    [worker] = run["workers"]
    assert worker["name"] == "local" and worker["done"] == 2 and worker["mean_s"] > 0
    assert worker["current"] is None

    # a record still "running" whose process is gone (killed before it could say so)
    rec = json.loads(record_path(out).read_text())
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    rec.update(state="running", pid=int(dead.stdout))
    record_path(out).write_text(json.dumps(rec))
    [run] = read_runs()
    assert run["state"] == "stopped" and "ended without finishing" in run["error"]


def test_adding_a_batch_puts_every_output_in_with_its_grid_place_once(finished_grid):
    out, manifest = finished_grid
    want = grid_places(manifest)
    sources = sorted(str(f) for f in (out / "sources").iterdir())
    assert len(want) == 2 * GRID * GRID and len(sources) == 4

    res = run_method("library.add_batch", {"out": str(out)}, quiet=True)
    assert res["sets"] == ["batch:t"] and res["sounds"] == len(want) + len(sources)
    assert res["added"] == res["sounds"] and res["bad"] == 0
    store = get_store()
    for path, tags in want.items():
        row = store.sound(path)
        assert row is not None and row.ok and set(row.tags) == tags, (path, row)
    for path in sources:
        assert set(store.sound(path).tags) == {"batch:t", "grid-source"}
    # the set and one column of it, as the library pane's `#tag` filter asks for them
    listed = run_method("library.list", {"tag": "batch:t"}, quiet=True)["sounds"]
    assert sorted(s["path"] for s in listed) == sorted([*want, *sources])
    column = run_method("library.list", {"tag": "x:1"}, quiet=True)["sounds"]
    assert sorted(s["path"] for s in column) == sorted(p for p, t in want.items() if "x:1" in t)

    # a tag of the user's own survives; adding again and rescanning duplicate nothing
    one = next(iter(want))
    run_method("library.tag", {"path": one, "add": ["keeper"]}, quiet=True)
    again = run_method("library.add_batch", {"out": str(out)}, quiet=True)
    assert (again["added"], again["unchanged"]) == (0, res["sounds"])
    run_method("library.scan", {}, quiet=True)  # the batch folder is one of the library's now
    assert sorted(s.path for s in store.sounds_under(out)) == sorted([*want, *sources])
    assert set(store.sound(one).tags) == want[one] | {"keeper"}
    assert str(out) in store.folders()


def test_adding_a_folder_that_is_no_batch_says_what_to_give(mag_home, tmp_path):
    with pytest.raises(BadInput, match=r"no manifest\.json here.*give the folder `magstation batch` wrote"):
        run_method("library.add_batch", {"out": str(tmp_path)}, quiet=True)


def test_cli_progress_gives_every_worker_an_eta_from_the_first_task_on():
    from engine.batch.runner import Progress

    p = Progress(4, ["w0", "w1"], quiet=True)
    w0, w1 = p.workers["w0"], p.workers["w1"]
    w0.done, w0.busy_s = 2, 10.0  # 5 s a task so far
    w1.current, w1.started = "t3", time.monotonic()  # on its first task: the batch's mean
    p.done = 2
    line = p.line()
    assert re.search(r"\| w0: 2 done, 5\.0s/task, idle \| w1: 0 done, -, t3 ETA 0m0[0-5]s$", line), line
    assert re.match(r"\[2/4\]  50\.0% ETA \d+m\d\ds", line), line
    snap = p.snapshot()["workers"]
    assert snap[0]["mean_s"] == 5.0 and snap[0]["eta_s"] is None
    assert snap[1]["current"] == "t3" and 0.0 <= snap[1]["eta_s"] <= 5.0


def test_a_plan_that_cannot_run_leaves_a_record_saying_why(mag_home, tmp_path, capsys):
    from engine.cli import main

    plan = tmp_path / "plan.toml"
    plan.write_text('[batch]\nname = "b"\noutput = "o"\n[[task]]\nmethod = "drums.sample"\n'
                    'params = { n = 1, seed = 1, temperature = 9.0 }\n')
    assert main(["batch", str(plan)]) == 2
    [run] = read_runs()
    assert run["state"] == "error" and run["out"] == str((tmp_path / "o").resolve())
    assert "`temperature` = 9.0 is not allowed" in run["error"]
    assert run["error"] in capsys.readouterr().err
