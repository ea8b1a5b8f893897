"""The arrangement timeline: read MIDI for the piano roll, save edits, export a render."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from engine.api.base import MAX_LIST, Name, Params, Path_, SampleRate, WavFormat, declare

Time = Annotated[float, Meta(ge=0.0, le=86_400.0)]
Midi7 = Annotated[int, Meta(ge=0, le=127)]
Track = Annotated[int, Meta(ge=0, le=1_000_000)]
NoteRow = tuple[Time, Time, Midi7, Midi7, Track]


@declare("timeline.load_midi", cacheable=False, light=True)
class LoadMidi(Params, kw_only=True):
    """Read a MIDI file: its tracks, notes [[start, end, pitch, velocity, track]...], qpm,
    time signature, bar length and total time."""
    path: Path_


@declare("timeline.export", cacheable=False, light=True)
class Export(Params, kw_only=True):
    """Copy a render into `folder`: the WAV (`path`, from gansynth.render) and the MIDI of
    the notes as played (`midi_path`), as `name`.wav/.mid. Never overwrites unless
    `overwrite`."""
    path: Path_
    folder: Annotated[str, Meta(min_length=1, max_length=4096, description="the folder to write into")]
    name: Name | None = None
    midi_path: Path_ | None = None
    overwrite: Annotated[bool, Meta(description="replace files that exist")] = False
    rate: SampleRate | None = None
    format: WavFormat = "PCM_16"


@declare("timeline.save_midi", cacheable=False, light=True)
class SaveMidi(Params, kw_only=True):
    """Write the arrangement as edited: the MIDI file `midi` plus the notes `add` to `path`
    (atomically). An existing file is replaced only with `overwrite`."""
    midi: Path_
    path: Path_
    add: Annotated[list[NoteRow], Meta(max_length=MAX_LIST,
                                       description="notes [start, end, pitch, velocity, track]")] = []
    overwrite: Annotated[bool, Meta(description="replace the file at path")] = False
