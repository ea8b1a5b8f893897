"""Melodies as MusicVAE one-hot tensors (magenta `OneHotMelodyConverter`), and the
melody/bass/drums trio of hierdec-trio_16bar (magenta `TrioConverter`).

Melody encoding (90 classes, piano range 21..108): class 0 = no event (the previous
note holds or silence continues), 1 = note-off, 2 + (pitch - 21) = note-on of `pitch`.
A monophonic line is extracted per instrument: of notes starting together the highest
wins, a new note ends the previous one, a full silent bar ends the melody.
"""

from __future__ import annotations

import itertools
from typing import Iterable

import numpy as np
import note_seq
from note_seq import NoteSequence

from engine.music import drums as dm
from engine.music.grids import DrumsConverter
from engine.music.sequences import (
    OUTPUT_VELOCITY, STEPS_PER_BAR, STEPS_PER_QUARTER, change_tempo, quantize,
    split_on_time_changes, unique_in_order, warn_dropped)
from engine.music.tensors import ConverterTensors, onehot

MELODY_MIN_PITCH = 21
MELODY_MAX_PITCH = 108
NUM_MELODY_CLASSES = MELODY_MAX_PITCH - MELODY_MIN_PITCH + 1 + 2  # 90
NO_EVENT = note_seq.MELODY_NO_EVENT  # -2
NOTE_OFF = note_seq.MELODY_NOTE_OFF  # -1
MEL_PROGRAMS = range(0, 32)  # piano, chromatic percussion, organ, guitar
BASS_PROGRAMS = range(32, 40)
ELECTRIC_BASS_PROGRAM = 33


def encode_event(event: int) -> int:
    if event == NO_EVENT:
        return 0
    if event == NOTE_OFF:
        return 1
    return event - MELODY_MIN_PITCH + 2


def decode_event(index: int) -> int:
    if index == 0:
        return NO_EVENT
    if index == 1:
        return NOTE_OFF
    return int(index) - 2 + MELODY_MIN_PITCH


def events_to_onehot(events: Iterable[int]) -> np.ndarray:
    return onehot([encode_event(e) for e in events], NUM_MELODY_CLASSES)


def onehot_to_events(tensor: np.ndarray) -> list[int]:
    return [decode_event(int(i)) for i in np.argmax(np.asarray(tensor), axis=-1)]


def _extract_melodies(q: NoteSequence, gap_bars: float, max_steps: int | None,
                      min_bars: int = 1, min_unique_pitches: int = 1) -> list[note_seq.Melody]:
    """Monophonic melodies of every instrument of a quantized sequence, in instrument order."""
    out = []
    for instrument in sorted({n.instrument for n in q.notes}):
        search = 0
        while True:
            mel = note_seq.Melody()
            mel.from_quantized_sequence(q, search_start_step=search, instrument=instrument,
                                        gap_bars=gap_bars, ignore_polyphonic_notes=True,
                                        pad_end=True, filter_drums=True)
            search = mel.end_step + (0 - mel.end_step) % mel.steps_per_bar
            if not mel:
                break
            if len(mel) < mel.steps_per_bar * min_bars:
                continue
            if max_steps is not None and len(mel) > max_steps:
                mel.set_length(max_steps - max_steps % mel.steps_per_bar)
            if np.count_nonzero(mel.get_note_histogram()) < min_unique_pitches:
                continue
            out.append(mel)
    return out


