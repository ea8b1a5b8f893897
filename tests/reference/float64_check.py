"""Rounding or defect? The parity cases evaluated in float64 on the fixture weights.

usage (product venv, from the repository root):
    python tests/reference/float64_check.py melody_rnn [CONFIG ...]
    python tests/reference/float64_check.py gansynth

melody_rnn: the native network's math run in float64 (the same ops with float64
constants; the float32 fixture weights are exact in float64) with the golden's choices
replayed. For each generation golden it prints the max softmax error of Magenta's golden
(float32) and of the native float32 run against float64, step by step, and how a
1-ulp perturbation grows: the float64 run again with every weight multiplied by
(1 + u * 2**-24), u = +-1 at random (float32 rounding of the weights), against the
unperturbed float64 run. If both float32 runs sit as far from float64 as each other and
as the 1-ulp run does, the difference between them is rounding amplified by the net,
not a defect.

gansynth: batch 1 vs batch 3 in float32 against float64 (the native generator traced
with float64 constants), relative to the golden's peak.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
FIX = ROOT / "tests" / "fixtures"
ULP = 2.0 ** -24


def melody_rnn64(m, perturb_seed: int | None = None):
    """A float64 copy of a loaded MelodyRnn (optionally 1-ulp-perturbed weights)."""
    import tensorflow as tf

    from engine.models.melody_rnn import MelodyRnn

    rng = np.random.RandomState(perturb_seed) if perturb_seed is not None else None

    def c(a):
        a = np.asarray(a, np.float64)
        if rng is not None:
            a = a * (1 + ULP * rng.choice([-1.0, 1.0], a.shape))
        return tf.constant(a, tf.float64)

    class Rnn64(MelodyRnn):
        def __init__(self):
            super().__init__(m.config, m.weights, m.name)
            w = self.weights
            self._lstm = [(c(k), c(b)) for k, b in w.lstm]
            self._out = (c(w.out_kernel), c(w.out_bias))
            if w.attention is not None:
                self._attn = {k: c(getattr(w.attention, k)) for k in self._attn}

        def zero_state(self):
            state, attn = super().zero_state()
            cast = lambda t: tf.cast(t, tf.float64)  # noqa: E731
            return [(cast(a), cast(b)) for a, b in state], tuple(cast(t) for t in attn)

        def stepper(self):
            state, attn = self.zero_state()
            box = [state, attn]

            def step(x):
                logits, box[0], box[1] = self._step_fn(
                    tf.constant(np.asarray(x, np.float64)[None, :]), box[0], box[1])
                return logits.numpy()[0]
            return step

    return Rnn64()


def _gen(model, g, tag, temp):
    from engine.models.melody_rnn import sequence_from_notes

    chosen = g[f"{tag}_chosen"]
    return model.generate(sequence_from_notes(g["primer"].tolist()), float(g["start_time"]),
                          float(g["end_time"]), temp, choose=lambda p, i: int(chosen[i])).softmax


def check_melody(configs) -> dict:
    from engine.models.melody_rnn import MelodyRnn

    out = {}
    for c in configs:
        g = dict(np.load(FIX / "melody_rnn" / f"{c}.npz"))
        m = MelodyRnn.load(FIX / "melody_rnn" / f"{c}.mag")
        m64, m64p = melody_rnn64(m), melody_rnn64(m, perturb_seed=0)
        tags = [("t10", 1.0), ("s10", 1.0)] + ([] if c.startswith("perf") else [("t05", 0.5)])
        for tag, temp in tags:
            ref = _gen(m64, g, tag, temp)
            native = _gen(m, g, tag, temp)
            ulp = _gen(m64p, g, tag, temp)
            per_step = lambda a: np.abs(a - ref).max(-1)  # noqa: E731
            row = {"golden_vs_f64": float(per_step(g[f"{tag}_softmax"]).max()),
                   "native_vs_f64": float(per_step(native).max()),
                   "golden_vs_native": float(np.abs(native - g[f"{tag}_softmax"]).max()),
                   "ulp_vs_f64": float(per_step(ulp).max()),
                   "ulp_first5": float(per_step(ulp)[:5].max()),
                   "steps": int(len(ref))}
            row["ulp_growth"] = row["ulp_vs_f64"] / max(row["ulp_first5"], 1e-300)
            e = per_step(g[f"{tag}_softmax"])
            row["golden_vs_f64_by_10_steps"] = [float(e[i:i + 10].max())
                                                for i in range(0, len(e), 10)]
            out[f"{c}/{tag}"] = row
            print(c, tag, json.dumps(row), file=sys.stderr, flush=True)
    return out


def check_gansynth() -> dict:
    import tensorflow as tf

    from engine.models.gansynth import GANSynth, NoteCache

    g = dict(np.load(FIX / "gansynth" / "goldens.npz"))
    ckpt = FIX / "gansynth" / "tiny_ckpt"
    z, p = g["z"], g["pitches"]
    stride = int(g["spec_frame_stride"])
    # float64: tf.float32 / np.float32 name float64 while the model is built and run
    # (this throwaway process only); the float32 weights and z are exact in float64.
    import engine.audio.spectral as spectral

    saved = tf.float32, np.float32, tf.one_hot, spectral._mel_to_linear_tensor
    one_hot, mel2lin = tf.one_hot, spectral._mel_to_linear_tensor
    tf.float32, np.float32 = tf.float64, np.float64
    tf.one_hot = lambda *a, **k: one_hot(*a, dtype=tf.float64, **k)
    spectral._mel_to_linear_tensor = lambda b, sr, dtype=None: mel2lin(b, sr, "float64")
    try:
        m64 = GANSynth.load(ckpt, cache=NoteCache(), upsample_conv=False)
        spec64 = np.asarray(m64.specgrams(np.asarray(z, np.float64), p))[:, ::stride]
        wave64 = np.asarray(m64.generate(np.asarray(z, np.float64), p, use_cache=False))
    finally:
        tf.float32, np.float32, tf.one_hot, spectral._mel_to_linear_tensor = saved
    assert spec64.dtype == np.float64 and wave64.dtype == np.float64, (spec64.dtype, wave64.dtype)
    speak = np.abs(g["specgrams"]).max(axis=(0, 1, 2))
    wpeak = float(np.abs(g["waves"]).max())
    srel = lambda a: [float(x) for x in  # noqa: E731
                      np.abs(np.asarray(a, np.float64) - spec64).max(axis=(0, 1, 2)) / speak]
    wrel = lambda a: float(np.abs(np.asarray(a, np.float64) - wave64).max() / wpeak)  # noqa
    out = {"golden_spec_vs_f64": srel(g["specgrams"]), "golden_waves_vs_f64": wrel(g["waves"])}
    for fast in (True, False):
        m = GANSynth.load(ckpt, cache=NoteCache(), upsample_conv=fast)
        tag = "fastconv" if fast else "direct"
        s3 = m.specgrams(z, p)[:, ::stride]
        s1 = np.concatenate([m.specgrams(z[i:i + 1], p[i:i + 1]) for i in range(3)])[:, ::stride]
        w1 = m.generate(z, p, batch_size=1, use_cache=False)
        w3 = m.generate(z, p, batch_size=3, use_cache=False)
        out[f"{tag}_spec_batch1_vs_f64"] = srel(s1)
        out[f"{tag}_spec_batch3_vs_f64"] = srel(s3)
        out[f"{tag}_waves_batch1_vs_f64"] = wrel(w1)
        out[f"{tag}_waves_batch3_vs_f64"] = wrel(w3)
        out[f"{tag}_waves_batch1_vs_batch3"] = float(np.abs(w1 - w3).max() / wpeak)
    print(json.dumps(out), file=sys.stderr)
    return out


if __name__ == "__main__":
    what, *rest = sys.argv[1:]
    if what == "melody_rnn":
        res = check_melody(rest or ["basic_rnn", "lookback_rnn", "attention_rnn",
                                    "attention_rnn_stack", "attention_rnn_stack_scale1",
                                    "performance_with_dynamics"])
    else:
        res = check_gansynth()
    print(json.dumps(res))
