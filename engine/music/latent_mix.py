"""Blending NSynth encodings ([frames, 16] arrays, one frame per 512 samples).

Pure numpy. A mix is a weighted sum of 2-4 encodings; weights come from sliders or,
as on NSynth Super, bilinearly from a point on an XY pad between four corner sounds.
Time-stretch resamples an encoding along time, so the synthesized note gets longer or
shorter without changing its timbre trajectory's shape.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from engine.errors import BadRequest

MIN_SOURCES, MAX_SOURCES = 2, 4
# XY pad corners, in the order the weights of `xy_weights` refer to them.
CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")


def xy_weights(x: float, y: float) -> np.ndarray:
    """Bilinear weights of the four corners for a pad position, x and y in [0, 1].

    (0, 0) is the top-left corner, (1, 0) top-right, (0, 1) bottom-left, (1, 1)
    bottom-right; the weights follow CORNERS and sum to 1.
    """
    for name, v in (("x", x), ("y", y)):
        if not isinstance(v, (int, float)) or not 0.0 <= float(v) <= 1.0:
            raise BadRequest(f"XY pad {name} must be a number from 0 to 1, got {v!r}")
    x, y = float(x), float(y)
    return np.array([(1 - x) * (1 - y), x * (1 - y), (1 - x) * y, x * y], np.float64)


def mix(encodings: Sequence[np.ndarray], weights: Sequence[float], *,
        normalize: bool = True) -> np.ndarray:
    """Weighted sum of 2-4 encodings [frames, 16] -> [frames, 16] float32.

    Encodings of different lengths are cut to the shortest. With `normalize` the weights
    are divided by their sum (slider positions need not add up to 1).
    """
    if not MIN_SOURCES <= len(encodings) <= MAX_SOURCES:
        raise BadRequest(f"a mix takes {MIN_SOURCES} to {MAX_SOURCES} sounds, got {len(encodings)}")
    if len(weights) != len(encodings):
        raise BadRequest(f"{len(encodings)} sounds but {len(weights)} weights: give one "
                         "weight per sound")
    w = np.asarray(weights, np.float64)
    if not np.all(np.isfinite(w)):
        raise BadRequest(f"mix weights must be finite numbers, got {list(weights)}")
    if normalize:
        total = w.sum()
        if abs(total) < 1e-12:
            raise BadRequest("mix weights add up to 0: raise at least one slider")
        w = w / total
    encs = [_as_encoding(e, i) for i, e in enumerate(encodings)]
    n = min(e.shape[0] for e in encs)
    out = np.zeros_like(encs[0][:n], dtype=np.float64)
    for wi, e in zip(w, encs):
        out += wi * e[:n]
    return out.astype(np.float32)


def xy_mix(corners: Sequence[np.ndarray], x: float, y: float) -> np.ndarray:
    """The NSynth Super blend: four corner encodings (CORNERS order) at pad point (x, y)."""
    if len(corners) != 4:
        raise BadRequest(f"the XY pad needs 4 corner sounds, got {len(corners)}")
    return mix(corners, xy_weights(x, y), normalize=False)


def time_stretch(encoding: np.ndarray, factor: float) -> np.ndarray:
    """Resample an encoding [frames, 16] in time by `factor` (2.0: twice as long).

    Linear interpolation between frames; the first and last frames are kept in place.
    The result has round(frames · factor) frames, at least 1.
    """
    if not isinstance(factor, (int, float)) or not 0.05 <= float(factor) <= 20.0:
        raise BadRequest(f"time-stretch factor must be from 0.05 to 20, got {factor!r}")
    enc = _as_encoding(encoding, 0)
    n_in = enc.shape[0]
    n_out = max(1, int(round(n_in * float(factor))))
    if n_out == n_in:
        return enc.astype(np.float32)
    if n_in == 1:
        return np.repeat(enc, n_out, axis=0).astype(np.float32)
    pos = np.linspace(0.0, n_in - 1, n_out) if n_out > 1 else np.zeros(1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = (pos - lo)[:, None]
    return ((1 - frac) * enc[lo] + frac * enc[hi]).astype(np.float32)


def _as_encoding(e: np.ndarray, index: int) -> np.ndarray:
    a = np.asarray(e)
    if a.ndim == 3 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 2 or a.shape[0] == 0:
        raise BadRequest(f"encoding {index + 1} must be [frames, channels] with at least one "
                         f"frame, got shape {a.shape}")
    return a.astype(np.float64)
