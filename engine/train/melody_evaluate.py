"""Held-out metrics and musicality statistics of a MelodyRNN bundle (model cards, tests).

    python -m engine.train.melody_evaluate BUNDLE.mag --data DIR [--samples 40] [--show 3]

For a PerformanceRNN bundle (performance_with_dynamics) only the log-likelihood lines.

- log-likelihood per event on the held-out split (nats), teacher forced, against a
  unigram baseline (each class's frequency in the training split);
- continuations: the first 4 bars of held-out melodies as primers, 4 bars continued
  through the real loader (engine.models.melody_rnn), compared with what the tune really
  does next on: key consistency (share of notes in the primer's major key), step vs leap
  (share of intervals of at most 2 semitones), note density (notes per bar);
- text piano rolls of a few continuations.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.music import melody_rnn as mr
from engine.train.mel_vae_evaluate import notes_of  # (start, end, pitch) steps of melody events

PRIMER_BARS, CONTINUE_BARS = 4, 4
STEPS_PER_BAR = 16


def major_scale(key: int) -> set[int]:
    return {(key + d) % 12 for d in (0, 2, 4, 5, 7, 9, 11)}


def primer_key(pitches: list[int]) -> int:
    """The major key (0 = C) most of the primer's notes fit, ties to the lowest."""
    from note_seq.constants import NOTE_KEYS

    hist = np.zeros(12)
    for p in pitches:
        hist[NOTE_KEYS[p % 12]] += 1
    return int(hist.argmax())


def melody_stats(pitches: list[int], steps: int, key: int) -> dict[str, float]:
    scale = major_scale(key)
    iv = np.abs(np.diff(pitches)) if len(pitches) > 1 else np.zeros(0)
    return {"in_key": float(np.mean([p % 12 in scale for p in pitches])) if pitches else np.nan,
            "steps_vs_leaps": float(np.mean(iv <= 2)) if len(iv) else np.nan,
            "notes_per_bar": len(pitches) / (steps / STEPS_PER_BAR)}


def unigram_nats(train_labels: list[np.ndarray], eval_labels: list[np.ndarray],
                 num_classes: int) -> float:
    counts = np.bincount(np.concatenate(train_labels), minlength=num_classes) + 1.0
    logp = np.log(counts / counts.sum())
    y = np.concatenate(eval_labels)
    return float(-logp[y].mean())


def heldout_nats(bundle: Path, eval_inputs, eval_labels, layers: tuple[int, ...],
                 config: str) -> float:
    """Mean cross-entropy per event (nats) of the bundle's weights on whole melodies."""
    import tensorflow as tf

    from engine.models.mag_bundle import read_bundle, write_checkpoint
    from engine.train.event_rnn import TrainableEventRnn
    from engine.train.melody_trainer import rnn_shape
    import tempfile

    model = TrainableEventRnn(rnn_shape(config, layers))
    with tempfile.TemporaryDirectory() as tmp:
        reader = tf.train.load_checkpoint(str(write_checkpoint(read_bundle(bundle), Path(tmp))))
        for n, var in model.variables.items():
            var.assign(reader.get_tensor(n))
    loss = tf.function(lambda x, y: model.losses(x, y, tf.ones(tf.shape(y)), 1.0,
                                                 tf.constant([0, 0]))["loss"],
                       input_signature=[tf.TensorSpec([1, None, model.shape.input_size]),
                                        tf.TensorSpec([1, None], tf.int32)])
    total, count = 0.0, 0
    for x, y in zip(eval_inputs, eval_labels):
        if x.ndim == 1:  # class indices (performances): one-hot
            x = np.eye(model.shape.input_size, dtype=np.float32)[x]
        m = {"loss": loss(tf.constant(x[None]), tf.constant(y[None]))}
        total += float(m["loss"]) * len(y)
        count += len(y)
    return total / max(count, 1)


@dataclass
class Sample:
    primer: list[tuple[int, int, int]]  # (start step, end step, pitch)
    generated: list[tuple[int, int, int]]
    real: list[tuple[int, int, int]]


def continuations(model, melodies: list, n: int, temperature: float, seed: int) -> list[Sample]:
    """Continue the first PRIMER_BARS of each held-out melody by CONTINUE_BARS."""
    from engine.music.sequences import new_sequence

    out = []
    for k, mel in enumerate(melodies[:n]):
        ev = list(mel)
        p_steps, c_steps = PRIMER_BARS * STEPS_PER_BAR, CONTINUE_BARS * STEPS_PER_BAR
        primer = [t for t in notes_of(ev[:p_steps])]
        real = [(s - p_steps, e - p_steps, p) for s, e, p in notes_of(ev[:p_steps + c_steps])
                if s >= p_steps]
        ns = new_sequence(mr.DEFAULT_QPM)
        spq = 60.0 / mr.DEFAULT_QPM / mr.STEPS_PER_QUARTER
        for s, e, p in primer:
            ns.notes.add(pitch=p, velocity=100, start_time=s * spq, end_time=e * spq)
        ns.total_time = p_steps * spq
        res = model.generate(ns, p_steps * spq, (p_steps + c_steps) * spq, temperature,
                             seed + k)
        gen = sorted((round(nt.start_time / spq) - p_steps, round(nt.end_time / spq) - p_steps,
                      nt.pitch) for nt in res.notes)
        out.append(Sample(primer, gen, real))
    return out


