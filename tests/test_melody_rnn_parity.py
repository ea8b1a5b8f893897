"""MelodyRNN (basic_rnn, lookback_rnn, attention_rnn) and PerformanceRNN
(performance_with_dynamics) against magenta's own generators.

The fixtures (tests/fixtures/melody_rnn/<config>.{mag,npz}) are `.mag` bundles that
magenta's Melody/PerformanceRnnSequenceGenerator wrote itself (small random widths
[24, 16] / [20, 16, 12], perturbed biases) and what that generator did with them:
see tests/reference/make_melody_rnn_goldens.py.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import note_seq
import numpy as np
import pytest

from engine import checkpoints as ck
from engine.errors import BadInput, BadRequest, CheckpointError
from engine.local import run_method
from engine.models.melody_rnn import (
    MelodyRnn, expected_variables, normalise_name, read_weights, sequence_from_notes)
from engine.music.midi_io import read_midi

FIX = Path(__file__).parent / "fixtures" / "melody_rnn"
# attention_rnn_stack.mag: the older attention_rnn structure (wrapper around the whole
# stack) with TF 0.x variable names (RNN/AttentionCellWrapper/.../Linear/Matrix).
STACK = "attention_rnn_stack"
# The same weights with the kernels at the initializer's scale (x1.0, not x2.5), like
# trained nets: not chaotic, so the tight tolerance holds on it (see TOL below).
STACK1 = "attention_rnn_stack_scale1"
CONFIGS = ["basic_rnn", "lookback_rnn", "attention_rnn", STACK, STACK1]
PERF = "performance_with_dynamics"
ALL = CONFIGS + [PERF]

# Tolerances (max abs softmax error) from a measured spread: docs/parity.md and
# tests/fixtures/melody_rnn/spread.json (tests/reference/measure_spread.py). Magenta's own
# graph, reloaded from these bundles and run under ONEDNN_MAX_CPU_ISA=SSE41/AVX/AVX2/
# default and TF_ENABLE_ONEDNN_OPTS=0 with the golden's choices replayed, moves from its
# goldens by at most 1.13e-6 (attention_rnn t05, oneDNN off) on every fixture and quantity
# except attention_rnn_stack's generation. TOL = 4 x 1.13e-6, rounded up (was 2e-6, fitted
# to one CPU: 1.8x the spread; the native engine measured 1.18e-6).
#
# attention_rnn_stack's generation goldens are chaotic, not wrong: its kernels, scaled x2.5,
# make the stacked attention net amplify a 1-ulp change of the weights ~1000x over the 63
# generated steps (tests/reference/float64_check.py), so Magenta's golden and the native
# run both sit 4.3e-4 (t10) / 6.6e-4 (t05) from a float64 evaluation while agreeing with each
# other to 1.5e-7 on this CPU. Magenta itself moves from its golden by up to 9.4e-4 (t10),
# 1.45e-3 (t05), 6.2e-5 (s10) across the kernel settings: STACK_GEN_TOL = 4 x 1.45e-3,
# rounded up (was 2e-6). Its teacher-forced softmax (the primer only) keeps TOL, and
# attention_rnn_stack_scale1 (same net, x1.0 kernels: spread 8.9e-8) keeps TOL too.
# A one-weight slip is far above both: test_tolerances_catch_a_slip.
SPREAD_FACTOR = 4
TOL = 5e-6
STACK_GEN_TOL = 6e-3


def gen_tol(config: str) -> float:
    return STACK_GEN_TOL if config == STACK else TOL
IN_RANGE = [[0.0, 0.5, 60, 90], [0.5, 1.0, 62, 90], [1.0, 1.5, 64, 90], [1.5, 2.0, 67, 90]]


@pytest.fixture(scope="module")
def models() -> dict[str, MelodyRnn]:
    return {c: MelodyRnn.load(FIX / f"{c}.mag") for c in ALL}


@pytest.fixture(scope="module")
def goldens() -> dict[str, dict[str, np.ndarray]]:
    return {c: dict(np.load(FIX / f"{c}.npz")) for c in ALL}


def _rows(ns) -> np.ndarray:
    return np.array([[n.start_time, n.end_time, n.pitch, n.velocity] for n in ns.notes]
                    ).reshape(-1, 4)


@pytest.mark.parametrize("config", ALL)
def test_bundle_read_with_widths_from_checkpoint(models, config):
    m = models[config]
    assert m.config == ("attention_rnn" if config in (STACK, STACK1) else config)  # generator id
    assert m.weights.units == ([20, 16, 12] if config == PERF else [24, 16])
    assert (m.weights.attention is not None) == config.startswith("attention_rnn")
    if m.weights.attention is not None:
        assert m.weights.attention.layers == (2 if config in (STACK, STACK1) else 1)
        assert m.weights.attention.length == 40


@pytest.mark.parametrize("config", CONFIGS)
def test_teacher_forced_softmax_matches_magenta(models, goldens, config):
    g = goldens[config]
    got = models[config].softmax_of(note_seq.Melody(list(g["tf_events"])))
    np.testing.assert_allclose(got, g["tf_softmax"], atol=TOL, rtol=0)


def test_performance_teacher_forced_softmax_matches_magenta(models, goldens):
    g, m = goldens[PERF], models[PERF]
    q = note_seq.quantize_note_sequence_absolute(sequence_from_notes(g["primer"].tolist()), 100)
    perf = note_seq.Performance(q, start_step=0, num_velocity_bins=32)
    assert [m.enc.events_to_label(perf, i) for i in range(len(perf))] == list(g["tf_events"])
    np.testing.assert_allclose(m.softmax_of(perf), g["tf_softmax"], atol=TOL, rtol=0)


@pytest.mark.parametrize("tag", ["t10", "s10"])
def test_performance_generation_matches_magenta(models, goldens, tag):
    """PerformanceRNN: one generation pass sized as magenta's generator sizes it, the
    result cut to the section, notes with their velocities and expressive timing."""
    g = goldens[PERF]
    chosen = g[f"{tag}_chosen"]
    res = models[PERF].generate(sequence_from_notes(g["primer"].tolist()),
                                float(g["start_time"]), float(g["end_time"]), 1.0,
                                choose=lambda p, i: int(chosen[i]))
    np.testing.assert_allclose(res.softmax, g[f"{tag}_softmax"], atol=TOL, rtol=0)
    np.testing.assert_allclose(_rows(res.sequence), g[f"{tag}_notes"], atol=1e-9)


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("tag,temperature", [("t10", 1.0), ("t05", 0.5), ("s10", 1.0)])
def test_generation_matches_magenta(models, goldens, config, tag, temperature):
    """Magenta's choices replayed (argmax paths, and a sampled path): every step's
    distribution, the primer handling (squash into range, transposing back, the padding
    step) and the output NoteSequence match the generator's."""
    g = goldens[config]
    chosen = g[f"{tag}_chosen"]
    res = models[config].generate(sequence_from_notes(g["primer"].tolist()),
                                  float(g["start_time"]), float(g["end_time"]), temperature,
                                  choose=lambda p, i: int(chosen[i]))
    np.testing.assert_allclose(res.softmax, g[f"{tag}_softmax"], atol=gen_tol(config), rtol=0)
    if tag != "s10":
        assert (np.argmax(res.softmax, 1) == chosen).all()
    np.testing.assert_allclose(_rows(res.sequence), g[f"{tag}_notes"], atol=1e-9)
    assert all(n.start_time >= g["start_time"] - 1e-6 for n in res.notes)
    assert len(res.notes) == len(res.sequence.notes) - len(g["primer"])
    assert res.warnings and "outside the model's range" in res.warnings[0]