class MelodyConverter:
    """magenta `OneHotMelodyConverter` (input = output = [steps, 90] one-hot).

    cat-mel_2bar_big: MelodyConverter(valid_programs=MEL_PROGRAMS, slice_bars=2);
    hierdec-mel_16bar: MelodyConverter(slice_bars=16)."""

    def __init__(self, *, valid_programs: Iterable[int] | None = None,
                 slice_bars: int | None = 2, max_bars: int | None = 100,
                 gap_bars: float | None = 1.0, max_tensors_per_notesequence: int | None = 5,
                 pad_to_total_time: bool = False, presplit_on_time_changes: bool = True):
        self.valid_programs = set(valid_programs) if valid_programs is not None else None
        self.slice_steps = slice_bars * STEPS_PER_BAR if slice_bars else None
        self.max_steps = max_bars * STEPS_PER_BAR if max_bars else None
        self.gap_bars = gap_bars or float("inf")
        self.max_tensors = max_tensors_per_notesequence
        self.pad_to_total_time = pad_to_total_time
        self.presplit = presplit_on_time_changes

    input_depth = output_depth = NUM_MELODY_CLASSES

    def _filter(self, ns: NoteSequence, warn: bool = True) -> NoteSequence:
        keep, low_high, programs = [], [], []
        for n in ns.notes:
            if self.valid_programs is not None and n.program not in self.valid_programs:
                if not n.is_drum:
                    programs.append(n.program)
                continue
            if not MELODY_MIN_PITCH <= n.pitch <= MELODY_MAX_PITCH:
                if not n.is_drum:
                    low_high.append(n.pitch)
                continue
            keep.append(n)
        if warn:
            warn_dropped(f"outside the melody range {MELODY_MIN_PITCH}-{MELODY_MAX_PITCH}",
                         low_high, len(low_high))
            if programs:
                warn_dropped(f"on programs {sorted(set(programs))}, not melody instruments "
                             f"(programs 0-31)", [], len(programs))
        out = NoteSequence()
        out.CopyFrom(ns)
        del out.notes[:]
        out.notes.extend(keep)
        return out

    def event_windows(self, ns: NoteSequence, warn: bool = True) -> list[tuple[int, ...]]:
        windows: list[tuple[int, ...]] = []
        for piece in (split_on_time_changes(ns) if self.presplit else [ns]):
            found = unique_in_order(self._piece_windows(self._filter(piece, warn)))
            windows.extend(found[:self.max_tensors] if self.max_tensors else found)
            warn = False
        return windows

    def _piece_windows(self, ns: NoteSequence) -> list[tuple[int, ...]]:
        q = quantize(ns)
        if q is None:
            return []
        melodies = _extract_melodies(q, self.gap_bars, self.max_steps)
        if self.pad_to_total_time:
            for m in melodies:
                m.set_length(len(m) + m.start_step, from_left=True)
                m.set_length(q.total_quantized_steps)
        if not self.slice_steps:
            return [tuple(m) for m in melodies]
        return [tuple(m[end - self.slice_steps:end]) for m in melodies
                for end in range(self.slice_steps, len(m) + 1, STEPS_PER_BAR)]

    def to_tensors(self, ns: NoteSequence, warn: bool = True) -> ConverterTensors:
        result = ConverterTensors()
        for events in self.event_windows(ns, warn):
            t = events_to_onehot(events)
            result.inputs.append(t)
            result.outputs.append(t)
        return result.limit(self.max_tensors)

    def from_tensors(self, samples, qpm: float | None = None) -> list[NoteSequence]:
        """[steps, 90] outputs -> melody NoteSequences (velocity 80, program 0, 120 qpm
        unless `qpm` is given)."""
        out = []
        for s in samples:
            mel = note_seq.Melody(steps_per_bar=STEPS_PER_BAR, steps_per_quarter=STEPS_PER_QUARTER)
            for e in onehot_to_events(s):
                mel.append(e)
            ns = mel.to_sequence(velocity=OUTPUT_VELOCITY, qpm=120.0)
            out.append(change_tempo(ns, qpm) if qpm else ns)
        return out


# ---------------------------------------------------------------- trio

TRIO_DEPTHS = (NUM_MELODY_CLASSES, NUM_MELODY_CLASSES, 2 ** dm.NUM_DRUM_CLASSES)  # 90, 90, 512
_MEL, _BASS, _DRUMS, _INVALID = 1, 2, 3, 4
_MAX_INSTRUMENT = 127


def _only_instrument(ns: NoteSequence, instrument: int) -> NoteSequence:
    out = NoteSequence()
    out.CopyFrom(ns)
    del out.notes[:]
    out.notes.extend(n for n in ns.notes if n.instrument == instrument)
    return out


