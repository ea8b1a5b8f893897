"""Arrangements for GANSynth: the tracks of a MIDI file, the notes of the chosen tracks,
and the MIDI of what was actually played (after octave shifts).

Tracks are note_seq's `instrument` numbers: one per instrument (MIDI track/channel) of
the file, in file order. Notes keep note_seq's order (track by track), which is the
order Magenta's gansynth_generate.py renders them in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from note_seq import NoteSequence

from engine.errors import BadInput, BadRequest
from engine.music.sequences import qpm_of


@dataclass(frozen=True)
class Track:
    index: int
    program: int
    name: str
    is_drum: bool
    notes: int

    def to_dict(self) -> dict:
        return {"index": self.index, "program": self.program, "name": self.name,
                "is_drum": self.is_drum, "notes": self.notes}


def _playable(ns: NoteSequence) -> list:
    return [n for n in ns.notes if n.velocity > 0 and n.end_time > n.start_time]


def tracks_of(ns: NoteSequence) -> list[Track]:
    names = {i.instrument: i.name for i in ns.instrument_infos}
    seen: dict[int, list] = {}
    for n in _playable(ns):
        seen.setdefault(n.instrument, []).append(n)
    out = []
    for index, notes in sorted(seen.items()):
        first = notes[0]
        name = names.get(index) or ("drums" if first.is_drum else f"track {index + 1}")
        out.append(Track(index, int(first.program), name, bool(first.is_drum), len(notes)))
    return out


def time_signature_of(ns: NoteSequence) -> tuple[int, int]:
    for ts in sorted(ns.time_signatures, key=lambda t: t.time):
        if ts.time <= 0 and ts.numerator > 0 and ts.denominator > 0:
            return int(ts.numerator), int(ts.denominator)
    return 4, 4


def summary(ns: NoteSequence) -> dict:
    """What the timeline shows: tracks, compact notes [start, end, pitch, velocity, track],
    tempo (qpm), time signature, the length of a bar in seconds and the total time."""
    qpm = qpm_of(ns)
    num, den = time_signature_of(ns)
    notes = [[round(n.start_time, 6), round(n.end_time, 6), int(n.pitch), int(n.velocity),
              int(n.instrument)] for n in _playable(ns)]
    return {"tracks": [t.to_dict() for t in tracks_of(ns)], "notes": notes, "qpm": qpm,
            "time_signature": [num, den], "bar_seconds": 60.0 / qpm * num * 4.0 / den,
            "total_time": max((n[1] for n in notes), default=0.0)}


def chosen_notes(ns: NoteSequence, tracks: Iterable[int] | None = None,
                 include_drums: bool = False) -> tuple[list, list[str]]:
    """The notes GANSynth plays: those of `tracks` (all when None), drum tracks only with
    `include_drums`. BadInput/BadRequest when nothing is left, naming the file."""
    where = ns.filename or "the MIDI file"
    all_tracks = {t.index: t for t in tracks_of(ns)}
    if tracks is None:
        wanted = set(all_tracks)
    else:
        wanted = {int(t) for t in tracks}
        unknown = sorted(wanted - set(all_tracks))
        if unknown:
            raise BadRequest(f"{where} has no track {unknown[0]}; its tracks are "
                             f"{', '.join(str(i) for i in sorted(all_tracks))}")
    warnings: list[str] = []
    drums = sum(all_tracks[i].notes for i in wanted if all_tracks[i].is_drum)
    if drums and not include_drums:
        warnings.append(f"skipped {drums} drum-channel notes (GANSynth plays pitched notes)")
    notes = [n for n in _playable(ns) if n.instrument in wanted
             and (include_drums or not n.is_drum)]
    if not notes:
        if tracks is not None and all_tracks:
            raise BadRequest(f"no notes to render in {where}: choose at least one pitched track")
        raise BadInput(f"{where} has no notes GANSynth can play", path=where)
    return notes, warnings


def played_sequence(ns: NoteSequence, notes: Sequence, pitches: Sequence[int]) -> NoteSequence:
    """A sequence of exactly the notes played (pitches as heard), with the file's tempo
    and time signature: the MIDI that goes with an exported render."""
    out = NoteSequence()
    out.ticks_per_quarter = ns.ticks_per_quarter or 220
    out.tempos.extend(ns.tempos)
    out.time_signatures.extend(ns.time_signatures)
    out.instrument_infos.extend(ns.instrument_infos)
    for n, p in zip(notes, pitches):
        m = out.notes.add()
        m.CopyFrom(n)
        m.pitch = int(p)
        m.is_drum = False  # played as a pitched GANSynth note
    out.total_time = max((n.end_time for n in out.notes), default=0.0)
    return out