def test_tolerances_are_a_multiple_of_the_measured_spread():
    spread = json.loads((FIX / "spread.json").read_text())
    for side in ("magenta", "native"):
        for q, values in spread[side].items():
            config, what = q.split("/")
            tol = gen_tol(config) if what != "tf_softmax" else TOL
            factor = SPREAD_FACTOR if side == "magenta" else 1
            assert factor * max(values) <= tol, (side, q, values, tol)


def _dropped_out_bias(w):
    """The largest output bias set to zero (one dropped bias)."""
    b = w.out_bias.copy()
    b[np.argmax(np.abs(b))] = 0
    return dataclasses.replace(w, out_bias=b)


def _last_kernel_1pct(w):
    """The last LSTM layer's kernel 1% too large (a wrong scale)."""
    lstm = list(w.lstm)
    lstm[-1] = (lstm[-1][0] * np.float32(1.01), lstm[-1][1])
    return dataclasses.replace(w, lstm=lstm)


@pytest.mark.parametrize("config", ALL)
@pytest.mark.parametrize("slip", [_dropped_out_bias, _last_kernel_1pct])
def test_tolerances_catch_a_slip(models, goldens, config, slip):
    """One weight wrong and the replayed generation leaves the tolerance (measured: the
    dropped bias 2e-3 to 0.04, the 1% kernel 3.5e-5 to 0.5; the closest calls are
    PerformanceRNN's 1% kernel at 7x TOL and the stack's dropped bias at 4.6x its own)."""
    m, g = models[config], goldens[config]
    wrong = MelodyRnn(m.config, slip(m.weights), config)
    chosen = g["t10_chosen"]
    res = wrong.generate(sequence_from_notes(g["primer"].tolist()), float(g["start_time"]),
                         float(g["end_time"]), 1.0, choose=lambda p, i: int(chosen[i]))
    assert np.abs(res.softmax - g["t10_softmax"]).max() > 2 * gen_tol(config)


