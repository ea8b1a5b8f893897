"""`python -m bench` runs end to end at tiny sizes and prints its table. No timing is
asserted here: speed is what the benchmark reports, not what a test checks."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT


def run_bench(tmp_path, *args: str, env: dict[str, str] | None = None
              ) -> subprocess.CompletedProcess:
    env = {**os.environ, "MAGSTATION_BENCH_CACHE": str(tmp_path / "cache"),
           "MAGSTATION_BENCH_NO_REFERENCE": "1", "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "bench", "--quick", "--silent", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def table(stdout: str) -> dict[str, list[str]]:
    lines = stdout.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("measurement"))
    rows = {}
    for ln in lines[start + 2:]:
        if ln.startswith(("note:", "machine:")) or not ln.strip():
            break
        cells = [c for c in ln.split("  ") if c.strip()]
        rows[cells[0].strip()] = [c.strip() for c in cells[1:]]
    return rows


def test_quick_bench_without_reference_prints_native_rows(tmp_path):
    p = run_bench(tmp_path, "--only", "musicvae,tui")
    assert p.returncode == 0, p.stderr
    rows = table(p.stdout)
    for label in ("MusicVAE drums sample n=1", "MusicVAE drums sample n=8",
                  "MusicVAE drums interpolate 6", "GrooVAE humanize 1 pattern",
                  "MusicVAE load + first sample", "MusicVAE first sample after load / warm sample",
                  "TUI cold start to first frame", "TUI keypress to repaint during a render"):
        assert label in rows, p.stdout
    native, magenta, ratio, target, met = rows["MusicVAE drums sample n=1"]
    assert native.endswith(("ms", "s)")) and magenta == "n/a" and ratio == "n/a"
    assert (target, met) == (">= 3x", "n/a")
    first_over_warm = rows["MusicVAE first sample after load / warm sample"]
    assert first_over_warm[0].endswith("x") and first_over_warm[3] == "<= 2x"
    assert "p95" in rows["TUI keypress to repaint during a render"][0]
    assert "FAILED" not in p.stdout
    assert "native numbers only" in p.stdout
    assert "machine:" in p.stdout and "load average" in p.stdout


def test_quick_listen_section_without_ssh_says_why(tmp_path):
    """The listener latency over TCP to a real engine process; the tunnel is left out here
    (the suite never needs sshd), and the note says so."""
    p = run_bench(tmp_path, "--only", "listen", env={"MAGSTATION_BENCH_NO_SSH": "1"})
    assert p.returncode == 0, p.stderr
    rows = table(p.stdout)
    assert rows["audio.play -> listener backend, loopback TCP"][0].endswith(" ms")
    assert not any("ssh -L" in label for label in rows)
    assert "listen: no ssh tunnel measured: MAGSTATION_BENCH_NO_SSH is set" in p.stdout


def test_unknown_section_is_refused(tmp_path):
    p = run_bench(tmp_path, "--only", "musicvae,nope")
    assert p.returncode != 0 and "unknown section" in p.stderr


def test_ratios_compare_like_with_like():
    """Per-voice and per-sample rows scale each side by its own divisor before the ratio."""
    from bench.__main__ import table_rows
    results = {"nsynth": {"native": {"ns.step_b1": 0.010, "ns.step_b16": 0.020},
                          "magenta": {"ns.step_b1": 0.030, "ns.step_b16": 0.040}}}
    rows = {r[0]: r[1:] for r in table_rows(results)}
    assert rows["NSynth batch 1: 1 s of audio (extrap.)"][2:] == ["3.00x", ">= 3x", "yes"]
    # 16 voices per step: 20 ms / 16 per voice-step against Magenta's 40 ms / 16
    assert rows["NSynth batch 16: 1 s of audio per voice"][2:] == ["2.00x", ">= 3.5x", "no"]
    # ... and against Magenta's 30 ms per step at batch 1
    assert rows["  same, against Magenta at batch 1"][:3] == ["20.00 s", "480.00 s", "24.00x"]


def test_native_only_rows_show_their_own_units():
    from bench.__main__ import table_rows
    results = {"nsynth": {"native": {"ns.b16_gflops": 120.4, "ns.matmul_peak_gflops": 240.0,
                                     "ns.b16_of_peak": 0.5017}},
               "musicvae": {"native": {"mvae.first_over_warm": {"median": 1.5, "min": 1.2,
                                                                "max": 2.5, "n": 3}}}}
    rows = {r[0]: r[1:] for r in table_rows(results)}
    assert rows["NSynth batch 16 achieved"][0] == "120 GFLOP/s"
    assert rows["  achieved / peak"] == ["50%", "n/a", "n/a", ">= 50%", "yes"]
    assert rows["MusicVAE first sample after load / warm sample"] == [
        "1.50x (1.20x-2.50x)", "n/a", "n/a", "<= 2x", "yes"]


def test_nsynth_flops_count_what_a_step_multiplies():
    """The GFLOP/s row's weights per step, derived from the layer sizes: present taps
    [W, 2W] and past taps [2W, 2W] of every layer, the residual maps of all but the last
    (its output feeds nothing), every skip map and skip_start, out1, logits, startconv."""
    from bench.native_nsynth import decoder_weights_per_step
    from engine.models.nsynth import H512_BO16, variable_shapes_for

    s = H512_BO16
    L, W, S = s.num_layers, s.width, s.skip_width
    want = (L * W * 2 * W + L * 2 * W * 2 * W + (L - 1) * W * W + (L + 1) * W * S
            + S * S + S * 256 + 3 * W)
    assert decoder_weights_per_step(variable_shapes_for(s)) == want
