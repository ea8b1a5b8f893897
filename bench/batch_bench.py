"""`magstation batch` throughput: an NSynth grid (official-size NSynth, random weights) run
here through the batch runner, and on a local Ray cluster with 1 and 2 workers, against
calling the engine's job function directly. All in one process and one run, so the
ratios compare like with like on a busy machine.

    python -m bench.batch_bench [--tasks 4] [--seconds 0.032] [--repeats 2]

Each task is one nsynth.synth call of 16 voices (a 4x4 grid cell batch). Warm numbers:
every worker has loaded the model and compiled its step before the timed plan starts (a
warm-up plan of one task per worker); cold start (actor + TF import + load + compile) is
reported on its own. Prints one BENCH_JSON line.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from bench.common import cache_dir, emit, stats

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def log(msg: str) -> None:
    import sys
    print(f"[batch_bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def nsynth_checkpoint() -> Path:
    """Random weights at the official H512_BO16 sizes as a TF checkpoint (made once)."""
    d = cache_dir() / "nsynth-native"
    prefix = d / "model.ckpt-200000"
    if (d / ".complete").exists():
        return prefix
    import numpy as np
    import tensorflow as tf

    from engine.models.nsynth import H512_BO16, variable_shapes_for

    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.RandomState(0)
    names, tensors = [], []
    for name, shape in sorted(variable_shapes_for(H512_BO16).items()):
        fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
        names.append(name)
        tensors.append(tf.constant(((1 / np.sqrt(fan_in) if len(shape) > 1 else 0.05)
                                    * rng.randn(*shape)).astype(np.float32)))
    tf.raw_ops.SaveV2(prefix=str(prefix), tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=tensors)
    (d / ".complete").write_text("ok")
    return prefix


def sounds(folder: Path) -> list[str]:
    import numpy as np
    import soundfile as sf

    out = []
    t = np.arange(16000) / 16000
    for i, f in enumerate((110, 220, 330, 440)):
        p = folder / f"tone{i}.wav"
        wave = np.sin(2 * np.pi * f * t) if i % 2 == 0 else np.sign(np.sin(2 * np.pi * f * t))
        sf.write(p, (0.3 * wave).astype(np.float32), 16000, subtype="PCM_16")
        out.append(str(p))
    return out


def plan_for(folder: Path, ckpt: Path, srcs: list[str], pitches: list[int], seconds: float, seed: int):
    from engine.batch.plan import PlanFile, expand

    doc = PlanFile(nsynth_grid=[{"sounds": srcs, "pitches": pitches, "grid": 4,
                                 "seconds": seconds, "seed": seed, "checkpoint": str(ckpt)}])
    return expand(doc, base=folder, output=folder / "prep")


DRUMS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "musicvae" / "cat-drums_2bar_small"


def tiny_plan(n: int, seed0: int):
    """n quick tasks (drums.sample n=1 on the small test checkpoint, milliseconds each):
    what a runner adds per task shows above the work."""
    from engine.batch.plan import Plan, Task

    return Plan(name="tiny", tasks=[Task(id=f"t{i}", method="drums.sample", params={
        "checkpoint": str(DRUMS), "config": "cat-drums_2bar_small", "n": 1, "seed": seed0 + i})
        for i in range(n)])


def overhead(r: dict, work: Path, n: int, ray_executor=None, key: str = "local") -> None:
    from engine import methods
    from engine.batch.runner import LocalExecutor, run_plan
    from engine.context import JobContext

    m = methods.get("drums.sample")
    for t in tiny_plan(3, 0).tasks:  # warm: model loaded, converters ready
        m.func(t.params, JobContext(work_dir=work))
    if "tiny.direct_s" not in r:
        t0 = time.perf_counter()
        for t in tiny_plan(n, 1000).tasks:
            m.func(t.params, JobContext(work_dir=work))
        r["tiny.direct_s"] = (time.perf_counter() - t0) / n
    ex = ray_executor or LocalExecutor()
    run_plan(tiny_plan(3, 0), work / f"tiny-{key}-warm", quiet=True, executor=ex)
    t0 = time.perf_counter()
    s = run_plan(tiny_plan(n, 1000), work / f"tiny-{key}", quiet=True, executor=ex)
    assert s.ok and s.done == n
    r[f"tiny.{key}_s"] = (time.perf_counter() - t0) / n
    r[f"tiny.{key}_overhead_s"] = r[f"tiny.{key}_s"] - r["tiny.direct_s"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=4, help="tasks (16 voices each) per timed plan")
    ap.add_argument("--seconds", type=float, default=0.032, help="audio per voice")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--no-ray", action="store_true")
    args = ap.parse_args()

    from engine import methods
    from engine.batch.runner import LocalExecutor, run_plan
    from engine.context import JobContext

    work = Path(tempfile.mkdtemp(prefix="ms-batch-bench-"))
    ckpt = nsynth_checkpoint()
    srcs = sounds(work)
    r: dict = {"tasks": args.tasks, "voices_per_task": 16, "seconds_per_voice": args.seconds,
               "cpus": os.cpu_count(), "load_avg_start": os.getloadavg()[0]}
    pitches = list(range(60, 60 + args.tasks))
    warm = plan_for(work, ckpt, srcs, [48, 49], args.seconds, 1)

    def timed_plan(rep: int):
        return plan_for(work, ckpt, srcs, pitches, args.seconds, 100 + rep)

    # 1. the engine's job function called directly (what the runners wrap)
    log("direct calls")
    synth = methods.get("nsynth.synth")
    t0 = time.perf_counter()
    synth.func(warm.tasks[0].params, JobContext(work_dir=work / "direct-warm"))
    r["cold_local_s"] = time.perf_counter() - t0
    per_task = []
    for rep in range(args.repeats):
        for t in timed_plan(rep).tasks:
            t0 = time.perf_counter()
            synth.func(t.params, JobContext(work_dir=work / f"direct-{rep}-{t.id}"))
            per_task.append(time.perf_counter() - t0)
    r["direct_task_s"] = stats(per_task)

    # 2. the batch runner in this process (same warm model)
    log(f"direct: {r['direct_task_s']['median']:.2f} s/task; local runner")
    local = []
    for rep in range(args.repeats):
        out = work / f"local-{rep}"
        t0 = time.perf_counter()
        s = run_plan(timed_plan(rep), out, quiet=True, executor=LocalExecutor())
        local.append((time.perf_counter() - t0) / s.done)
    r["local_task_s"] = stats(local)
    overhead(r, work, 20)

    # 3. Ray, 1 and 2 workers (warm actors)
    if not args.no_ray:
        import ray

        from engine.batch.runner_ray import RayExecutor

        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"TF_CPP_MIN_LOG_LEVEL": "2"}})
        try:
            for n in (1, 2):
                log(f"ray, {n} worker(s)")
                t0 = time.perf_counter()
                ex = RayExecutor("auto", workers=n, cpus_per_worker=1)
                run_plan(warm, work / f"ray{n}-warm", quiet=True, executor=ex)
                r[f"ray{n}.cold_s"] = time.perf_counter() - t0
                if n == 1:
                    overhead(r, work, 20, ex, "ray1")
                walls = []
                for rep in range(args.repeats):
                    t0 = time.perf_counter()
                    s = run_plan(timed_plan(rep), work / f"ray{n}-{rep}", quiet=True, executor=ex)
                    walls.append(time.perf_counter() - t0)
                    assert s.ok and s.done == args.tasks
                ex.close()
                r[f"ray{n}.plan_s"] = stats(walls)
                r[f"ray{n}.task_s"] = stats([w / args.tasks for w in walls])
                r[f"ray{n}.voices_per_s"] = args.tasks * 16 / min(walls)
            # same bytes as the local run
            a, b = work / "local-0", work / "ray2-0"
            r["ray_equals_local"] = all(
                (b / f.relative_to(a)).read_bytes() == f.read_bytes()
                for f in a.rglob("*.wav"))
        finally:
            ray.shutdown()
        r["scaling_2_over_1"] = r["ray1.plan_s"]["median"] / r["ray2.plan_s"]["median"]
        r["ray1_overhead_per_task_s"] = r["ray1.task_s"]["median"] - r["direct_task_s"]["median"]
    r["local_overhead_per_task_s"] = r["local_task_s"]["median"] - r["direct_task_s"]["median"]
    r["load_avg_end"] = os.getloadavg()[0]
    shutil.rmtree(work, ignore_errors=True)
    emit(r)


if __name__ == "__main__":
    main()
