"""Melody continuation's bookkeeping for the timeline, free of widgets: the typed primer,
what a continuation was asked for (`ContinueJob`), what came back (`Proposal`), and the
engine params (`melody.continue`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine import api
from engine.words import counted
from tui.model_choice import next_choice
from tui.pane_state import TimelineState
from tui.typed_numbers import number_in_range

CONTINUE_BARS = (1, 64)
CONTINUE_TEMPERATURE = (0.01, 5.0)
NOTE_STEPS = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}

Notes = list[list[float]]  # [start, end, pitch, velocity] in seconds


def parse_primer(text: str) -> list[int | None]:
    """A typed primer: one 8th note per token, a MIDI number (60) or a note name (C4, F#3,
    Bb3; C4 = 60), `_` or `.` a rest. ValueError names the token it cannot read."""
    out: list[int | None] = []
    for tok in text.replace(",", " ").split():
        if tok in ("_", "."):
            out.append(None)
            continue
        if tok.isdigit():
            pitch = int(tok)
        else:
            name = tok[0].lower()
            rest = tok[1:]
            shift = 0
            while rest[:1] in ("#", "b") and name in NOTE_STEPS:
                shift += 1 if rest[0] == "#" else -1
                rest = rest[1:]
            if name not in NOTE_STEPS or not rest.lstrip("-").isdigit():
                raise ValueError(f"cannot read the note {tok!r}: use 60 or C4, F#3, Bb3")
            pitch = (int(rest) + 1) * 12 + NOTE_STEPS[name] + shift
        if not 0 <= pitch <= 127:
            raise ValueError(f"the note {tok!r} is outside MIDI's 0-127")
        out.append(pitch)
    if not any(p is not None for p in out):
        raise ValueError("the primer needs at least one note, e.g. 60 62 64 65 67")
    return out


@dataclass(frozen=True)
class ContinueJob:
    """What to continue: `primer` in seconds from `offset` (where it sits on the
    timeline), the track the notes go into, and `typed` notes (a typed primer, shown and
    accepted with the continuation)."""
    primer: Notes
    offset: float
    track: int
    typed: Notes = field(default_factory=list)

    @classmethod
    def from_selection(cls, notes: list[list[float]], a: float, track: int) -> "ContinueJob":
        """The notes of `track` starting in [a, b) as a primer that starts at 0."""
        primer = [[round(n[0] - a, 6), round(n[1] - a, 6), int(n[2]), int(n[3])] for n in notes]
        return cls(primer, a, track)

    @classmethod
    def from_typed(cls, pitches: list[int | None], qpm: float, at: float,
                   track: int) -> "ContinueJob":
        """A typed primer (8th notes, None a rest) placed at `at` seconds."""
        eighth = 30.0 / qpm
        primer = [[round(i * eighth, 6), round((i + 1) * eighth, 6), p, 100]
                  for i, p in enumerate(pitches) if p is not None]
        typed = [[round(s + at, 6), round(e + at, 6), p, v] for s, e, p, v in primer]
        return cls(primer, at, track, typed)

    def params(self, state: TimelineState, qpm: float, seed: int) -> api.melody.Continue:
        return continue_params(state, self.primer, qpm, seed)


def continue_params(state: TimelineState, primer: Notes, qpm: float,
                    seed: int) -> api.melody.Continue:
    """melody.continue's params: the bundle when one is set, else the chosen model (none:
    the engine's auto choice)."""
    model: dict[str, Any] = {}
    if state.continue_checkpoint:
        model["checkpoint"] = state.continue_checkpoint
    elif state.continue_model:
        model["model"] = state.continue_model
    return api.melody.Continue(primer=[list(map(float, n)) for n in primer], qpm=qpm,
                               bars=state.continue_bars,
                               temperature=state.continue_temperature, seed=seed, **model)


@dataclass(frozen=True)
class Proposal:
    """Continuation notes not yet accepted, on the timeline (seconds)."""
    job: ContinueJob
    notes: Notes
    seed: int
    warnings: list[str]
    model: str | None

    @classmethod
    def from_result(cls, job: ContinueJob, result: dict[str, Any]) -> "Proposal":
        off = job.offset
        notes = [list(n) for n in job.typed] + [
            [round(s + off, 6), round(e + off, 6), int(p), int(v)]
            for s, e, p, v in result["notes"]]
        return cls(job, notes, result["seed"], list(result.get("warnings") or []),
                   result.get("model"))

    def counts(self) -> str:
        """What the proposal holds, e.g. "14 notes after your 5-note primer" (accepting
        adds both: the typed primer is not in the track yet)."""
        typed = len(self.job.typed)
        made = counted(len(self.notes) - typed, "note")
        return f"{made} after your {typed}-note primer" if typed else made

    @property
    def rows(self) -> list[list[float]]:
        """The notes as [start, end, pitch, velocity, track]."""
        return [[*n, self.job.track] for n in self.notes]


def next_model(current: str | None) -> str | None:
    """auto, then melody.continue's models: attention, basic, lookback, performance_with_
    dynamics, the starter (checkpoints/manifest [roles])."""
    return next_choice("melody.continue", current)


def parse_bars(text: str) -> int:
    lo, hi = CONTINUE_BARS
    if not text.isdigit() or not lo <= int(text) <= hi:
        raise ValueError(f"bars must be a whole number from {lo} to {hi}")
    return int(text)


def parse_temperature(text: str) -> float:
    return number_in_range(text, *CONTINUE_TEMPERATURE, "temperature",
                           "1: as trained, lower: safer, higher: wilder")
