"""SoundFont rendering: hear any MIDI file without a model (General MIDI by default)."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from engine.api.base import MAX_LIST, Name, Params, Path_, SampleRate, declare
from engine.api.timeline import NoteRow, Track

SoundFontPath = Annotated[str, Meta(min_length=1, max_length=4096,
                                    description="a .sf2 file, or `gm`: the General MIDI "
                                    "SoundFont that ships (TimGM6mb.sf2)")]


@declare("soundfont.render", cacheable=False, light=True)
class Render(Params, kw_only=True):
    """Render a MIDI file with a SoundFont into one WAV (stereo) and the MIDI of the notes
    as played: every track on its own MIDI channel with its program, drums on channel 10,
    with the SoundFont's envelopes, loops and velocity layers. No model is needed: the
    timeline previews a file, and a continuation, this way before GANSynth is installed."""
    midi: Path_
    tracks: Annotated[list[Track], Meta(max_length=1024,
                      description="track numbers to play (all when absent)")] | None = None
    add: Annotated[list[NoteRow], Meta(max_length=MAX_LIST,
                                       description="notes laid over the file, always played: "
                                       "[start, end, pitch, velocity, track]")] = []
    soundfont: SoundFontPath | None = None
    output: Name | None = None
    sample_rate: SampleRate = 44100