def test_continue_is_seeded_and_in_range_primer_has_no_warning(models):
    m = models["attention_rnn"]
    primer = sequence_from_notes(IN_RANGE, qpm=100)
    a = m.continue_sequence(primer, 32, 1.0, seed=7)
    b = m.continue_sequence(primer, 32, 1.0, seed=7)
    c = m.continue_sequence(primer, 32, 1.0, seed=8)
    assert a.note_rows() == b.note_rows() and a.note_rows() != c.note_rows()
    assert a.warnings == []
    step = 60 / 100 / 4
    assert min(n[0] for n in a.note_rows()) >= 2.0 - 1e-6
    assert max(n[1] for n in a.note_rows()) <= 2.0 + 32 * step + 1e-6
    assert all(n[3] == 100 for n in a.note_rows())  # magenta's output velocity


def test_old_variable_names_are_normalised(models):
    assert normalise_name("RNN/MultiRNNCell/Cell1/BasicLSTMCell/Linear/Matrix") == \
        "rnn/multi_rnn_cell/cell_1/basic_lstm_cell/kernel"
    assert normalise_name("rnn/multi_rnn_cell/cell_0/basic_lstm_cell/biases") == \
        "rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias"
    # A TF 0.x-named copy of the basic_rnn weights loads to the same network.
    w = models["basic_rnn"].weights
    old = {"fully_connected/weights": w.out_kernel, "fully_connected/biases": w.out_bias}
    for k, (kernel, bias) in enumerate(w.lstm):
        old[f"RNN/MultiRNNCell/Cell{k}/BasicLSTMCell/Linear/Matrix"] = kernel
        old[f"RNN/MultiRNNCell/Cell{k}/BasicLSTMCell/Linear/Bias"] = bias
    w2 = read_weights({normalise_name(n): v for n, v in old.items()}, "old.mag", 0)
    assert w2.units == w.units and all((a[0] == b[0]).all() for a, b in zip(w.lstm, w2.lstm))


def test_melody_continue_job(tmp_path):
    res = run_method("melody.continue", {
        "primer": IN_RANGE, "qpm": 120, "bars": 2, "seed": 3, "temperature": 0.8,
        "checkpoint": str(FIX / "basic_rnn.mag"), "folder": str(tmp_path)}, quiet=True)
    assert res["seed"] == 3 and res["model"] == "basic_rnn" and res["config"] == "basic_rnn"
    assert res["steps"] == 32 and res["warnings"] == [] and res["start_time"] == 2.0
    written = read_midi(res["file"])
    assert Path(res["file"]).parent == tmp_path
    assert len(written.notes) == len(IN_RANGE) + len(res["notes"])
    perf = run_method("melody.continue", {
        "primer": IN_RANGE, "qpm": 120, "steps": 8, "seed": 3,
        "checkpoint": str(FIX / f"{PERF}.mag"), "path": str(tmp_path / "p.mid")}, quiet=True)
    assert perf["config"] == PERF and Path(perf["file"]).is_file()
    assert all(2.0 - 1e-6 <= n[0] < 3.0 for n in perf["notes"])  # 8 16ths at 120 qpm = 1 s
    again = run_method("melody.continue", {
        "primer": IN_RANGE, "qpm": 120, "steps": 32, "seed": 3, "temperature": 0.8,
        "checkpoint": str(FIX / "basic_rnn.mag"), "path": str(tmp_path / "b.mid")}, quiet=True)
    assert again["notes"] == res["notes"]
    # out-of-range primer: transposed with a warning, the continuation transposed back
    high = [[s, e, p + 36, v] for s, e, p, v in IN_RANGE]
    res = run_method("melody.continue", {
        "primer": high, "bars": 1, "seed": 3, "checkpoint": str(FIX / "basic_rnn.mag"),
        "path": str(tmp_path / "high.mid")}, quiet=True)
    assert "outside the model's range" in res["warnings"][0]
    assert min(n[2] for n in res["notes"]) >= 84  # back in the primer's register
    with pytest.raises(BadRequest):
        run_method("melody.continue", {"primer": IN_RANGE, "bars": 1, "steps": 16,
                                       "checkpoint": str(FIX / "basic_rnn.mag")}, quiet=True)
    with pytest.raises(BadRequest):
        run_method("melody.continue", {"bars": 1, "checkpoint": str(FIX / "basic_rnn.mag")},
                   quiet=True)
    with pytest.raises(BadInput):
        run_method("melody.continue", {"primer": [[1, 0, 60, 90]], "bars": 1,
                                       "checkpoint": str(FIX / "basic_rnn.mag")}, quiet=True)


