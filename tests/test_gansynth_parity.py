"""GANSynth: native TF2 generator vs goldens from Magenta's own code.

Fixtures (tests/reference/make_gansynth_goldens.py): a randomly initialised checkpoint
of the official mel_prog_hires architecture at reduced width (biases and EMA shadows
perturbed, image counter at 11M so every resolution block is used), Magenta's
spectrograms and audio for fixed z/pitches, and its render of a small MIDI file.
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.audio.note_mix import combine_notes, envelope
from engine.context import JobContext
from engine.errors import BadInput, CheckpointError, JobCancelled
from engine.handlers import gansynth as handler
from engine.model_pool import POOL
from engine.models import pooled
from engine.models.gansynth import (EMA, BLOCK, GANSynth, NoteArrays, NoteCache,
                                    block_alphas, compute_progress, expected_variables,
                                    fit_pitch_range,
                                    render_arrangement)
from engine.music.latent import interpolate_keyframes, keyframe_times, slerp

FIX = Path(__file__).parent / "fixtures" / "gansynth"
CKPT = FIX / "tiny_ckpt"
STAGE = CKPT / "stage_00012"
PREFIX = STAGE / "model.ckpt-11000000"


@pytest.fixture(scope="module")
def goldens():
    return dict(np.load(FIX / "goldens.npz"))


@pytest.fixture(scope="module")
def model():
    return GANSynth.load(CKPT, cache=NoteCache())


# Tolerances relative to the golden's peak, from a measured spread (docs/parity.md;
# tests/fixtures/gansynth/spread.json, made by tests/reference/measure_spread.py).
# Magenta's own graph, reloaded from this fixture and run under ONEDNN_MAX_CPU_ISA=
# SSE41/AVX/AVX2/default and TF_ENABLE_ONEDNN_OPTS=0, moves from its golden by up to
# 9.0e-5 (log-mel) and 1.67e-4 (IF) in the spectrograms and 3.43e-4 in the audio
# (float32 rounding amplified by pixel norms, exp() and the phase cumsum; a float64
# evaluation puts the golden itself 7e-5 / 1e-4 from exact). Each tolerance is
# SPREAD_FACTOR x that spread, rounded up: 4 x 1.67e-4 -> 7e-4, 4 x 3.43e-4 -> 1.4e-3.
# (Before: 2e-4 / 4e-4, fitted to one CPU; the native engine measured up to 1.99e-4 /
# 3.47e-4 under those settings, so it had no margin.) A real slip is far larger: a 1%
# wrong scale on the last conv moves the IF by 2e-3 and the audio by 3.8e-3, a dropped
# bias by 7e-3 to 1.9 (test_tolerances_catch_a_slip).
SPREAD_FACTOR = 4
SPEC_TOL, AUDIO_TOL = 7e-4, 1.4e-3

# bfloat16 convs under an emulated ISA cap (ONEDNN_MAX_CPU_ISA below AVX-512, as in
# tests/test_parity_kernels.py) fail in oneDNN: "could not create a primitive descriptor
# for the convolution". Presumably TF picks oneDNN's bf16 path from CPUID (AVX-512 here)
# and the cap then leaves no kernel; the real AVX2 EPYC ran these tests without
# failure (its 4 failures were tolerance ones), so they are skipped only under a cap.
_ISA = os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper()
BF16_CAPPED = _ISA.startswith(("SSE", "AVX")) and not _ISA.startswith("AVX512")


def _close(actual, expected, rel):
    """Max abs error relative to the golden's peak (batch size changes conv summation
    order, and pixel norms and exp() amplify float32 rounding)."""
    err = float(np.abs(np.asarray(actual) - expected).max())
    scale = float(np.abs(expected).max())
    assert err <= rel * scale, f"max error {err:.3g} > {rel} x peak {scale:.3g}"


def _rewrite_checkpoint(dst_root: Path, drop: str | None = None,
                        global_step: int | None = None) -> Path:
    """Copy the fixture checkpoint, optionally without one variable / with another step."""
    import tensorflow as tf

    shutil.copytree(CKPT, dst_root)
    stage = dst_root / STAGE.name
    for f in stage.glob("model.ckpt-*"):
        f.unlink()
    reader = tf.train.load_checkpoint(str(PREFIX))
    names = sorted(n for n in reader.get_variable_to_shape_map() if n != drop)
    tensors = [reader.get_tensor(n) for n in names]
    if global_step is not None:
        tensors[names.index("global_step")] = np.int64(global_step)
    tf.raw_ops.SaveV2(prefix=str(stage / "model.ckpt-11000000"), tensor_names=names,
                      shape_and_slices=[""] * len(names), tensors=tensors)
    return dst_root


# -- parity with Magenta ---------------------------------------------------------


def test_config_read_from_checkpoint(model):
    c = model.config
    assert (c.latent_size, c.num_pitches, c.num_blocks, c.start_hw) == (256, 61, 7, (2, 16))
    assert c.progress == 6.0 and c.max_pitch == 84
    assert (c.spec.frames, c.spec.bins, c.spec.audio_length) == (128, 1024, 64000)


def test_spectrograms_match_magenta(model, goldens):
    spec = model.specgrams(goldens["z"], goldens["pitches"])
    assert spec.shape == (3, 128, 1024, 2)
    stride = int(goldens["spec_frame_stride"])
    _close(spec[:, ::stride, :, 0], goldens["specgrams"][..., 0], SPEC_TOL)
    _close(spec[:, ::stride, :, 1], goldens["specgrams"][..., 1], SPEC_TOL)


def test_direct_upsample_and_conv_matches_magenta_too(goldens):
    """upsample_conv=False: tile then a 3x3 conv, as Magenta does (the default folds
    the upsampling into the conv, engine/models/fastconv.py)."""
    direct = GANSynth.load(CKPT, cache=NoteCache(), upsample_conv=False)
    assert not direct.upsample_conv
    spec = direct.specgrams(goldens["z"], goldens["pitches"])
    _close(spec[:, ::int(goldens["spec_frame_stride"])], goldens["specgrams"], SPEC_TOL)


@pytest.mark.skipif(BF16_CAPPED, reason="bf16 convs under an emulated oneDNN ISA cap")
def test_bfloat16_precision_is_opt_in_and_stays_close(model, goldens):
    """precision="bfloat16" (convs in bf16): not Magenta's numbers, but close on average
    (this narrow random net amplifies rounding more than the released ones)."""
    assert model.precision == "float32"
    fast = GANSynth.load(CKPT, cache=NoteCache(), precision="bfloat16")
    assert fast.model_id != model.model_id  # bf16 notes never served as float32 ones
    spec = fast.specgrams(goldens["z"], goldens["pitches"])[:, ::int(goldens["spec_frame_stride"])]
    want = goldens["specgrams"]
    err = np.abs(spec - want).mean(axis=(0, 1, 2)) / np.abs(want).mean(axis=(0, 1, 2))
    assert err[0] < 0.01 and err[1] < 0.05, err
    assert np.abs(spec - want).max() > 1e-3 * np.abs(want).max()  # bf16 really in play
    with pytest.raises(BadInput, match="precision"):
        GANSynth.load(CKPT, precision="float16")


def test_progressive_blend_matches_magenta(tmp_path, goldens):
    """Mid-transition checkpoints blend two blocks' outputs (progress 5.5)."""
    ckpt = _rewrite_checkpoint(tmp_path / "ckpt", global_step=int(goldens["blend_step"]))
    m = GANSynth.load(ckpt, cache=NoteCache())
    assert m.config.progress == 5.5
    spec = m.specgrams(goldens["z"][:1], goldens["pitches"][:1])
    _close(spec[:, ::int(goldens["spec_frame_stride"])], goldens["specgrams_blend"], SPEC_TOL)