def sample_stats(samples: list[Sample], which: str) -> dict[str, float]:
    rows = []
    for s in samples:
        key = primer_key([p for _, _, p in s.primer])
        notes = getattr(s, which)
        rows.append(melody_stats([p for _, _, p in notes], CONTINUE_BARS * STEPS_PER_BAR, key))
    return {k: float(np.nanmean([r[k] for r in rows])) for k in rows[0]} if rows else {}


def piano_roll(sample: Sample) -> str:
    """Text piano roll: one row per pitch (high to low), one column per 16th;
    primer `#`, continuation `o` (onset) `-` (held), `|` bar lines."""
    p_steps = PRIMER_BARS * STEPS_PER_BAR
    notes = [(s, e, p, "#") for s, e, p in sample.primer] + \
            [(s + p_steps, e + p_steps, p, "o") for s, e, p in sample.generated]
    if not notes:
        return "(no notes)"
    total = p_steps + CONTINUE_BARS * STEPS_PER_BAR
    names = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
    lines = []
    for pitch in range(max(n[2] for n in notes), min(n[2] for n in notes) - 1, -1):
        row = ["." if i % 4 else ":" for i in range(total)]
        for s, e, p, ch in notes:
            if p == pitch:
                for i in range(s, min(e, total)):
                    row[i] = ch if (i == s or ch == "#") else "-"
        cells = "".join("|" + c if i % STEPS_PER_BAR == 0 else c for i, c in enumerate(row))
        lines.append(f"{names[pitch % 12] + str(pitch // 12 - 1):>4} {cells}|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from engine.models.melody_rnn import MelodyRnn
    from engine.train import melody_data, performance_data
    from engine.train.melody_data import file_melodies, midi_files, split_of

    p = argparse.ArgumentParser(description="held-out metrics of a MelodyRNN bundle")
    p.add_argument("bundle", type=Path)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--layers", type=int, nargs="+", default=None,
                   help="the bundle's LSTM widths (default: read from the bundle)")
    p.add_argument("--samples", type=int, default=40)
    p.add_argument("--show", type=int, default=3)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    model = MelodyRnn.load(a.bundle)
    perf = model.config not in mr.CONFIGS
    source = performance_data if perf else melody_data
    tr = source.load_examples(a.data, model.config, "train")
    ev = source.load_examples(a.data, model.config, "eval")
    layers = tuple(a.layers or model.weights.units)
    nats = heldout_nats(a.bundle, ev.inputs, ev.labels, layers, model.config)
    uni = unigram_nats(tr.labels, ev.labels, model.enc.num_classes)
    print(f"held-out: {ev.files} files, {len(ev)} {'performances' if perf else 'melodies'}, "
          f"{ev.events} events")
    print(f"  log-likelihood per event: {-nats:.4f} nats ({-nats / np.log(2):.3f} bits), "
          f"perplexity {np.exp(nats):.2f}")
    print(f"  unigram baseline:         {-uni:.4f} nats ({-uni / np.log(2):.3f} bits), "
          f"perplexity {np.exp(uni):.2f}")
    if perf:  # the statistics below are for melodies
        return 0
    root = a.data
    mels = []
    for f in midi_files(root):
        if split_of(f, root) == "eval":
            mels += [m for m in file_melodies(f)
                     if len(m) >= (PRIMER_BARS + CONTINUE_BARS) * STEPS_PER_BAR]
    samples = continuations(model, mels, a.samples, a.temperature, a.seed)
    gen, real = sample_stats(samples, "generated"), sample_stats(samples, "real")
    print(f"\n{len(samples)} continuations ({PRIMER_BARS}-bar primers, {CONTINUE_BARS} bars, "
          f"temperature {a.temperature}, seeds {a.seed}..{a.seed + len(samples) - 1})")
    print(f"  {'statistic':<16} {'model':>7} {'real tune':>9}")
    for k in gen:
        print(f"  {k:<16} {gen[k]:7.3f} {real[k]:9.3f}")
    for i, s in enumerate(samples[:a.show]):
        print(f"\nsample {i + 1} (# primer, o continuation):\n{piano_roll(s)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
