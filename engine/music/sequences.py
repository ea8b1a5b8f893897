"""NoteSequence helpers shared by the converters: tempo, quantization, warnings.

MusicVAE works on a 16th-note grid: 4 steps per quarter, 16 steps per 4/4 bar.
Its converters write their output at 120 qpm; `change_tempo` moves a sequence to
the tempo the user is working at.
"""

from __future__ import annotations

import warnings

import note_seq
from note_seq import sequences_lib
from note_seq import NoteSequence

STEPS_PER_QUARTER = 4
QUARTERS_PER_BAR = 4
STEPS_PER_BAR = STEPS_PER_QUARTER * QUARTERS_PER_BAR  # 16
DEFAULT_QPM = 120.0  # note-seq's default, and the tempo MusicVAE writes
OUTPUT_VELOCITY = 80  # MusicVAE's constant output velocity
TICKS_PER_QUARTER = 220  # magenta's STANDARD_PPQ


class DroppedNotesWarning(UserWarning):
    """Notes a model cannot represent (pitch outside its map, wrong program) were left out.

    Handlers record these (`warnings.catch_warnings(record=True)`) and show them."""


def warn_dropped(what: str, pitches: list[int] | set[int], count: int) -> None:
    if count:
        shown = ", ".join(str(p) for p in sorted(set(pitches)))
        msg = f"{count} note(s) left out: {what}" + (f" (pitches {shown})" if shown else "")
        warnings.warn(msg, DroppedNotesWarning, stacklevel=3)


def qpm_of(ns: NoteSequence) -> float:
    """The sequence's tempo: the tempo at time 0, else 120 qpm (note-seq's rule)."""
    for t in sorted(ns.tempos, key=lambda t: t.time):
        if t.time <= 0:
            return float(t.qpm)
        break
    return DEFAULT_QPM


def new_sequence(qpm: float = DEFAULT_QPM) -> NoteSequence:
    ns = NoteSequence()
    ns.ticks_per_quarter = TICKS_PER_QUARTER
    ns.tempos.add(qpm=qpm)
    return ns


def change_tempo(ns: NoteSequence, qpm: float) -> NoteSequence:
    """A copy of a single-tempo sequence played at `qpm`: every time is scaled by
    old_qpm/qpm, so the notes stay on the same beats."""
    old = qpm_of(ns)
    out = NoteSequence()
    out.CopyFrom(ns)
    if abs(old - qpm) < 1e-9:
        return out
    k = old / qpm
    for n in out.notes:
        n.start_time *= k
        n.end_time *= k
    for group in (out.time_signatures, out.key_signatures, out.text_annotations,
                  out.control_changes, out.pitch_bends):
        for item in group:
            item.time *= k
    out.total_time *= k
    del out.tempos[:]
    out.tempos.add(qpm=qpm)
    return out


def quantize(ns: NoteSequence, steps_per_quarter: int = STEPS_PER_QUARTER,
             steps_per_bar: int | None = STEPS_PER_BAR) -> NoteSequence | None:
    """Quantize like MusicVAE's converters: None when the sequence cannot be put on the
    grid (tempo/time-signature change, negative time, or a bar that is not
    `steps_per_bar` steps long, i.e. not 4/4)."""
    try:
        q = note_seq.quantize_note_sequence(ns, steps_per_quarter)
        if steps_per_bar is not None and (
                note_seq.steps_per_bar_in_quantized_sequence(q) != steps_per_bar):
            return None
    except (note_seq.BadTimeSignatureError, note_seq.NonIntegerStepsPerBarError,
            note_seq.NegativeTimeError, note_seq.MultipleTimeSignatureError,
            note_seq.MultipleTempoError):
        return None
    return q


def split_on_time_changes(ns: NoteSequence) -> list[NoteSequence]:
    return sequences_lib.split_note_sequence_on_time_changes(ns)


def unique_in_order(items: list) -> list:
    """De-duplicate, keeping first occurrences (magenta uses a set: arbitrary order)."""
    seen: set = set()
    out = []
    for it in items:
        if it not in seen:
            seen.add(it)
            out.append(it)
    return out