def test_audio_matches_magenta(model, goldens):
    waves = model.generate(goldens["z"], goldens["pitches"], use_cache=False)
    assert waves.shape == (3, 64000) and waves.dtype == np.float32
    _close(waves, goldens["waves"], AUDIO_TOL)


def test_arrangement_matches_magenta(model, goldens, tmp_path):
    """The handler renders the MIDI fixture like gansynth_generate.py (seed 7 gives the
    same random instruments as Magenta after np.random.seed(7))."""
    np.testing.assert_array_equal(model.random_instruments(5, 7),
                                  goldens["z_instruments"].astype(np.float32))
    np.testing.assert_allclose(keyframe_times(4.0, 5), goldens["t_instruments"])
    z_notes = interpolate_keyframes(goldens["midi_start_times"], goldens["t_instruments"],
                                    goldens["z_instruments"])
    np.testing.assert_allclose(z_notes, goldens["z_notes"], rtol=1e-12, atol=1e-12)

    notes, _ = handler.read_midi_notes(FIX / "arrangement.mid")
    np.testing.assert_array_equal(notes.pitches, goldens["midi_pitches"])
    np.testing.assert_allclose(notes.start_times, goldens["midi_start_times"])

    POOL.put(pooled.gansynth_key(CKPT), model)
    ctx = JobContext(work_dir=tmp_path)
    res = handler.render({"midi": str(FIX / "arrangement.mid"), "checkpoint": str(CKPT),
                          "seed": 7, "secs_per_instrument": 0.75, "output": "a.wav"}, ctx)
    assert res["notes"] == 6 and res["warnings"] == []
    assert res["duration"] == pytest.approx(len(goldens["clip"]) / 16000)
    audio, sr = sf.read(res["path"], dtype="float32")
    assert sr == 16000 and audio.shape == goldens["clip"].shape
    peak = np.abs(goldens["clip"]).max()
    assert np.abs(audio - goldens["clip"]).max() < AUDIO_TOL * peak + 1 / 32768  # PCM_16 file