def test_cli_melody_continue(tmp_path, capsys):
    from engine.cli import main

    primer = sequence_from_notes(IN_RANGE)
    note_seq.sequence_proto_to_midi_file(primer, str(tmp_path / "p.mid"))
    out = tmp_path / "out.mid"
    assert main(["melody", "continue", str(tmp_path / "p.mid"), "--checkpoint",
                 str(FIX / "attention_rnn.mag"), "--bars", "2", "--seed", "11",
                 "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "seed: 11" in text and str(out) in text
    assert len(read_midi(out).notes) > len(IN_RANGE)


def test_models_verify_on_bundles(tmp_path, monkeypatch):
    monkeypatch.setenv("MAGSTATION_CHECKPOINTS", str(tmp_path / "checkpoints"))
    for config in CONFIGS[:3] + [PERF]:
        ck.import_checkpoint(FIX / f"{config}.mag", name=config)
        res = ck.verify(config)
        assert res.ok, res.problems
        assert res.checked == len(expected_variables(config))
    # an older attention_rnn bundle (TF 0.x names, wrapper around the stack) verifies too
    ck.import_checkpoint(FIX / f"{STACK}.mag", name="attention_rnn", force=True)
    assert ck.verify("attention_rnn").ok
    # a bundle of another config under the wrong name fails, naming the variable (it does
    # not replace the working basic_rnn: it goes in only once that one is removed)
    with pytest.raises(CheckpointError, match="the installed basic_rnn was kept"):
        ck.import_checkpoint(FIX / "attention_rnn.mag", name="basic_rnn", force=True)
    assert ck.verify("basic_rnn").ok
    ck.remove_model("basic_rnn")
    ck.import_checkpoint(FIX / "attention_rnn.mag", name="basic_rnn")
    res = ck.verify("basic_rnn")
    assert not res.ok and any("basic_lstm_cell/kernel" in p for p in res.problems)
    ck.remove_model("lookback_rnn")
    ck.import_checkpoint(FIX / "basic_rnn.mag", name="lookback_rnn")  # 38 classes, not 40
    res = ck.verify("lookback_rnn")
    assert not res.ok and any("fully_connected/weights" in p for p in res.problems)
    assert {i.family for n, i in ck.load_manifest().items()
            if n in ALL} == {"melody_rnn"}


def test_melody_continue_reports_progress_and_can_be_cancelled(tmp_path):
    from engine.context import JobContext
    from engine.errors import JobCancelled
    from engine.methods import get

    seen: list[tuple[float, str]] = []
    ctx = JobContext(job_id="t", work_dir=tmp_path,
                     _sink=lambda done, total, msg, eta: seen.append((done, msg)))
    params = {"primer": IN_RANGE, "bars": 4, "seed": 1, "checkpoint": str(FIX / "basic_rnn.mag")}
    get("melody.continue").func(params, ctx)
    gen = [d for d, m in seen if m == "generating"]
    assert len(gen) >= 4 and gen == sorted(gen) and 1 <= gen[0] and gen[-1] < 2

    def cancel_when_generating(done, total, msg, eta):
        if msg == "generating" and done > 1:
            ctx2.cancel()
    ctx2 = JobContext(job_id="t2", work_dir=tmp_path / "b", _sink=cancel_when_generating)
    with pytest.raises(JobCancelled):
        get("melody.continue").func({**params, "seed": 2}, ctx2)


def test_primer_with_a_tempo_change_is_refused_clearly(models):
    primer = sequence_from_notes(IN_RANGE)
    primer.tempos.add(time=1.0, qpm=90)
    with pytest.raises(BadInput, match="changes tempo"):
        models["basic_rnn"].continue_sequence(primer, 16, seed=1)
