"""Evaluating a drum checkpoint the way users meet it: loaded by the inference model
(engine.models.musicvae), on a held-out split, plus the musicality statistics the model
card reports.

    m = evaluate("checkpoints/starter/starter-drums_2bar", "cat-drums_2bar_small",
                 Path("midi/groove"), "test")
    stats = pattern_stats(hits)            # hits [N, 9, 32] bool
    print(text_grid(hits[0]))

Musicality statistics (per 2-bar pattern of 32 16th steps, rows in engine.music.drums
order) compare samples with the dataset:
- kick_on_beats: share of kick hits on quarter-note beats (steps 0, 4, 8, ...);
- snare_on_backbeat: share of snare hits on beats 2 and 4 (steps 4 and 12 of each bar);
- snare_backbeat_rate / snare_other_rate: how often a snare plays on a backbeat step /
  on any other step (ghost notes and fills make the share above small in this dataset;
  the contrast of the two rates shows the backbeat);
- hats_per_bar: closed + open hi-hat hits per bar; ride_per_bar likewise for the ride;
- with_kick_snare_hats: share of patterns with a kick, a snare and a hi-hat or ride;
- hits_per_bar: all hits per bar.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from engine.music import drums as dm

KICK, SNARE, CLOSED_HH, OPEN_HH, RIDE = 0, 1, 2, 3, 8


def pattern_stats(hits: np.ndarray) -> dict[str, float]:
    """Placement statistics of hit grids [N, 9, steps] (see the module doc)."""
    h = np.asarray(hits, bool)
    steps = h.shape[-1]
    bars = steps / 16
    idx = np.arange(steps)
    on_beat = idx % 4 == 0
    backbeat = np.isin(idx % 16, (4, 12))
    kicks, snares = h[:, KICK], h[:, SNARE]
    hats = h[:, CLOSED_HH] | h[:, OPEN_HH]
    return {
        "kick_on_beats": float(kicks[:, on_beat].sum() / max(1, kicks.sum())),
        "snare_on_backbeat": float(snares[:, backbeat].sum() / max(1, snares.sum())),
        "snare_backbeat_rate": float(snares[:, backbeat].mean()),
        "snare_other_rate": float(snares[:, ~backbeat].mean()),
        "hats_per_bar": float(hats.sum(axis=1).mean() / bars),
        "ride_per_bar": float(h[:, RIDE].sum(axis=1).mean() / bars),
        "hits_per_bar": float(h.sum(axis=(1, 2)).mean() / bars),
        "with_kick_snare_hats": float(np.mean(kicks.any(1) & snares.any(1)
                                              & (hats.any(1) | h[:, RIDE].any(1)))),
    }


def text_grid(hits: np.ndarray, velocities: np.ndarray | None = None) -> str:
    """A pattern [9, steps] as text: one row per drum, `x` a hit (with velocities: `o`
    soft < 60, `x` 60-99, `X` loud >= 100), `.` a rest, `|` between beats' groups."""
    rows = []
    h = np.asarray(hits, bool)
    for c in range(h.shape[0]):
        cells = []
        for i in range(h.shape[1]):
            if i and i % 16 == 0:
                cells.append("|")
            elif i and i % 4 == 0:
                cells.append(" ")
            if not h[c, i]:
                cells.append(".")
            elif velocities is None:
                cells.append("x")
            else:
                v = int(velocities[c, i])
                cells.append("o" if v < 60 else "X" if v >= 100 else "x")
        rows.append(f"{dm.DRUM_CLASS_SHORT[c]} {''.join(cells)}")
    return "\n".join(rows)


def _hits_of_outputs(config: str, outputs: np.ndarray) -> np.ndarray:
    from engine.music.grids import onehot_to_grid

    if config.startswith("groovae"):
        return np.transpose(outputs[..., :dm.NUM_DRUM_CLASSES] > 0.5, (0, 2, 1))
    return np.stack([onehot_to_grid(o) for o in outputs])


def encode_windows(model, w, seed: int):
    """Every window of `w` through `model` in chunks of 256: (mu, sigma, teacher-forced
    logits, free-running temperature-0 reconstructions, KL per latent dimension)."""
    mus, sigmas, logits, recons = [], [], [], []
    for s in range(0, len(w), 256):
        x, y = w.inputs[s:s + 256], w.outputs[s:s + 256]
        _, mu, sigma = model.encode(x, seed=seed)
        mus.append(mu)
        sigmas.append(sigma)
        logits.append(model.decode_logits(mu, y))
        recons.append(model.decode(mu, y.shape[1], temperature=0, seed=seed))
    mu, sigma = np.concatenate(mus), np.concatenate(sigmas)
    kl = 0.5 * (mu ** 2 + sigma ** 2 - 1.0) - np.log(np.maximum(sigma, 1e-12))
    return mu, sigma, np.concatenate(logits), np.concatenate(recons), kl