def test_combine_notes_matches_magenta_envelopes():
    env = envelope(0.5)
    assert len(env) == 8000 + 4800 and env[0] == 0 and env[160] == 1 and env[-1] == 0
    assert len(envelope(10.0)) == 48000 + 4800  # note length capped at 3 s
    notes = np.ones((2, 64000), np.float32)
    clip = combine_notes(notes, np.array([0.0, 1.0]), np.array([0.5, 1.2]), np.array([127, 64]))
    assert len(clip) == int(1.2 + 3.0) * 16000 and clip.max() == pytest.approx(0.5)
    assert clip[16000 + 1000] == pytest.approx(0.5 * 64 / 127)


def test_tolerances_are_a_multiple_of_the_measured_spread():
    import json

    spread = json.loads((FIX / "spread.json").read_text())
    ref = {k: max(v) for k, v in spread["magenta"].items()}
    assert SPEC_TOL >= SPREAD_FACTOR * max(ref["specgrams_mag"], ref["specgrams_if"])
    assert AUDIO_TOL >= SPREAD_FACTOR * ref["waves"]
    native = {k: max(v) for k, v in spread["native"].items()}
    assert max(native["specgrams_mag"], native["specgrams_if"]) < SPEC_TOL
    assert max(native["waves"], native["batch1_vs_batch3"]) < AUDIO_TOL


@pytest.mark.parametrize("key,change", [
    ("4/conv1/b", lambda a: a * 0),                       # a dropped bias (mid network)
    ("7/to_rgb/b", lambda a: a * 0),                      # a dropped bias (output layer)
    ("7/to_rgb/s", lambda a: a * np.float32(np.sqrt(2))),  # to_rgb with the conv gain
    ("7/conv1/k", lambda a: a * np.float32(1.01)),         # one kernel 1% off
])
def test_tolerances_catch_a_slip(goldens, monkeypatch, key, change):
    """The spread-based tolerances still fail a model with one weight wrong."""
    import engine.models.gansynth as gs

    load = gs._load_weights

    def wrong(reader, config):
        w = load(reader, config)
        w[key] = change(w[key])
        return w

    monkeypatch.setattr(gs, "_load_weights", wrong)
    m = GANSynth.load(CKPT, cache=NoteCache())
    spec = m.specgrams(goldens["z"][:1], goldens["pitches"][:1])
    with pytest.raises(AssertionError):
        _close(spec[:, ::int(goldens["spec_frame_stride"])], goldens["specgrams"][:1], SPEC_TOL)
    with pytest.raises(AssertionError):
        _close(m.generate(goldens["z"][:1], goldens["pitches"][:1], use_cache=False),
               goldens["waves"][:1], AUDIO_TOL)


# -- batching, cache, cancellation ----------------------------------------------


def test_batch_size_independent(model, goldens):
    one = model.generate(goldens["z"], goldens["pitches"], batch_size=1, use_cache=False)
    three = model.generate(goldens["z"], goldens["pitches"], batch_size=3, use_cache=False)
    _close(one, three, AUDIO_TOL)
    calls = model.generator_calls
    model.generate(goldens["z"], goldens["pitches"], batch_size=2, use_cache=False)
    assert model.generator_calls - calls == 2  # 3 notes at batch 2: no padding to 8


