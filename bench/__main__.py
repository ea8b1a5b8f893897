"""`make bench` / `python -m bench`: the engine against Magenta itself, side by side.

    python -m bench [--reference VENV|none] [--quick] [--only musicvae,gansynth,nsynth,tui,listen]
                    [--write-results]

Both sides run in the same invocation on the same random checkpoints at the official
sizes (made once into the bench cache), each model in a process of its own, and the
table gives ratios (Magenta time / native time), which hold better than absolute
numbers on a busy machine. Without a reference env the native numbers are printed alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from bench.common import ROOT, cache_dir, parse_output, stats

SECTIONS = ("musicvae", "gansynth", "nsynth", "tui", "listen")
RESULTS_MD = ROOT / "bench" / "RESULTS.md"
MIDI = ROOT / "midi" / "cs1-1pre-short.mid"
QUICK_MIDI = ROOT / "tests" / "fixtures" / "gansynth" / "arrangement.mid"
MVAE_FIXTURES = ROOT / "tests" / "fixtures" / "musicvae"
# The widths of those fixtures (tests/reference/make_musicvae_goldens.py SMALL).
MVAE_FIXTURE_HPARAMS = {"z_size": 16, "enc_rnn_size": [24], "dec_rnn_size": [16, 16]}
SUBPROCESS_TIMEOUT = 1800


# ----------------------------------------------------------------- what is measured

@dataclass(frozen=True)
class Row:
    key: str               # the result key both sides report
    label: str
    unit: str              # "s" (time), "MB" (memory)
    scale: float = 1.0     # divide the raw number by this (per note, per sample)
    target: float | None = None  # ratio Magenta / native to reach
    ref_key: str = ""      # Magenta's number to compare with, when not `key`
    ref_scale: float | None = None  # Magenta's divisor, when not `scale`


ROWS: dict[str, list[Row]] = {
    "musicvae": [
        Row("mvae.sample1", "MusicVAE drums sample n=1", "s", target=3),
        Row("mvae.sample1_model", "  same, model only (no job, no converter)", "s",
            ref_key="mvae.sample1"),
        Row("mvae.sample1_idle", "  same, each call after 100 ms idle", "s"),
        Row("mvae.sample8", "MusicVAE drums sample n=8", "s", target=3),
        Row("mvae.interp6", "MusicVAE drums interpolate 6", "s", target=3),
        Row("mvae.humanize", "GrooVAE humanize 1 pattern", "s", target=3),
        Row("mvae.load_first", "MusicVAE load + first sample", "s", target=3),
        Row("mvae.load_first_empty_cache", "  same, graph cache empty (first engine start)",
            "s", ref_key="mvae.load_first"),
        Row("mvae.load", "MusicVAE load (checkpoint -> model)", "s"),
        Row("mvae.first_sample", "MusicVAE first sample after load", "s"),
        Row("mvae.first_over_warm", "MusicVAE first sample after load / warm sample", "x"),
        Row("mvae.cold", "MusicVAE cold: process start to 1st sample", "s"),
    ],
    "gansynth": [
        Row("gs.load", "GANSynth load", "s", target=5),
        Row("gs.load_mem", "GANSynth peak memory after load", "MB", target=3),
        Row("gs.note1", "GANSynth one note (Magenta: padded batch)", "s", target=5),
        Row("gs.b8", "GANSynth batch 8, per note", "s", scale=8, target=2),
        Row("gs.b64", "GANSynth 64 notes, per note", "s", scale=64),
        Row("gs.arrangement", "GANSynth cs1-1pre-short.mid, whole", "s"),
        Row("gs.peak_mem", "GANSynth peak memory, whole run", "MB", target=3),
        Row("gs.load_mem_over_import", "  after load, over each side's imports", "MB"),
        Row("gs.peak_mem_over_import", "  whole run, over each side's imports", "MB"),
    ],
    "nsynth": [
        Row("ns.step_b1", "NSynth batch 1: 1 s of audio (extrap.)", "s", scale=1 / 16000,
            target=3),
        Row("ns.step_b4", "NSynth batch 4: 1 s of audio (extrap.)", "s", scale=1 / 16000),
        Row("ns.step_b16", "NSynth batch 16: 1 s of audio per voice", "s", scale=16 / 16000,
            target=3.5),
        Row("ns.step_b16", "  same, against Magenta at batch 1", "s", scale=16 / 16000,
            ref_key="ns.step_b1", ref_scale=1 / 16000),
        Row("ns.encode", "NSynth encode 0.99 s of audio", "s"),
        Row("ns.b16_gflops", "NSynth batch 16 achieved", "GFLOP/s"),
        Row("ns.matmul_peak_gflops", "  float32 matmul peak, same run", "GFLOP/s"),
        Row("ns.b16_of_peak", "  achieved / peak", "%"),
    ],
    "tui": [
        Row("tui.cold", "TUI cold start to first frame", "s"),
        Row("tui.cold_cpu", "TUI cold start, CPU time", "s"),
        Row("tui.key", "TUI keypress to repaint during a render", "s"),
    ],
    "listen": [
        Row("listen.tcp", "audio.play -> listener backend, loopback TCP", "s"),
        Row("listen.ssh", "audio.play -> listener backend, ssh -L", "s"),
        Row("listen.ssh_extra", "  ssh -L minus TCP, same play (both listening)", "s"),
    ],
}
ABSOLUTE_TARGETS = {"tui.key": ("p95 < 50 ms", lambda s: s.get("p95", 1e9) < 0.050),
                    "mvae.first_over_warm": ("<= 2x", lambda s: median(s) <= 2.0),
                    # issue 22: batch 16 at >= 3.5x Magenta per voice, or at half the peak
                    "ns.b16_of_peak": (">= 50%", lambda s: median(s) >= 0.5)}
# Fresh processes per side for "load + first sample" (each one sample: repeated for a spread).
LOAD_RUNS = 3


# ----------------------------------------------------------------- running things

def find_reference(arg: str | None) -> Path | None:
    if arg == "none" or os.environ.get("MAGSTATION_BENCH_NO_REFERENCE"):
        return None
    if arg:
        venv = Path(arg).expanduser()
        if not (venv / "bin" / "python").exists():
            raise SystemExit(f"--reference {venv}: no bin/python there; build one with "
                             "tests/reference/build_env.sh VENV, or pass --reference none")
        return venv
    for cand in (ROOT / "tests" / "reference" / ".venv-magenta", Path("/tmp/magref/venv-magenta")):
        if (cand / "bin" / "python").exists():
            return cand
    return None


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["MAGSTATION_PLAYBACK"] = "null"
    return env


def run_json(cmd: list[str], what: str, log: Callable[[str], None],
             env: dict[str, str] | None = None) -> dict[str, Any]:
    log(f"  {what} ...")
    t0 = time.perf_counter()
    p = subprocess.run([str(c) for c in cmd], cwd=ROOT, env=_env() | (env or {}),
                       capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT)
    out = parse_output(p.stdout)
    if p.returncode != 0 or out is None:
        tail = (p.stderr or p.stdout).strip().splitlines()[-6:]
        raise RuntimeError(f"{what} failed (exit {p.returncode}): " + " | ".join(tail))
    log(f"  {what}: {time.perf_counter() - t0:.0f} s")
    return out


def run_checked(cmd: list[str], what: str, log: Callable[[str], None]) -> None:
    log(f"  making {what} ...")
    p = subprocess.run([str(c) for c in cmd], cwd=ROOT, env=_env(), capture_output=True,
                       text=True, timeout=SUBPROCESS_TIMEOUT)
    if p.returncode != 0:
        raise RuntimeError(f"making {what} failed: " + " | ".join(p.stderr.strip().splitlines()[-6:]))


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.quick = args.quick
        self.ref = find_reference(args.reference)
        self.py = sys.executable
        self.ref_py = str(self.ref / "bin" / "python") if self.ref else None
        self.cache = cache_dir()
        self.origin = "magenta" if self.ref else "native"
        self.results: dict[str, dict[str, Any]] = {}  # section -> {"native":…, "magenta":…}
        self.notes: list[str] = []
        self.log = (lambda m: None) if args.silent else (lambda m: print(m, file=sys.stderr, flush=True))
        r = 2 if self.quick else None
        self.repeats = {"musicvae": r or 30, "gansynth": r or 3, "nsynth": 1,
                        "tui_cold": 1 if self.quick else 3, "presses": 12 if self.quick else 40,
                        "listen": 4 if self.quick else 40}

    def _ref_script(self, name: str) -> str:
        return str(ROOT / "bench" / "reference" / name)

    def _complete(self, path: Path, what: str, ref_cmd: list[str] | None,
                  native_cmd: list[str]) -> None:
        """Make a checkpoint once: Magenta's own graph when the reference env is here."""
        mark = path / ".complete"
        if mark.exists():
            return
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        run_checked(ref_cmd if self.ref else native_cmd, what, self.log)
        mark.write_text(dt.datetime.now(dt.timezone.utc).isoformat())

    # -- sections

    def musicvae(self) -> None:
        extra: list[str] = []
        if self.quick:
            drums = MVAE_FIXTURES / "cat-drums_2bar_small" / "model.ckpt"
            groove = MVAE_FIXTURES / "groovae_2bar_humanize" / "model.ckpt"
            extra = ["--hparams", json.dumps(MVAE_FIXTURE_HPARAMS)]
            self.notes.append("musicvae: --quick uses the small test fixtures, not official sizes")
        else:
            prefixes = []
            for config in ("cat-drums_2bar_small", "groovae_2bar_humanize"):
                d = self.cache / f"musicvae-{self.origin}" / config
                prefix = d / "model.ckpt"
                self._complete(d, f"{config} checkpoint",
                               [self.ref_py, self._ref_script("make_checkpoints.py"), "musicvae",
                                config, prefix],
                               [self.py, "-m", "bench.native_checkpoints", "musicvae", config, prefix])
                prefixes.append(prefix)
            drums, groove = prefixes
        reps = ["--repeats", str(self.repeats["musicvae"])]
        sec = self.results.setdefault("musicvae", {})
        sec["native"] = run_json([self.py, "-m", "bench.native_musicvae", drums, groove, *reps],
                                 "native MusicVAE", self.log)
        if self.ref:
            sec["magenta"] = run_json([self.ref_py, self._ref_script("musicvae.py"), drums,
                                       groove, *reps, *extra], "Magenta MusicVAE", self.log)
        self._musicvae_load(drums, extra)

    def _musicvae_load(self, drums: Path, extra: list[str]) -> None:
        """Load + first sample in fresh processes, the sides taking turns. The native side
        runs with a home of its own: once with an empty graph cache, then with the cache
        that run left (every later engine start)."""
        sec = self.results["musicvae"]
        home = Path(tempfile.mkdtemp(prefix="bench-graphs-"))
        env = {"MAGSTATION_HOME": str(home)}
        # --quick measures the small checkpoint itself: no other one to run first
        prior = [] if self.quick else ["--prior", MVAE_FIXTURES / "cat-drums_2bar_small" / "model.ckpt"]
        native_cmd = [self.py, "-m", "bench.native_musicvae_load", drums, *prior]
        empty = run_json(native_cmd, "native MusicVAE load, graph cache empty", self.log, env)
        runs: dict[str, list[dict[str, Any]]] = {"native": [], "magenta": []}
        for i in range(1 if self.quick else LOAD_RUNS):
            runs["native"].append(run_json(native_cmd, f"native MusicVAE load {i + 1}",
                                           self.log, env))
            if self.ref:
                runs["magenta"].append(run_json(
                    [self.ref_py, self._ref_script("musicvae_load.py"), drums, *extra, *prior,
                     *(["--prior-hparams", json.dumps(MVAE_FIXTURE_HPARAMS)] if prior else [])],
                    f"Magenta MusicVAE load {i + 1}", self.log))
        shutil.rmtree(home, ignore_errors=True)
        for side, outs in runs.items():
            if not outs:
                continue
            for key in ("mvae.load", "mvae.first_sample", "mvae.load_first",
                        "mvae.first_over_warm"):
                if key in outs[0]:
                    sec[side][key] = stats([median(o[key]) for o in outs])
        sec["native"]["mvae.load_first_empty_cache"] = empty["mvae.load_first"]
        sec["native"]["mvae.graphs"] = {"empty cache": empty["mvae.graphs"],
                                        "later runs": runs["native"][-1]["mvae.graphs"]}
        self.notes.append(f"musicvae: load + first sample = {len(runs['native'])} fresh "
                          "processes per side, taking turns, each having run one sample on "
                          "the small test checkpoint first (a model switch in a running "
                          "engine); first sample = drums.sample n=1 right after the load; "
                          "the native load makes and runs the graphs")

    def _gansynth_ckpt(self, native_only: bool = False) -> Path:
        if self.quick and (native_only or not self.ref):
            return ROOT / "tests" / "fixtures" / "gansynth" / "tiny_ckpt"
        tiny = "-tiny" if self.quick else ""
        root = self.cache / f"gansynth-{self.origin}{tiny}"
        self._complete(root, "GANSynth checkpoint",
                       [self.ref_py, self._ref_script("make_checkpoints.py"), "gansynth", root,
                        *(["--tiny"] if self.quick else [])],
                       [self.py, "-m", "bench.native_checkpoints", "gansynth", root])
        return root

    def gansynth(self) -> None:
        ckpt = self._gansynth_ckpt()
        midi, secs = (QUICK_MIDI, "2") if self.quick else (MIDI, "6")
        if self.quick:
            self.notes.append("gansynth: --quick uses a narrow checkpoint and a 6-note MIDI file")
        args = [ckpt, midi, "--repeats", str(self.repeats["gansynth"]), "--secs", secs]
        sec = self.results.setdefault("gansynth", {})
        sec["native"] = run_json([self.py, "-m", "bench.native_gansynth", *args],
                                 "native GANSynth", self.log)
        if self.ref:
            sec["magenta"] = run_json([self.ref_py, self._ref_script("gansynth.py"), *args],
                                      "Magenta GANSynth", self.log)
        for out in sec.values():  # what the model adds to the process once TF is imported
            for key in ("gs.load_mem", "gs.peak_mem"):
                if key in out and "rss_after_import_mb" in out:
                    out[key + "_over_import"] = out[key] - out["rss_after_import_mb"]

    def nsynth(self) -> None:
        steps = "64" if self.quick else "320"
        batches = "1,4" if self.quick else "1,4,16"
        sec = self.results.setdefault("nsynth", {})
        ckpt: str = "random"
        if self.ref:
            d = self.cache / "nsynth-magenta"
            ckpt = str(d / "model.ckpt-200000")
            self._complete(d, "NSynth checkpoint",
                           [self.ref_py, self._ref_script("make_checkpoints.py"), "nsynth", ckpt],
                           [])
        args = ["--steps", steps, "--batches", batches]
        sec["native"] = run_json([self.py, "-m", "bench.native_nsynth", ckpt, *args],
                                 "native NSynth", self.log)
        if "unavailable" in sec["native"]:
            self.notes.append(f"nsynth: not available ({sec['native']['unavailable']})")
            return
        if self.ref:
            sec["magenta"] = run_json([self.ref_py, self._ref_script("nsynth.py"), ckpt, *args],
                                      "Magenta NSynth", self.log)
        self.notes.append(f"nsynth: {steps} generation steps timed per batch size (one frame of "
                          "random encodings) and extrapolated to 16,000 steps = 1 s of audio")

    def tui(self) -> None:
        sec = self.results.setdefault("tui", {})
        native = run_json([self.py, "-m", "bench.tui_bench", "cold", "--repeats",
                           str(self.repeats["tui_cold"])], "TUI cold start", self.log)
        ckpt = self._gansynth_ckpt(native_only=True)
        native |= run_json([self.py, "-m", "bench.tui_bench", "keys", "--ckpt", ckpt, "--midi",
                            MIDI, "--presses", str(self.repeats["presses"])],
                           "TUI keypresses during a render", self.log)
        sec["native"] = native
        self.notes.append(
            f"tui: {native['tui.key_presses']} arrow keys in the drum grid, "
            f"{native['tui.key_presses_during_job']} of them while the engine rendered "
            f"{MIDI.name} with GANSynth; repaint = the next compositor update (headless: "
            "the terminal write itself is not timed)")

    def listen(self) -> None:
        out = run_json([self.py, "-m", "bench.listen_bench", "--repeats",
                        str(self.repeats["listen"])], "listener latency", self.log)
        self.results.setdefault("listen", {})["native"] = out
        if "listen.ssh_note" in out:
            self.notes.append("listen: " + out["listen.ssh_note"])

    def run(self, only: list[str]) -> None:
        if self.ref is None:
            self.notes.append("no Magenta reference env found (tests/reference/build_env.sh "
                              "VENV, then --reference VENV): native numbers only")
        for name in only:
            self.log(f"[{name}]")
            try:
                getattr(self, name)()
            except Exception as e:  # noqa: BLE001 - one failed section must not hide the rest
                self.notes.append(f"{name}: FAILED: {e}")
                self.log(f"  {name} failed: {e}")


