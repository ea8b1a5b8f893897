"""Native engine vs the committed goldens: the max error of every parity quantity.

usage (product venv, from the repository root):
    python tests/reference/measure_native.py [FAMILY ...] > out.json
    FAMILY: melody_rnn gansynth musicvae nsynth (default all)

Prints one JSON object {quantity: max abs error} (GANSynth: relative to the golden's
peak, as its tests measure). Run it under several kernel settings
(tests/reference/measure_spread.py does) to see how much the native side moves with the
CPU's kernels. Mirrors what tests/test_*_parity.py compare; no tolerances here.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
FIX = ROOT / "tests" / "fixtures"


def _err(a, b) -> float:
    return float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max())


def _rel(a, b) -> float:
    return _err(a, b) / float(np.abs(np.asarray(b)).max())


def melody_rnn() -> dict[str, float]:
    import note_seq

    from engine.models.melody_rnn import MelodyRnn, sequence_from_notes

    out = {}
    d = FIX / "melody_rnn"
    for c in ["basic_rnn", "lookback_rnn", "attention_rnn", "attention_rnn_stack",
              "attention_rnn_stack_scale1", "performance_with_dynamics"]:
        m, g = MelodyRnn.load(d / f"{c}.mag"), dict(np.load(d / f"{c}.npz"))
        perf = c.startswith("performance")
        if perf:
            q = note_seq.quantize_note_sequence_absolute(
                sequence_from_notes(g["primer"].tolist()), 100)
            ev = note_seq.Performance(q, start_step=0, num_velocity_bins=32)
        else:
            ev = note_seq.Melody(list(g["tf_events"]))
        out[f"melody_rnn/{c}/tf_softmax"] = _err(m.softmax_of(ev), g["tf_softmax"])
        for tag, temp in ([("t10", 1.0), ("s10", 1.0)] if perf else
                          [("t10", 1.0), ("t05", 0.5), ("s10", 1.0)]):
            chosen = g[f"{tag}_chosen"]
            res = m.generate(sequence_from_notes(g["primer"].tolist()), float(g["start_time"]),
                             float(g["end_time"]), temp, choose=lambda p, i: int(chosen[i]))
            out[f"melody_rnn/{c}/{tag}_softmax"] = _err(res.softmax, g[f"{tag}_softmax"])
    return out


def gansynth() -> dict[str, float]:
    from engine.models.gansynth import GANSynth, NoteCache

    d = FIX / "gansynth"
    g = dict(np.load(d / "goldens.npz"))
    m = GANSynth.load(d / "tiny_ckpt", cache=NoteCache())
    stride = int(g["spec_frame_stride"])
    spec = m.specgrams(g["z"], g["pitches"])[:, ::stride]
    out = {"gansynth/specgrams_mag": _rel(spec[..., 0], g["specgrams"][..., 0]),
           "gansynth/specgrams_if": _rel(spec[..., 1], g["specgrams"][..., 1])}
    waves = m.generate(g["z"], g["pitches"], use_cache=False)
    out["gansynth/waves"] = _rel(waves, g["waves"])
    one = m.generate(g["z"], g["pitches"], batch_size=1, use_cache=False)
    out["gansynth/batch1_vs_golden"] = _rel(one, g["waves"])
    out["gansynth/batch1_vs_batch3"] = _rel(one, waves)
    return out


def musicvae() -> dict[str, float]:
    from engine.models.musicvae import MusicVae

    out = {}
    for d in sorted(p for p in (FIX / "musicvae").iterdir() if p.is_dir()):
        name = d.name
        with np.load(d / "goldens.npz") as f:
            g = {k: f[k] for k in f.files}
        vae = MusicVae.load(name, str(d / "model.ckpt"))
        _, mu, sigma = vae.encode(g["inputs"], g["lengths"], seed=3)
        out[f"musicvae/{name}/enc_mu"] = _err(mu, g["enc_mu"])
        out[f"musicvae/{name}/enc_sigma"] = _err(sigma, g["enc_sigma"])
        for tag in ["greedy", "t10", "interp"]:
            z = g["interp_z" if tag == "interp" else "dec_z"]
            steps = g[f"{tag}_logits"].shape[1]
            logits = vae.decode_logits(z, g[f"{tag}_samples"])[:, :steps]
            out[f"musicvae/{name}/{tag}_logits"] = _err(logits, g[f"{tag}_logits"])
        _, z = vae.interpolate(g["inputs"][0], g["inputs"][1], num_steps=5, temperature=0)
        out[f"musicvae/{name}/interp_z"] = _err(z, g["interp_z"])
        if "humanize_logits" in g:
            logits = vae.decode_logits(g["enc_z"], g["humanize_samples"])
            out[f"musicvae/{name}/humanize_logits"] = _err(logits, g["humanize_logits"])
    return out


def nsynth() -> dict[str, float]:
    from engine.models.nsynth import NSynth

    d = FIX / "nsynth"
    g = dict(np.load(d / "goldens.npz"))
    m = NSynth.load(d / "ckpt")
    out = {"nsynth/encodings": _err(m.encode(g["encode_audio"]), g["encodings"])}
    logits = m.teacher_forced_logits(g["tf_inputs"], g["tf_encodings"])
    e = np.exp(logits - logits.max(-1, keepdims=True))
    probs = e / e.sum(-1, keepdims=True)
    out["nsynth/tf_probs"] = _err(probs[g["tf_steps"]], g["tf_probs"])
    from engine.audio.mulaw import mu_law_encode

    res = m.synthesize(g["synth_encodings"], seed=int(g["synth_seed"]))
    differ = res.codes.astype(np.int64) != mu_law_encode(g["synth_audio"]) + 128
    out["nsynth/synth_codes_differ_fraction"] = float(differ.mean())
    return out


FAMILIES = {"melody_rnn": melody_rnn, "gansynth": gansynth, "musicvae": musicvae,
            "nsynth": nsynth}

if __name__ == "__main__":
    res = {}
    for fam in sys.argv[1:] or list(FAMILIES):
        res.update(FAMILIES[fam]())
    print(json.dumps(res))