def test_cached_notes_are_shared_read_only_arrays(goldens):
    """generate_notes hands out the cached arrays themselves (no second copy), so they
    are read-only; generate stacks them into a fresh writable array."""
    m = GANSynth.load(CKPT, cache=NoteCache())
    z = np.concatenate([goldens["z"][:2], goldens["z"][:1]])
    pitches = [int(goldens["pitches"][0]), int(goldens["pitches"][1]), int(goldens["pitches"][0])]
    notes = m.generate_notes(z, pitches)
    assert m.notes_generated == 2 and notes[0] is notes[2]  # a repeated note renders once
    assert all(not n.flags.writeable and n.shape == (64000,) for n in notes)
    assert m.generate_notes(z, pitches)[1] is notes[1] and m.notes_generated == 2
    audio = m.generate(z, pitches)
    assert audio.flags.writeable and audio.shape == (3, 64000)
    np.testing.assert_array_equal(audio[1], notes[1])
    _close(audio[:2], goldens["waves"][:2], AUDIO_TOL)


def test_moving_one_keyframe_rerenders_only_its_notes(tmp_path):
    m = GANSynth.load(CKPT, cache=NoteCache())
    key_t = np.array([0.0, 1.0, 2.0, 3.0])
    key_z = m.random_instruments(4, 3)
    starts = np.array([0.1, 0.6, 1.2, 1.7, 2.5, 2.9])
    notes = NoteArrays(np.array([60, 62, 64, 65, 67, 69]), np.full(6, 100), starts, starts + 0.3)
    first = render_arrangement(m, notes, key_t, key_z, batch_size=4)
    assert (first.notes_rendered, first.notes_cached) == (6, 0)
    again = render_arrangement(m, notes, key_t, key_z, batch_size=4)
    assert (again.notes_rendered, again.notes_cached) == (0, 6)
    np.testing.assert_array_equal(again.audio, first.audio)

    moved = key_z.copy()
    moved[3] = m.random_instruments(1, 99)[0]  # only the 2-3 s segment uses keyframe 3
    calls = m.notes_generated
    res = render_arrangement(m, notes, key_t, moved, batch_size=4)
    assert (res.notes_rendered, res.notes_cached) == (2, 4)
    assert m.notes_generated - calls == 2
    assert not np.allclose(res.audio, first.audio)


def test_progress_and_cancel_between_batches(tmp_path):
    m = GANSynth.load(CKPT, cache=NoteCache())
    z = m.random_instruments(5, 1)
    seen = []
    m.generate(z, [60] * 5, batch_size=2, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(0, 5), (2, 5), (4, 5), (5, 5)]

    events = []

    def sink(done, total, msg, eta):
        events.append(done)
        if done >= 2:
            ctx.cancel()

    ctx = JobContext(work_dir=tmp_path, _sink=sink)
    POOL.put(pooled.gansynth_key(CKPT), m)
    params = {"midi": str(FIX / "arrangement.mid"), "checkpoint": str(CKPT), "seed": 11,
              "secs_per_instrument": 1.0, "batch_size": 2, "output": "c.wav"}
    with pytest.raises(JobCancelled):
        handler.render(params, ctx)
    assert events == [0, 2] and not (tmp_path / "c.wav").exists()
    # The notes finished before the cancel are kept: a re-run renders only the rest.
    res = handler.render(params, JobContext(work_dir=tmp_path))
    assert (res["notes_rendered"], res["notes_cached"]) == (4, 2)


# -- pitch range, errors ---------------------------------------------------------


def test_out_of_range_pitches_transposed_with_warning(model):
    pitches, warnings = fit_pitch_range([12, 60, 100, 23, 12])
    assert pitches.tolist() == [24, 60, 76, 35, 24]
    assert len(warnings) == 3 and "12" in warnings[0] and "24" in warnings[0]
    notes = NoteArrays(np.array([96, 60]), np.array([100, 100]), np.array([0.0, 0.5]),
                       np.array([0.4, 0.9]))
    res = render_arrangement(model, notes, np.array([0.0, 1.0]), model.random_instruments(2, 0))
    assert res.notes_rendered + res.notes_cached == 2
    assert len(res.warnings) == 1 and "96" in res.warnings[0] and "84" in res.warnings[0]
    with pytest.raises(BadInput, match="outside"):
        model.generate(model.random_instruments(1, 0), [85])


def test_missing_variable_raises_checkpoint_error(tmp_path):
    name = BLOCK.format(7) + "conv1/bias" + EMA
    ckpt = _rewrite_checkpoint(tmp_path / "ckpt", drop=name)
    with pytest.raises(CheckpointError) as e:
        GANSynth.load(ckpt)
    assert name in e.value.message and e.value.details["variable"] == name


