"""TUI responsiveness, measured headless.

    python -m bench.tui_bench cold
    python -m bench.tui_bench keys --ckpt GANSYNTH_DIR --midi FILE --presses N

cold: a fresh `python` process builds the app and paints its first frame; the time is
from just before the process is spawned to the first compositor update (the frame the
terminal would be sent; headless, nothing is written). The app is started without an
engine connection, so engine start-up is not counted.

keys: the app connected to a real engine process while that engine renders a GANSynth
arrangement (a heavy job on the same CPU); each keypress moves the drum-grid cursor and
the latency is from posting the key to the next compositor update. Beside wall-clock
latency (noisy on a shared machine) it reports CPU time of the TUI process: per key
(`tui.key_cpu`, from posting the key to its frame, the headless pilot's own bookkeeping
included) and over the whole key phase divided by the keys (`tui.cpu_per_key`: also the
engine events, timers and frames handled between keys), which other processes' load does
not inflate. MAGSTATION_BENCH_PROFILE=FILE writes cProfile stats of the key phase.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from bench.common import ROOT, emit, percentile, stats

SIZE = (130, 40)

CHILD = """
import time, json, sys
from tui.app import MagstationApp
app = MagstationApp(connect_engine=False)
orig = app._display
def display(screen, renderable):
    orig(screen, renderable)
    if renderable is not None and not getattr(app, '_bench_done', False):
        app._bench_done = True
        print('FIRST_FRAME', time.time(), flush=True)
        app.call_later(app.exit)
app._display = display
app.run(headless=True, size=%r)
""" % (SIZE,)


def cold(repeats: int) -> dict:
    import resource

    out, cpu = [], []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        home = tempfile.mkdtemp(prefix="msb", dir="/tmp")
        env = {**os.environ, "MAGSTATION_HOME": home, "PYTHONPATH": str(ROOT)}
        t0 = time.time()
        p = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=120)
        shutil.rmtree(home, ignore_errors=True)
        line = [ln for ln in p.stdout.splitlines() if ln.startswith("FIRST_FRAME")]
        if not line:
            raise RuntimeError(f"the TUI painted no frame: {p.stderr[-2000:]}")
        out.append(float(line[0].split()[1]) - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return {"tui.cold": stats(out), "tui.cold_cpu": stats(cpu)}


async def keys(ckpt: str, midi: str, presses: int) -> dict:
    from bench.engine_proc import EngineProcess
    from engine.client import EngineClient

    with EngineProcess() as engine:
        os.environ["MAGSTATION_HOME"] = str(engine.home)
        (engine.home / "session.json").write_text(json.dumps({"version": 1, "pane": "drums"}))
        from tui.app import MagstationApp
        from tui.panes.drum_grid import DrumGridPane

        app = MagstationApp(socket_path=engine.socket, autostart_engine=False)
        frames: list[float] = []
        orig = app._display

        def display(screen, renderable):
            orig(screen, renderable)
            if renderable is not None:
                frames.append(time.perf_counter())
        app._display = display
        async with app.run_test(size=SIZE) as pilot:
            end = time.monotonic() + 60
            while app.engine.state != "ready" and time.monotonic() < end:
                await pilot.pause(0.05)
            app.query_one(DrumGridPane)  # the drum grid has the focus: arrows move its cursor
            ctl = EngineClient("bench")
            await ctl.connect_unix(engine.socket)
            progress: list[float] = []
            req = await ctl.start("gansynth.render", {"midi": midi, "checkpoint": ckpt, "seed": 0},
                                  on_progress=lambda *a, **k: progress.append(time.monotonic()))
            job = asyncio.ensure_future(req.result())
            while not progress and not job.done():  # the model is loaded, notes are rendering
                await asyncio.sleep(0.02)
            lat, key_cpu, during, keys_ = [], [], 0, ["down", "right", "up", "left"]
            profiler = _profiler()
            cpu0, wall0, frames0 = time.process_time(), time.perf_counter(), len(frames)
            for i in range(presses):
                n = len(frames)
                c0 = time.process_time()
                t0 = time.perf_counter()
                await pilot.press(keys_[i % 4])
                deadline = t0 + 5
                while len(frames) == n and time.perf_counter() < deadline:
                    await asyncio.sleep(0.0005)
                first = next((f for f in frames[n:] if f >= t0), None)
                if first is not None:
                    lat.append(first - t0)
                    key_cpu.append(time.process_time() - c0)
                    during += not job.done()
                await asyncio.sleep(0.05)  # a person's key rate, and room for progress events
            # CPU time of this process (the TUI) over the whole key phase: the keys and
            # everything else its event loop did meanwhile (engine events, timers, frames).
            # Unlike wall-clock latency it does not grow when other processes load the CPU.
            phase_cpu, phase_wall = time.process_time() - cpu0, time.perf_counter() - wall0
            phase_frames = len(frames) - frames0
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(os.environ["MAGSTATION_BENCH_PROFILE"])
            busy = not job.done()
            if busy:
                await req.cancel()
            await asyncio.gather(job, return_exceptions=True)
            await ctl.close()
        r = {"tui.key": {**stats(lat), "p95": percentile(lat, 95)},
             "tui.key_cpu": {**stats(key_cpu), "p95": percentile(key_cpu, 95)},
             "tui.cpu_per_key": phase_cpu / max(1, presses),
             "tui.cpu_share": phase_cpu / phase_wall, "tui.frames_per_key": phase_frames / max(1, presses),
             "tui.key_presses_during_job": during, "tui.key_presses": len(lat),
             "tui.progress_events": len(progress), "tui.job_still_running_at_end": busy}
    return r


def _profiler():
    """cProfile over the key phase when $MAGSTATION_BENCH_PROFILE names a file for its
    stats (it slows the TUI: read its latencies as such)."""
    if not os.environ.get("MAGSTATION_BENCH_PROFILE"):
        return None
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    return profiler


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["cold", "keys"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--ckpt")
    ap.add_argument("--midi")
    ap.add_argument("--presses", type=int, default=40)
    args = ap.parse_args()
    if args.mode == "cold":
        emit(cold(args.repeats))
    else:
        emit(asyncio.run(keys(args.ckpt, args.midi, args.presses)))


if __name__ == "__main__":
    main()
