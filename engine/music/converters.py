"""Which data converter each MusicVAE config uses (magenta `configs.py`, inference mode).

    conv = converter_for("cat-drums_2bar_small")
    tensors = conv.to_tensors(ns)          # ConverterTensors: inputs/outputs per window
    x, _ = tensors.single("beat.mid", "exactly 2 bars of 4/4 drums")
    seqs = conv.from_tensors(samples, qpm=ns_qpm)
"""

from __future__ import annotations

from typing import Callable, Union

from engine.errors import BadRequest
from engine.music import drums as dm
from engine.music.grids import DrumsConverter
from engine.music.groove import GrooveConverter
from engine.music.melody import MEL_PROGRAMS, MelodyConverter, TrioConverter

Converter = Union[DrumsConverter, GrooveConverter, MelodyConverter, TrioConverter]

CONVERTER_FACTORIES: dict[str, Callable[[], Converter]] = {
    "cat-drums_2bar_small": lambda: DrumsConverter(slice_bars=2, roll_input=True),
    "cat-drums_2bar_big": lambda: DrumsConverter(slice_bars=2, roll_input=True),
    "nade-drums_2bar_full": lambda: DrumsConverter(dm.FULL_DRUM_PITCH_CLASSES, slice_bars=2,
                                                   roll_input=True, roll_output=True),
    "groovae_2bar_humanize": lambda: GrooveConverter(split_bars=2, humanize=True),
    "groovae_2bar_tap_fixed_velocity": lambda: GrooveConverter(split_bars=2, tapify=True,
                                                               fixed_velocities=True),
    "groovae_4bar": lambda: GrooveConverter(split_bars=4),
    "cat-mel_2bar_big": lambda: MelodyConverter(valid_programs=MEL_PROGRAMS, slice_bars=2),
    "hierdec-mel_16bar": lambda: MelodyConverter(slice_bars=16),
    "hierdec-trio_16bar": lambda: TrioConverter(slice_bars=16, gap_bars=2),
}


def converter_for(config: str) -> Converter:
    try:
        return CONVERTER_FACTORIES[config]()
    except KeyError:
        raise BadRequest(f"no data converter for MusicVAE config {config!r}; known: "
                         f"{', '.join(sorted(CONVERTER_FACTORIES))}", config=config) from None