def test_bad_checkpoint_folders(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        GANSynth.load(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="stage_"):
        GANSynth.load(tmp_path / "empty")
    shutil.copytree(CKPT, tmp_path / "nojson")
    (tmp_path / "nojson" / "experiment.json").unlink()
    with pytest.raises(CheckpointError, match="experiment.json"):
        GANSynth.load(tmp_path / "nojson")


def test_bad_midi_is_bad_input(tmp_path):
    bad = tmp_path / "x.mid"
    bad.write_bytes(b"not midi")
    with pytest.raises(BadInput, match="x.mid"):
        handler.read_midi_notes(bad)


# -- small pure pieces -----------------------------------------------------------


def test_progress_and_alphas():
    assert compute_progress(11_000_000, 800_000, 800_000, 7) == 6.0
    assert compute_progress(9_200_000, 800_000, 800_000, 7) == 5.5
    assert block_alphas(6.0, 7) == [0, 0, 0, 0, 0, 0, 1.0]
    assert block_alphas(5.5, 7) == [0, 0, 0, 0, 0, 0.5, 0.5]


def test_slerp():
    rng = np.random.RandomState(0)
    a, b = rng.normal(size=256), rng.normal(size=256)
    np.testing.assert_allclose(slerp(a, b, 0.0), a)
    np.testing.assert_allclose(slerp(a, b, 1.0), b)
    u, v = np.eye(4)[0], np.eye(4)[1]
    assert np.linalg.norm(slerp(u, v, 0.3)) == pytest.approx(1.0)
    assert np.all(np.isfinite(slerp(a, a, 0.5)))


def test_cli_render(tmp_path, model, capsys):
    from engine.commands import gansynth as cmd

    POOL.put(pooled.gansynth_key(CKPT), model)
    parser = argparse.ArgumentParser()
    cmd.register(parser.add_subparsers())
    out = tmp_path / "out.wav"
    args = parser.parse_args(["gansynth", "render", str(FIX / "arrangement.mid"), "-o", str(out),
                              "--seed", "3", "--secs-per-instrument", "2",
                              "--checkpoint", str(CKPT)])
    assert args.func(args) == 0
    audio, sr = sf.read(out)
    assert sr == 16000 and len(audio) == 7 * 16000 and np.abs(audio).max() > 0.4
    assert "wrote" in capsys.readouterr().out
    if not BF16_CAPPED:
        fast = tmp_path / "fast.wav"
        args = parser.parse_args(["gansynth", "render", str(FIX / "arrangement.mid"), "-o",
                                  str(fast), "--seed", "3", "--secs-per-instrument", "2",
                                  "--checkpoint", str(CKPT), "--precision", "bfloat16"])
        assert args.func(args) == 0
        assert POOL.peek(pooled.gansynth_key(CKPT, "bfloat16")).precision == "bfloat16"
        bf16, _ = sf.read(fast)
        assert bf16.shape == audio.shape and not np.array_equal(bf16, audio)
    args = parser.parse_args(["gansynth", "render", str(tmp_path / "missing.mid"), "-o",
                              str(out), "--checkpoint", str(CKPT)])
    assert args.func(args) == 1
    assert "missing.mid" in capsys.readouterr().err


def test_expected_variables_match_fixture_names():
    """The official variable list (for `models verify`) uses the names the loader reads."""
    import tensorflow as tf

    want = expected_variables("acoustic_only")
    have = dict(tf.train.list_variables(str(PREFIX)))
    assert len(want) == 7 * 6 + 1 and set(want) <= set(have)
    assert want[BLOCK.format(1) + "conv0/conv2d/kernel" + EMA] == (2, 16, 317, 256)
    assert want[BLOCK.format(7) + "to_rgb/conv2d/kernel" + EMA] == (1, 1, 32, 2)
    # widths differ in the fixture (reduced), ranks do not
    assert all(len(have[n]) == len(s) for n, s in want.items())


def test_model_name_resolution(tmp_path, monkeypatch):
    from engine.errors import ModelNotInstalled

    monkeypatch.setenv("MAGSTATION_CHECKPOINTS", str(tmp_path))
    shutil.copytree(CKPT, tmp_path / "gansynth-acoustic_only" / "acoustic_only")
    from engine.api.base import ModelChoice

    got = handler.resolve_checkpoint(ModelChoice(model="acoustic_only"))
    assert got == tmp_path / "gansynth-acoustic_only" / "acoustic_only"
    with pytest.raises(ModelNotInstalled, match="gansynth-all_instruments"):
        handler.resolve_checkpoint(ModelChoice(model="all_instruments"))
    assert handler.resolve_checkpoint(ModelChoice(checkpoint=str(CKPT), model="x")) == CKPT
    # the folder above an unzipped checkpoint loads too
    assert GANSynth.load(tmp_path / "gansynth-acoustic_only").config.num_blocks == 7
