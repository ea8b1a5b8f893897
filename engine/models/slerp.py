"""Spherical linear interpolation of latent vectors; the one slerp every model uses."""

from __future__ import annotations

import numpy as np

# Below this |sin(omega)| the endpoints are treated as (anti)parallel.
_PARALLEL_EPS = 1e-6


def slerp(p0: np.ndarray, p1: np.ndarray, t: float) -> np.ndarray:
    """Magenta's slerp (`sin((1-t)w)/sin w * p0 + sin(tw)/sin w * p1`, w the angle between
    p0 and p1), guarded where magenta returns NaN: the cosine is clipped to [-1, 1], and
    (anti)parallel or zero endpoints fall back to linear interpolation."""
    p0 = np.asarray(p0)
    p1 = np.asarray(p1)
    dtype = np.result_type(p0, p1, np.float32)
    n0 = np.linalg.norm(p0)
    n1 = np.linalg.norm(p1)
    if n0 == 0 or n1 == 0:
        return ((1.0 - t) * p0 + t * p1).astype(dtype)
    cos = np.clip(np.dot(p0.ravel() / n0, p1.ravel() / n1), -1.0, 1.0)
    omega = np.arccos(cos)
    so = np.sin(omega)
    if abs(so) < _PARALLEL_EPS:
        return ((1.0 - t) * p0 + t * p1).astype(dtype)
    return (np.sin((1.0 - t) * omega) / so * p0 + np.sin(t * omega) / so * p1).astype(dtype)


def slerp_path(p0: np.ndarray, p1: np.ndarray, num_steps: int) -> np.ndarray:
    """`num_steps` points from p0 to p1 inclusive (t = linspace(0, 1, num_steps)),
    stacked on a new first axis."""
    if num_steps < 1:
        raise ValueError("num_steps must be at least 1")
    return np.stack([slerp(p0, p1, t) for t in np.linspace(0.0, 1.0, num_steps)])
