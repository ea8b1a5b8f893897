"""Drum patterns on the wire (the dicts the drum grid sends and receives) and what is
heard from them: swing, and chains of patterns played one after another.

Wire form: {"velocities": [[int]*steps]*9, "offsets": [[float]*steps]*9, "qpm": float};
velocity 0 is a rest; offsets are fractions of a step, positive = early (GrooVAE's sign).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from note_seq import NoteSequence

from engine.errors import BadRequest
from engine.music import drums as dm
from engine.music.grids import DrumGrid
from engine.music.sequences import DEFAULT_QPM, new_sequence

MAX_STEPS = 16 * 64


def grid_from_pattern(d: Any, what: str = "pattern") -> DrumGrid:
    if not isinstance(d, dict) or "velocities" not in d:
        raise BadRequest(f"{what} must be an object with 'velocities' (9 rows of steps)")
    try:
        vel = np.asarray(d["velocities"], dtype=np.int64)
        offs = np.asarray(d.get("offsets") or np.zeros_like(vel), dtype=np.float32)
        qpm = float(d.get("qpm", DEFAULT_QPM))
    except (TypeError, ValueError) as e:
        raise BadRequest(f"{what} is malformed: {e}") from None
    if vel.ndim != 2 or vel.shape[0] != dm.NUM_DRUM_CLASSES or not 1 <= vel.shape[1] <= MAX_STEPS:
        raise BadRequest(f"{what} needs {dm.NUM_DRUM_CLASSES} rows of 1..{MAX_STEPS} steps, "
                         f"got shape {vel.shape}")
    if offs.shape != vel.shape:
        raise BadRequest(f"{what}: offsets must have the shape of velocities {vel.shape}")
    if not 20 <= qpm <= 400:
        raise BadRequest(f"{what}: tempo {qpm} bpm is out of range (20-400)")
    vel = np.clip(vel, 0, 127)
    return DrumGrid(vel > 0, vel.astype(np.uint8), np.clip(offs, -0.5, 0.5), qpm)


def pattern_from_grid(grid: DrumGrid) -> dict[str, Any]:
    hits = np.asarray(grid.hits, bool)
    vel = (np.asarray(grid.velocities, np.int64) if grid.velocities is not None
           else np.full(hits.shape, 80, np.int64))
    vel = np.where(hits, np.clip(vel, 1, 127), 0)
    offs = (np.asarray(grid.offsets, np.float64) if grid.offsets is not None
            else np.zeros(hits.shape))
    offs = np.where(hits, np.round(offs, 4), 0.0)
    return {"velocities": vel.tolist(), "offsets": offs.tolist(), "qpm": float(grid.qpm)}


def heard_sequence(grids: list[DrumGrid], swing: float = 0.0) -> NoteSequence:
    """The patterns played one after another at the first one's tempo, with swing. This is
    what audition plays and what MIDI export writes."""
    if not grids:
        raise BadRequest("no patterns to play")
    qpm = grids[0].qpm
    out = new_sequence(qpm)
    out.time_signatures.add(numerator=4, denominator=4)
    t0 = 0.0
    for g in grids:
        g = DrumGrid(g.hits, g.velocities, g.offsets, qpm, g.classes)
        for n in g.to_sequence(swing=swing).notes:
            added = out.notes.add()
            added.CopyFrom(n)
            added.start_time += t0
            added.end_time += t0
        t0 += g.steps * g.step_seconds
    out.notes.sort(key=lambda n: (n.start_time, n.pitch))
    out.total_time = max([t0] + [n.end_time for n in out.notes])
    return out