def evaluate(checkpoint: str | Path, config: str, data: Path, split: str = "test",
             seed: int = 0, limit_files: int | None = None) -> dict[str, float]:
    """Metrics of a checkpoint on a split, through MusicVae (the inference code):

    - kl_bits: mean KL(q(z|x) || N(0, I)) in bits;
    - teacher_forced_*: decoder fed the true previous step, z = mu;
    - recon_*: free-running argmax / threshold-0.5 decode of mu (what `reconstruct`
      gives at temperature 0): hit_accuracy per (step, drum) cell, hit_f1, and for
      GrooVAE velocity_mae (MIDI units) and offset_mae (fraction of a step) on the hits
      both the data and the reconstruction have."""
    from engine.models.musicvae import MusicVae
    from engine.train.data import load_windows

    model = MusicVae.load(config, str(checkpoint))
    w = load_windows(data, config, split, limit_files)
    n_cls = dm.NUM_DRUM_CLASSES
    mu, sigma, lg, rec, kl = encode_windows(model, w, seed)
    out: dict[str, float] = {"windows": float(len(w)),
                             "kl_bits": float(kl.sum(-1).mean() / math.log(2))}
    true_hits = _hits_of_outputs(config, w.outputs)
    if config.startswith("groovae"):
        tf_hits = np.transpose(lg[..., :n_cls] > 0, (0, 2, 1))
    else:
        out["teacher_forced_step_accuracy"] = float(
            np.mean(lg.argmax(-1) == w.outputs.argmax(-1)))
        tf_hits = np.stack([((np.argmax(l, -1)[None] >> np.arange(n_cls)[:, None]) & 1) > 0
                            for l in lg])
    out["teacher_forced_hit_accuracy"] = float(np.mean(tf_hits == true_hits))
    rec_hits = _hits_of_outputs(config, rec)
    out["recon_hit_accuracy"] = float(np.mean(rec_hits == true_hits))
    tp = float((rec_hits & true_hits).sum())
    out["recon_hit_f1"] = 2 * tp / max(1.0, float(rec_hits.sum() + true_hits.sum()))
    if not config.startswith("groovae"):
        out["recon_step_accuracy"] = float(np.mean(rec.argmax(-1) == w.outputs.argmax(-1)))
    else:
        both = np.transpose(rec_hits & true_hits, (0, 2, 1))  # [N, T, 9]
        v_true = w.outputs[..., n_cls:2 * n_cls][both] * 127
        v_rec = rec[..., n_cls:2 * n_cls][both] * 127
        o_true = w.outputs[..., 2 * n_cls:][both] / 2
        o_rec = rec[..., 2 * n_cls:][both] / 2
        out["velocity_mae"] = float(np.mean(np.abs(v_true - v_rec)))
        out["offset_mae"] = float(np.mean(np.abs(o_true - o_rec)))
        # the baselines a model must beat: every hit at the data's mean velocity, on the grid
        out["velocity_mae_mean_baseline"] = float(np.mean(np.abs(v_true - v_true.mean())))
        out["offset_mae_grid_baseline"] = float(np.mean(np.abs(o_true)))
    return out


def dataset_hits(data: Path, split: str = "test", limit_files: int | None = None) -> np.ndarray:
    """The hit grids [N, 9, 32] of a split's cat-drums windows (reduced class map)."""
    from engine.train.data import load_windows

    w = load_windows(data, "cat-drums_2bar_small", split, limit_files)
    return np.transpose(w.inputs[..., :dm.NUM_DRUM_CLASSES] > 0.5, (0, 2, 1))


def sample_hits(checkpoint: str | Path, config: str, n: int, temperature: float = 1.0,
                seed: int = 0) -> np.ndarray:
    """Hit grids [n, 9, 32] of n random samples of a cat-drums checkpoint."""
    from engine.models.musicvae import MusicVae

    model = MusicVae.load(config, str(checkpoint))
    outputs, _ = model.sample(n, temperature=temperature, seed=seed)
    return _hits_of_outputs(config, outputs)


def humanize_examples(checkpoint: str | Path, config: str, data: Path, n: int = 2,
                      seed: int = 0, split: str = "test") -> list[tuple[np.ndarray, np.ndarray,
                                                                       np.ndarray]]:
    """(hits, velocities, offsets) [9, 32] of the first n test windows humanized at
    temperature 1.0 (GrooVAE colab style: decode the sampled z)."""
    from engine.models.musicvae import MusicVae
    from engine.train.data import load_windows

    model = MusicVae.load(config, str(checkpoint))
    w = load_windows(data, config, split)
    pick = np.random.default_rng(seed).choice(len(w), n, replace=False)
    outputs, _ = model.reconstruct(w.inputs[pick], temperature=1.0, seed=seed)
    k = dm.NUM_DRUM_CLASSES
    return [((o[:, :k] > 0.5).T, np.round(o[:, k:2 * k] * 127).T, (o[:, 2 * k:] / 2).T)
            for o in outputs]
