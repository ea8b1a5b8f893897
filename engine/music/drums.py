"""Drum classes: which General MIDI pitches make up each drum voice. The one place
for the drum maps; grids, GrooVAE tensors, MIDI export and the TUI all import them.

The 9-class map is Magenta's reduced map (note-seq `DEFAULT_DRUM_TYPE_PITCHES`,
MusicVAE `REDUCED_DRUM_PITCH_CLASSES`). The first pitch of each class is its
exemplar: the pitch written when a class is turned back into a note.
"""

from __future__ import annotations

from typing import Sequence

PitchClasses = tuple[tuple[int, ...], ...]

# The drum-grid rows, top to bottom, in the musician's words.
DRUM_CLASS_NAMES: tuple[str, ...] = (
    "kick", "snare", "closed hi-hat", "open hi-hat",
    "low tom", "mid tom", "high tom", "crash", "ride",
)
DRUM_CLASS_SHORT: tuple[str, ...] = ("BD", "SD", "CH", "OH", "LT", "MT", "HT", "CR", "RD")

REDUCED_DRUM_PITCH_CLASSES: PitchClasses = (
    (36, 35),
    (38, 27, 28, 31, 32, 33, 34, 37, 39, 40, 56, 65, 66, 75, 85),
    (42, 44, 54, 68, 69, 70, 71, 73, 78, 80, 22),
    (46, 67, 72, 74, 79, 81, 26),
    (45, 29, 41, 43, 61, 64, 84),
    (48, 47, 60, 63, 77, 86, 87),
    (50, 30, 62, 76, 83),
    (49, 52, 55, 57, 58),
    (51, 53, 59, 82),
)

# GrooVAE's training map (Roland TD-11 kit of the Groove MIDI Dataset). The released
# GrooVAE configs use REDUCED_DRUM_PITCH_CLASSES at inference; this is kept for reference.
ROLAND_DRUM_PITCH_CLASSES: PitchClasses = (
    (36,), (38, 37, 40), (42, 22, 44), (46, 26), (43, 58),
    (47, 45), (50, 48), (49, 52, 55, 57), (51, 53, 59),
)

# nade-drums_2bar_full: 61 single-pitch classes.
FULL_DRUM_PITCH_CLASSES: PitchClasses = tuple((p,) for p in (
    36, 35, 38, 27, 28, 31, 32, 33, 34, 37, 39, 40, 56, 65, 66, 75, 85, 42, 44, 54, 68,
    69, 70, 71, 73, 78, 80, 46, 67, 72, 74, 79, 81, 45, 29, 41, 61, 64, 84, 48, 47, 60, 63,
    77, 86, 87, 50, 30, 43, 62, 76, 83, 49, 55, 57, 58, 51, 52, 53, 59, 82))

NUM_DRUM_CLASSES = len(REDUCED_DRUM_PITCH_CLASSES)  # 9
DRUM_EXEMPLARS: tuple[int, ...] = tuple(c[0] for c in REDUCED_DRUM_PITCH_CLASSES)

# MIDI: drums play on channel 10 (0-based 9); magenta's NoteSequences use instrument 9.
DRUM_CHANNEL = 9
DRUM_INSTRUMENT = 9


def pitch_class_map(classes: Sequence[Sequence[int]] = REDUCED_DRUM_PITCH_CLASSES) -> dict[int, int]:
    """pitch -> class index for a class map."""
    return {p: i for i, pitches in enumerate(classes) for p in pitches}


_REDUCED_MAP = pitch_class_map(REDUCED_DRUM_PITCH_CLASSES)


def drum_class(pitch: int, classes: Sequence[Sequence[int]] = REDUCED_DRUM_PITCH_CLASSES) -> int | None:
    """The class index of a GM drum pitch, or None when the map has no such pitch."""
    if classes is REDUCED_DRUM_PITCH_CLASSES:
        return _REDUCED_MAP.get(pitch)
    return pitch_class_map(classes).get(pitch)


def class_pitch(index: int, classes: Sequence[Sequence[int]] = REDUCED_DRUM_PITCH_CLASSES) -> int:
    """The exemplar pitch written for a class."""
    return classes[index][0]
