"""Checking job parameters, with messages that say the allowed range."""

from __future__ import annotations

from engine.errors import BadRequest


def number(params: dict, key: str, default: float, lo: float, hi: float) -> float:
    v = params.get(key, default)
    if v is None:
        v = default
    if not isinstance(v, (int, float)) or isinstance(v, bool) or not lo <= v <= hi:
        raise BadRequest(f"{key} must be a number from {lo} to {hi}, got {v!r}")
    return float(v)


def integer(params: dict, key: str, default: int, lo: int, hi: int) -> int:
    v = params.get(key, default)
    if v is None:
        v = default
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise BadRequest(f"{key} must be a whole number from {lo} to {hi}, got {v!r}")
    return v
