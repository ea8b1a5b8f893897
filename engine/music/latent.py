"""Latent-space helpers shared by the models: slerp and keyframes along time.

The one slerp of the project. Interpolating on the sphere keeps the norm of
Gaussian latents typical, so the blend of two instruments sounds like an
instrument rather than a quiet average.
"""

from __future__ import annotations

import numpy as np


def slerp(a: np.ndarray, b: np.ndarray, t: float | np.ndarray) -> np.ndarray:
    """Spherical interpolation from `a` (t=0) to `b` (t=1); t outside [0, 1] extrapolates.

    The angle is measured between the normalised vectors (as Magenta does), the
    result is a weighted sum of the unnormalised ones. Nearly parallel vectors fall
    back to linear interpolation instead of dividing by sin(0).
    """
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0.0 or nb == 0.0:
        return (1.0 - t) * a + t * b
    cos = np.clip(np.dot(a.ravel() / na, b.ravel() / nb), -1.0, 1.0)
    omega = np.arccos(cos)
    so = np.sin(omega)
    if so < 1e-8:
        return (1.0 - t) * a + t * b
    return np.sin((1.0 - t) * omega) / so * a + np.sin(t * omega) / so * b


def slerp_path(a: np.ndarray, b: np.ndarray, num_steps: int) -> np.ndarray:
    """`num_steps` points from a to b inclusive (t = linspace(0, 1, num_steps)), stacked on
    a new first axis: MusicVAE's interpolation path."""
    if num_steps < 1:
        raise ValueError("num_steps must be at least 1")
    return np.stack([slerp(a, b, t) for t in np.linspace(0.0, 1.0, num_steps)])


def keyframe_times(total_time: float, n: int) -> np.ndarray:
    """`n` keyframe times spread evenly over `[0, total_time]` (Magenta's spacing:
    the first sits just before 0 so a note at t=0 falls inside the first segment)."""
    return np.linspace(-0.0001, total_time, n)


def interpolate_keyframes(times: np.ndarray, key_times: np.ndarray,
                          key_z: np.ndarray) -> np.ndarray:
    """The latent of each time, slerped between the two keyframes around it.

    Matches Magenta's `get_z_notes`: the segment is found with a left search, and
    times past the last keyframe extrapolate from the last segment. Needs at least
    two keyframes with increasing times.
    """
    key_times = np.asarray(key_times, np.float64)
    key_z = np.asarray(key_z)
    if len(key_times) < 2 or len(key_times) != len(key_z):
        raise ValueError("need at least two keyframes, one time per latent")
    if np.any(np.diff(key_times) <= 0):
        raise ValueError("keyframe times must increase")
    out = []
    for t in np.asarray(times, np.float64):
        i = int(np.searchsorted(key_times, t, side="left")) - 1
        i = min(max(i, 0), len(key_times) - 2)
        frac = (t - key_times[i]) / (key_times[i + 1] - key_times[i])
        out.append(slerp(key_z[i], key_z[i + 1], frac))
    return np.stack(out) if out else np.zeros((0,) + key_z.shape[1:])