# ----------------------------------------------------------------- the table

def fmt(value: float, unit: str) -> str:
    if unit == "MB":
        return f"{value:,.0f} MB"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "%":
        return f"{100 * value:.0f}%"
    if unit != "s":
        return f"{value:,.0f} {unit}"
    if value < 1:
        return f"{value * 1000:.1f} ms"
    return f"{value:.2f} s"


def cell(s: dict[str, Any] | None, row: Row) -> str:
    if s is None:
        return "n/a"
    if not isinstance(s, dict):
        return fmt(float(s) / row.scale, row.unit)
    text = fmt(s["median"] / row.scale, row.unit)
    if s.get("n", 1) > 1:
        lo, hi = fmt(s["min"] / row.scale, row.unit), fmt(s["max"] / row.scale, row.unit)
        text += f" ({lo}-{hi})"
    if "p95" in s:
        text += f" p95 {fmt(s['p95'] / row.scale, row.unit)}"
    return text


def median(s: Any) -> float | None:
    if s is None:
        return None
    return float(s["median"] if isinstance(s, dict) else s)


def table_rows(results: dict[str, dict[str, Any]]) -> list[list[str]]:
    rows = []
    for section, spec in ROWS.items():
        if section not in results:
            continue
        native = results[section].get("native", {})
        ref = results[section].get("magenta")
        for row in spec:
            n = native.get(row.key)
            m = ref.get(row.ref_key or row.key) if ref else None
            if n is None and m is None:
                continue
            nv, mv = median(n), median(m)
            if nv and mv:
                nv, mv = nv / row.scale, mv / (row.ref_scale or row.scale)
            ratio = f"{mv / nv:.2f}x" if nv and mv else "n/a"
            if row.key in ABSOLUTE_TARGETS:
                target, check = ABSOLUTE_TARGETS[row.key]
                met = "yes" if n is not None and check(n) else "no"
            elif row.target is not None:
                target = f">= {row.target:g}x"
                met = "n/a" if ratio == "n/a" else ("yes" if mv / nv >= row.target else "no")
            else:
                target, met = "-", "-"
            ref_row = replace(row, scale=row.ref_scale or row.scale)
            rows.append([row.label, cell(n, row), cell(m, ref_row), ratio, target, met])
    return rows