class TrioConverter:
    """magenta `TrioConverter` for hierdec-trio_16bar: per step
    [melody 90 | bass 90 | drums 512] = 692. Instruments are typed by program
    (0-31 melody, 32-39 bass) or is_drum; every melody x bass x drums combination
    is tried; gaps of up to `gap_bars` bars in a part are tolerated."""

    def __init__(self, *, slice_bars: int = 16, gap_bars: int = 2, max_bars: int = 1024,
                 max_tensors_per_notesequence: int | None = 5):
        self.slice_bars = slice_bars
        self.gap_bars = gap_bars
        self.max_bars = max_bars
        self.max_tensors = max_tensors_per_notesequence
        self._melody = MelodyConverter(gap_bars=None, slice_bars=None, max_bars=None,
                                       pad_to_total_time=True, presplit_on_time_changes=False,
                                       max_tensors_per_notesequence=None)
        self._drums = DrumsConverter(gap_bars=None, slice_bars=None, max_bars=None,
                                     roll_input=False, pad_to_total_time=True,
                                     presplit_on_time_changes=False,
                                     max_tensors_per_notesequence=None)

    input_depth = output_depth = sum(TRIO_DEPTHS)

    def to_tensors(self, ns: NoteSequence) -> ConverterTensors:
        self._warn_unusable(ns)
        result = ConverterTensors()
        for piece in split_on_time_changes(ns):
            result.extend(self._piece_tensors(piece).limit(self.max_tensors))
        return result.limit(self.max_tensors)

    @staticmethod
    def _warn_unusable(ns: NoteSequence) -> None:
        pitched = [n for n in ns.notes if not n.is_drum]
        out_of_range = [n.pitch for n in pitched
                        if not MELODY_MIN_PITCH <= n.pitch <= MELODY_MAX_PITCH]
        warn_dropped(f"outside the melody/bass range {MELODY_MIN_PITCH}-{MELODY_MAX_PITCH}",
                     out_of_range, len(out_of_range))
        unknown = [n.pitch for n in ns.notes if n.is_drum and dm.drum_class(n.pitch) is None]
        warn_dropped("drum pitches outside the 9 drum classes", unknown, len(unknown))
        other = [n.program for n in pitched if n.program >= BASS_PROGRAMS.stop]
        if other:
            warn_dropped(f"on programs {sorted(set(other))}, neither melody (0-31) nor bass "
                         f"(32-39)", [], len(other))

    def _piece_tensors(self, ns: NoteSequence) -> ConverterTensors:
        q = quantize(ns)
        if q is None:
            return ConverterTensors()
        total_bars = min(int(np.ceil(q.total_quantized_steps / STEPS_PER_BAR)), self.max_bars)
        if total_bars < self.slice_bars:
            return ConverterTensors()
        types = np.zeros(_MAX_INSTRUMENT + 1, np.uint8)
        coverage = np.zeros((total_bars, _MAX_INSTRUMENT + 1), bool)
        for n in q.notes:
            i = n.instrument
            if i > _MAX_INSTRUMENT:
                continue
            kind = (_DRUMS if n.is_drum else _MEL if n.program in MEL_PROGRAMS
                    else _BASS if n.program in BASS_PROGRAMS else _INVALID)
            if not types[i]:
                types[i] = kind
            elif types[i] != kind:
                types[i] = _INVALID
            start_bar = n.quantized_start_step // STEPS_PER_BAR
            end_bar = int(np.ceil(n.quantized_end_step / STEPS_PER_BAR))
            if start_bar < total_bars:
                coverage[start_bar:min(end_bar, total_bars), i] = True
        by_type = {k: [i for i in range(_MAX_INSTRUMENT + 1) if types[i] == k]
                   for k in (_MEL, _BASS, _DRUMS)}
        if not all(by_type.values()):
            return ConverterTensors()

        # Pad every part to the same whole number of bars.
        padded = NoteSequence()
        padded.CopyFrom(ns)
        padded.total_time = total_bars * STEPS_PER_BAR * 60 / ns.tempos[0].qpm / STEPS_PER_QUARTER
        encoded: dict[int, np.ndarray] = {}
        for i in by_type[_MEL] + by_type[_BASS]:
            t = self._melody.to_tensors(_only_instrument(padded, i), warn=False)
            if len(t):
                encoded[i] = t.outputs[0]
            else:
                coverage[:, i] = False
        for i in by_type[_DRUMS]:
            t = self._drums.to_tensors(_only_instrument(padded, i))
            if len(t):
                encoded[i] = t.outputs[0]
            else:
                coverage[:, i] = False

        g = self.gap_bars
        filled = np.array([coverage[max(0, j - g):min(total_bars, j + g) + 1].any(axis=0)
                           for j in range(total_bars)]).reshape(total_bars, -1)
        result = ConverterTensors()
        for grp in itertools.product(by_type[_MEL], by_type[_BASS], by_type[_DRUMS]):
            cov = filled[:, grp].all(axis=1)
            cov[:g] = filled[:g, grp].any()
            cov[-g:] = filled[-g:, grp].any()
            if not all(i in encoded for i in grp):
                continue
            for j in range(total_bars - self.slice_bars + 1):
                if cov[j:j + self.slice_bars].all():
                    a, b = j * STEPS_PER_BAR, (j + self.slice_bars) * STEPS_PER_BAR
                    t = np.concatenate([encoded[i][a:b] for i in grp], axis=-1)
                    result.inputs.append(t)
                    result.outputs.append(t)
        return result

    def from_tensors(self, samples, qpm: float | None = None) -> list[NoteSequence]:
        """[steps, 692] -> NoteSequences: melody (instrument 0, program 0), bass
        (instrument 1, program 33), drums (instrument 9, channel 10)."""
        a, b = TRIO_DEPTHS[0], TRIO_DEPTHS[0] + TRIO_DEPTHS[1]
        out = []
        for s in samples:
            s = np.asarray(s)
            mel = self._melody.from_tensors([s[:, :a]])[0]
            bass = self._melody.from_tensors([s[:, a:b]])[0]
            drums = self._drums.from_tensors([s[:, b:]])[0]
            for n in bass.notes:
                n.instrument = 1
                n.program = ELECTRIC_BASS_PROGRAM
            for n in drums.notes:
                n.instrument = dm.DRUM_INSTRUMENT
            mel.notes.extend(bass.notes)
            mel.notes.extend(drums.notes)
            mel.total_time = max(mel.total_time, bass.total_time, drums.total_time)
            out.append(change_tempo(mel, qpm) if qpm else mel)
        return out
