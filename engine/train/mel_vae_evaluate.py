"""Evaluating a 2-bar melody MusicVAE checkpoint (cat-mel_2bar_big topology) the way users
meet it: loaded by the inference model (engine.models.musicvae), on a held-out split, plus
the musicality statistics MELODY_MODEL_CARD.md reports.

    python -m engine.train.mel_vae_evaluate checkpoints/starter/starter-cat-mel_2bar DATA

Statistics per 2-bar window of 32 sixteenth steps (events: -2 hold/rest, -1 off, pitch):
- best_key_share: share of notes in the major scale (any of 12) that fits most of them;
- steps_vs_leaps: share of melodic intervals of at most 2 semitones;
- notes_per_bar; empty: share of windows without a note.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

CONFIG = "cat-mel_2bar_big"
STEPS_PER_BAR = 16
NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]


def major_scale(key: int) -> set[int]:
    return {(key + d) % 12 for d in (0, 2, 4, 5, 7, 9, 11)}


def notes_of(events: list[int]) -> list[tuple[int, int, int]]:
    """(start, end, pitch) steps of a melody event list."""
    out, cur = [], None
    for i, e in enumerate(list(events) + [-1]):
        if e == -2:
            continue
        if cur is not None:
            out.append((cur[0], i, cur[1]))
            cur = None
        if e >= 0:
            cur = (i, e)
    return out


def best_key(pitches: list[int]) -> tuple[int, float]:
    """The major key (0 = C) most of the pitches fit, and the share that fits it."""
    shares = [np.mean([p % 12 in major_scale(k) for p in pitches]) for k in range(12)]
    k = int(np.argmax(shares))
    return k, float(shares[k])


def window_stats(events: list[int]) -> dict[str, float]:
    pitches = [p for _, _, p in notes_of(events)]
    iv = np.abs(np.diff(pitches))
    return {"best_key_share": best_key(pitches)[1] if pitches else np.nan,
            "steps_vs_leaps": float(np.mean(iv <= 2)) if len(iv) else np.nan,
            "notes_per_bar": len(pitches) / (len(events) / STEPS_PER_BAR),
            "empty": float(not pitches)}


def stats(outputs: np.ndarray) -> dict[str, float]:
    """Mean statistics of one-hot windows [N, 32, 90]."""
    from engine.music.melody import onehot_to_events

    rows = [window_stats(onehot_to_events(o)) for o in outputs]
    return {k: float(np.nanmean([r[k] for r in rows])) for k in rows[0]}


def piano_roll(events: list[int]) -> str:
    """Text piano roll: one row per pitch (high to low), one column per 16th;
    `o` onset, `-` held, `|` bar lines."""
    notes = notes_of(events)
    if not notes:
        return "(no notes)"
    lines = []
    for pitch in range(max(n[2] for n in notes), min(n[2] for n in notes) - 1, -1):
        row = ["." if i % 4 else ":" for i in range(len(events))]
        for s, e, p in notes:
            if p == pitch:
                for i in range(s, e):
                    row[i] = "o" if i == s else "-"
        cells = "".join("|" + c if i % STEPS_PER_BAR == 0 else c for i, c in enumerate(row))
        lines.append(f"{NAMES[pitch % 12] + str(pitch // 12 - 1):>4} {cells}|")
    return "\n".join(lines)


def evaluate(checkpoint: str | Path, data: Path, split: str = "test", seed: int = 0
             ) -> dict[str, float]:
    """Held-out metrics through MusicVae: kl_bits; teacher_forced_step_accuracy (decoder
    fed the true previous step, z = mu); recon_step_accuracy (free-running argmax decode
    of mu, what `reconstruct` gives at temperature 0) over all steps and over the steps
    where the data has a note onset (recon_onset_accuracy)."""
    from engine.models.musicvae import MusicVae
    from engine.train.data import load_windows
    from engine.train.evaluate import encode_windows

    model = MusicVae.load(CONFIG, str(checkpoint))
    w = load_windows(data, CONFIG, split)
    mu, sigma, lg, rec, kl = encode_windows(model, w, seed)
    truth = w.outputs.argmax(-1)
    onset = truth >= 2  # classes 0/1: no event / note off
    return {"windows": float(len(w)),
            "kl_bits": float(kl.sum(-1).mean() / math.log(2)),
            "teacher_forced_step_accuracy": float(np.mean(lg.argmax(-1) == truth)),
            "recon_step_accuracy": float(np.mean(rec.argmax(-1) == truth)),
            "recon_onset_accuracy": float(np.mean(rec.argmax(-1)[onset] == truth[onset]))}


def main(argv: list[str] | None = None) -> int:
    from engine.models.musicvae import MusicVae
    from engine.music.melody import onehot_to_events
    from engine.train.data import load_windows

    ap = argparse.ArgumentParser(prog="python -m engine.train.mel_vae_evaluate")
    ap.add_argument("checkpoint")
    ap.add_argument("data", type=Path)
    ap.add_argument("-n", type=int, default=256, help="samples per temperature")
    a = ap.parse_args(argv)
    report = {"heldout": evaluate(a.checkpoint, a.data),
              "data_stats": stats(load_windows(a.data, CONFIG, "test").outputs)}
    model = MusicVae.load(CONFIG, a.checkpoint)
    rolls = {}
    for t in (0.5, 1.0):
        out, _ = model.sample(a.n, temperature=t, seed=1)
        report[f"samples_T{t}"] = stats(out)
        rolls[t] = [piano_roll(onehot_to_events(o)) for o in out[:2]]
    print(json.dumps(report, indent=2))
    for t, rs in rolls.items():
        for r in rs:
            print(f"\nT={t}\n{r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