HEADER = ["measurement", "native", "magenta", "ratio", "target", "met?"]


def text_table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(HEADER), line(["-" * w for w in widths]), *map(line, rows)])


def md_table(rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


# ----------------------------------------------------------------- the machine

def machine_info(bench: Bench) -> dict[str, str]:
    info = {"python": platform.python_version(), "cores": str(os.cpu_count())}
    try:
        cpu = Path("/proc/cpuinfo").read_text()
        info["cpu"] = next(ln.split(":", 1)[1].strip() for ln in cpu.splitlines()
                           if ln.startswith("model name"))
        mem = next(ln for ln in Path("/proc/meminfo").read_text().splitlines()
                   if ln.startswith("MemTotal"))
        info["ram"] = f"{int(mem.split()[1]) / 1024 ** 2:.1f} GiB"
    except (OSError, StopIteration):
        info["cpu"] = platform.processor() or "?"
    gpu = "none"
    if shutil.which("nvidia-smi"):
        p = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                           capture_output=True, text=True)
        gpu = p.stdout.strip().replace("\n", ", ") or "none"
    info["gpu"] = gpu
    tf = {s.get("tf_version") for sec in bench.results.values() for s in sec.values()
          if isinstance(s, dict) and s.get("tf_version")}
    info["tensorflow"] = ", ".join(sorted(tf)) or "?"
    info["reference"] = str(bench.ref) if bench.ref else "none"
    try:
        info["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                        capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    return info


def write_results(bench: Bench, rows: list[list[str]], info: dict[str, str], title: str) -> None:
    parts = [f"\n## {title}\n"]
    parts += [f"- {k}: {v}" for k, v in info.items()]
    parts += ["", md_table(rows), ""]
    parts += [f"- {n}" for n in bench.notes]
    parts += ["", "<details><summary>every number (JSON, seconds / MB)</summary>", "",
              "```json", json.dumps(bench.results, indent=1, sort_keys=True), "```", "",
              "</details>", ""]
    if not RESULTS_MD.exists():
        RESULTS_MD.write_text("# Benchmark results\n\nAppended by `python -m bench "
                              "--write-results`; newest last. See bench/README.md.\n")
    with RESULTS_MD.open("a") as f:
        f.write("\n".join(parts))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--reference", default=None,
                    help="the Magenta reference venv (default: tests/reference/.venv-magenta, "
                         "else /tmp/magref/venv-magenta); 'none' for native numbers only")
    ap.add_argument("--quick", action="store_true", help="tiny sizes and few repeats (smoke test)")
    ap.add_argument("--only", default=",".join(SECTIONS),
                    help=f"comma-separated sections of {','.join(SECTIONS)}")
    ap.add_argument("--write-results", action="store_true",
                    help=f"append a dated section to {RESULTS_MD.relative_to(ROOT)}")
    ap.add_argument("--silent", action="store_true", help="no progress lines on stderr")
    args = ap.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in only if s not in SECTIONS]
    if unknown:
        ap.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")

    bench = Bench(args)
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    bench.run(only)
    load_after = os.getloadavg()
    rows = table_rows(bench.results)
    print(text_table(rows))
    for n in bench.notes:
        print(f"note: {n}")
    info = machine_info(bench)
    info["load average (1/5/15 min) at start"] = " / ".join(f"{x:.1f}" for x in load_before)
    info["load average at end"] = " / ".join(f"{x:.1f}" for x in load_after)
    info["bench wall time"] = f"{(time.perf_counter() - t0) / 60:.1f} min"
    print("machine: " + "; ".join(f"{k}: {v}" for k, v in info.items()))
    if args.write_results:
        now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        mode = "quick" if args.quick else "full"
        write_results(bench, rows, info, f"{now}, {mode} run, {', '.join(only)}")
        print(f"appended to {RESULTS_MD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
