"""Batch runs from the engine: start `magstation batch PLAN` as a process of its own, stop
one as Ctrl-C would. `batch.runs` is answered by the server from its RunWatcher."""

from __future__ import annotations

from pathlib import Path

from engine.api import batch as api
from engine.batch import runs
from engine.context import JobContext
from engine.errors import BadInput, BadRequest
from engine.methods import method


def _plan_out(plan: Path, out: str | None) -> Path:
    from engine.batch.plan import read_plan_file

    doc = read_plan_file(plan)  # a bad plan is answered now, not in a log
    if out is not None:
        return Path(out).expanduser().resolve()
    if not doc.batch.output:
        raise BadRequest(f"{plan} names no output folder: give `out` (or `output` in the "
                         "plan's [batch] table)", param="out")
    return (plan.parent / doc.batch.output).resolve()


@method("batch.start")
def start(params: api.Start, ctx: JobContext) -> dict:
    plan = Path(params.plan).expanduser()
    if not plan.is_absolute():
        raise BadRequest(f"{params.plan!r} is not an absolute path; give the full path of the "
                         "plan file", param="plan")
    if not plan.is_file():
        raise BadInput(f"{plan}: no such plan file; write one with `magstation batch "
                       "nsynth-grid ...` (docs/batch.md)", path=str(plan), param="plan")
    out = _plan_out(plan, params.out)
    if (busy := runs.running(out, runs.BATCH)) is not None:
        raise BadRequest(f"a batch is already running into {out} (pid {busy.get('pid')}); stop "
                         "it first or choose another output folder", param="out")
    argv = ["-m", "engine.batch", str(plan), "--out", str(out)]
    if params.ray:
        argv += ["--ray", params.ray]
    if params.workers:
        argv += ["--workers", str(params.workers)]
    if params.add_to_library:
        argv.append("--add-to-library")
    log = runs.log_path(out)
    proc = runs.launch(argv, log, cwd=plan.parent)
    return {"pid": proc.pid, "plan": str(plan), "out": str(out), "log": str(log),
            "key": runs.run_key(out)}


@method("batch.stop")
def stop(params: api.Stop, ctx: JobContext) -> dict:
    # SIGINT: the runner stops cleanly, as on Ctrl-C
    return runs.stop_run(Path(params.out).expanduser().resolve(), runs.BATCH, "batch")
