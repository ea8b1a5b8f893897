"""`magstation batch`: run a plan of engine method calls here or on a Ray cluster, and
write plans for the common shapes.

    magstation batch PLAN.toml --out results/                 # here, on this machine's device
    magstation batch PLAN.toml --out results/ --ray auto      # Ray: this machine's cluster
    magstation batch PLAN.toml --ray 10.0.0.5:6379 --workers 8
    magstation batch PLAN.toml --add-to-library               # then into the sample library
    magstation batch nsynth-grid a.wav b.wav c.wav d.wav --pitches 48 60 --grid 4 \\
        --seconds 1 --seed 0 --plan grid.toml                 # writes grid.toml
    magstation batch gansynth-renders midi/ --seeds 1 2 3 --plan renders.toml
    magstation batch drum-bank --temperatures 0.5 1.0 1.5 --count 16 --seed 0 --plan drums.toml
    magstation batch melody-bank --temperatures 0.8 1.2 --count 8 --plan melodies.toml

Re-running a plan skips what is finished (manifest.json in the output folder); Ctrl-C
stops cleanly. docs/batch.md has the plan format and the cluster set-up.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.errors import EngineError

GENERATORS = ("nsynth-grid", "gansynth-renders", "drum-bank", "melody-bank")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "batch", help="run a plan of method calls here or on a Ray cluster; write plans",
        description="magstation batch PLAN [options] runs a plan; magstation batch "
                    f"{{{','.join(GENERATORS)}}} ... writes one. `magstation batch PLAN -h` and "
                    "`magstation batch nsynth-grid -h` list the options.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n")[1])
    p.add_argument("target", metavar="PLAN|GENERATOR",
                   help=f"a plan (.toml) to run, or one of {', '.join(GENERATORS)}")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="options of the run or the generator")
    p.set_defaults(func=cmd_batch)


def run_parser() -> argparse.ArgumentParser:
    s = argparse.ArgumentParser(prog="magstation batch PLAN",
                                description="Run a batch plan; finished tasks are skipped.")
    s.add_argument("--out", type=Path, default=None,
                   help="output folder (default: `output` of the plan's [batch] table)")
    s.add_argument("--ray", default=None, metavar="auto|ADDRESS",
                   help="run on a Ray cluster: auto (the one on this machine, or a new local "
                        "one) or host:port of its head; needs `pip install 'magstation[scale]'`")
    s.add_argument("--workers", type=int, default=None,
                   help="Ray actors (default: one per GPU, or one per --cpus-per-worker CPUs)")
    s.add_argument("--cpus-per-worker", type=float, default=1.0, help="CPUs per Ray actor")
    s.add_argument("--retries", type=int, default=3, help="attempts before a task is failed")
    s.add_argument("--dry-run", action="store_true", help="list the tasks, run nothing")
    s.add_argument("--quiet", action="store_true", help="no progress lines")
    s.add_argument("--add-to-library", action="store_true",
                   help="then add the results to the sample library (as `magstation library "
                        "add-batch OUT`): grids become a set tagged with their places")
    return s


def _plan_target(s: argparse.ArgumentParser) -> None:
    s.add_argument("--plan", type=Path, required=True, help="the plan file to write (.toml)")
    s.add_argument("--out", default=None, help="the output folder the plan names "
                                               "(default: <plan name>-out next to the plan)")
    s.add_argument("--overwrite", action="store_true", help="replace an existing plan file")
    s.add_argument("--name", default=None, help="prefix of the task ids and file names")


def generator_parser(kind: str) -> argparse.ArgumentParser:
    s = argparse.ArgumentParser(prog=f"magstation batch {kind}")
    if kind == "nsynth-grid":
        s.description = "An N x N XY-pad grid of 2-4 sounds at several pitches (NSynth)."
        s.add_argument("sounds", nargs="+", help="2-4 sound files (corners)")
        s.add_argument("--pitches", type=int, nargs="+", default=[60], help="MIDI pitches")
        s.add_argument("--base-pitch", type=int, default=60, help="the pitch the sounds are at")
        s.add_argument("--grid", type=int, default=3, help="N of the N x N grid")
        s.add_argument("--seconds", type=float, default=1.0, help="length of every sound")
        s.add_argument("--seed", type=int, default=0)
        s.add_argument("--checkpoint", default=None, help="NSynth checkpoint name or path")
    elif kind == "gansynth-renders":
        s.description = "Every MIDI file x instruments (seeds, saved keyframes) with GANSynth."
        s.add_argument("midi", nargs="+", help="MIDI files or folders of them")
        s.add_argument("--seeds", type=int, nargs="*", default=[], help="random instruments")
        s.add_argument("--keyframes", nargs="*", default=[],
                       help="saved keyframes (JSON: a list of {time, seed|z})")
        s.add_argument("--model", default=None, help="acoustic_only or all_instruments")
        s.add_argument("--checkpoint", default=None, help="a checkpoint folder instead")
        s.add_argument("--secs-per-instrument", type=float, default=None)
    else:
        what = "drum patterns (also as MIDI)" if kind == "drum-bank" else "2-bar melodies (MIDI)"
        s.description = f"`count` {what} at each temperature (MusicVAE)."
        s.add_argument("--temperatures", type=float, nargs="+", default=[1.0])
        s.add_argument("--count", type=int, default=4, help="per temperature")
        s.add_argument("--seed", type=int, default=0)
        s.add_argument("--model", default=None, help="an installed model name")
        s.add_argument("--checkpoint", default=None, help="a checkpoint folder instead")
        s.add_argument("--config", default=None, help="the checkpoint's config name")
        s.add_argument("--qpm", type=float, default=None)
    _plan_target(s)
    return s


def generator_doc(kind: str, args: argparse.Namespace) -> dict:
    """The plan document a generator shortcut writes (paths made absolute)."""
    ab = lambda p: str(Path(p).expanduser().resolve())  # noqa: E731
    ck = lambda p: (ab(p) if p and ("/" in p or Path(p).exists()) else p)  # noqa: E731
    if kind == "nsynth-grid":
        spec = {"sounds": [ab(s) for s in args.sounds], "pitches": args.pitches,
                "base_pitch": args.base_pitch, "grid": args.grid, "seconds": args.seconds,
                "seed": args.seed, "checkpoint": ck(args.checkpoint), "name": args.name}
    elif kind == "gansynth-renders":
        spec = {"midi": [ab(m) for m in args.midi], "seeds": args.seeds,
                "keyframes": [ab(k) for k in args.keyframes], "model": args.model,
                "checkpoint": ck(args.checkpoint),
                "secs_per_instrument": args.secs_per_instrument, "name": args.name}
    else:
        spec = {"temperatures": args.temperatures, "count": args.count, "seed": args.seed,
                "model": args.model, "checkpoint": ck(args.checkpoint), "config": args.config,
                "qpm": args.qpm, "name": args.name}
    plan = Path(args.plan).expanduser()
    out = args.out or f"{plan.stem}-out"
    return {"batch": {"name": plan.stem, "output": out},
            kind.replace("-", "_"): [{k: v for k, v in spec.items() if v is not None}]}


def cmd_batch(args: argparse.Namespace) -> int:
    if args.target in GENERATORS:
        return cmd_generate(args.target, generator_parser(args.target).parse_args(args.rest))
    return cmd_run(Path(args.target), run_parser().parse_args(args.rest))


def cmd_generate(kind: str, args: argparse.Namespace) -> int:
    from engine.batch.plan import load_plan, read_plan_file, write_plan

    doc = generator_doc(kind, args)
    path = write_plan(args.plan, doc, overwrite=args.overwrite)
    try:  # check it reads and expands (pitched sources are prepared at run time)
        read_plan_file(path)
        if kind != "nsynth-grid":
            plan = load_plan(path)
            n = len(plan.tasks)
        else:
            n = len(args.pitches) * -(-args.grid ** 2 // 16)
    except Exception:
        path.unlink()
        raise
    print(f"wrote {path} ({n} tasks). Run it with `magstation batch {path}` "
          "(add `--ray auto` for a Ray cluster).")
    return 0


def cmd_run(plan_path: Path, args: argparse.Namespace) -> int:
    from engine.batch.plan import load_plan, read_plan_file
    from engine.batch.runner import run_plan

    if args.ray is not None:
        from engine.batch.runner_ray import import_ray
        import_ray()  # says how to install it before anything else
    doc = read_plan_file(plan_path)
    base = plan_path.expanduser().resolve().parent
    out = args.out if args.out is not None else (base / doc.batch.output if doc.batch.output else None)
    if out is None:
        print("magstation batch: say where the results go: --out FOLDER (or `output` in the "
              "plan's [batch] table)", file=sys.stderr)
        return 2
    if args.dry_run:
        import tempfile
        plan = load_plan(plan_path, output=Path(tempfile.mkdtemp(prefix="ms-batch-dry-")))
        for t in plan.tasks:
            print(f"{t.id}\t{t.method}\t{json.dumps(t.params)[:200]}")
        print(f"{len(plan.tasks)} tasks", file=sys.stderr)
        return 0
    try:
        plan = load_plan(plan_path, output=out)
    except EngineError as e:  # the job list shows why a batch it started never ran
        from engine.batch.runs import ERROR, RunRecorder
        RunRecorder(Path(out), plan=str(plan_path.expanduser().resolve()),
                    name=doc.batch.name, ray=args.ray).update({}, ERROR, e.message)
        raise
    summary = run_plan(plan, out, ray=args.ray, workers=args.workers,
                       cpus_per_worker=args.cpus_per_worker, retries=args.retries,
                       quiet=args.quiet, record=True)
    report = {"out": summary.out, "tasks": summary.total, "done": summary.done,
              "skipped": summary.skipped, "failed": summary.failed,
              "wall_s": round(summary.wall_s, 2), "workers": summary.workers,
              "failures": summary.failures}
    if args.add_to_library:  # what finished goes in, even when some tasks failed
        from engine.local import run_method
        report["library"] = run_method("library.add_batch", {"out": summary.out}, quiet=True)
    print(json.dumps(report, indent=2))
    return 0 if summary.ok else 1
