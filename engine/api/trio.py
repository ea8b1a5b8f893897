"""Trios: 16-bar melody + bass + drums with MusicVAE hierdec-trio_16bar."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from engine.api.base import ModelChoice, Path_, Qpm, Seed, Temperature, declare
from engine.api.melody import ChainQpm, Folder, Join, Overwrite


@declare("trio.sample", seeded=True)
class Sample(ModelChoice, kw_only=True):
    """Sample n new 16-bar trios (melody, bass, drums on channel 10) with MusicVAE
    hierdec-trio_16bar, one MIDI file each."""
    n: Annotated[int, Meta(ge=1, le=16, description="how many trios")] = 1
    temperature: Temperature = 0.5
    qpm: Qpm = 120.0
    seed: Seed | None = None
    folder: Folder | None = None
    overwrite: Overwrite = False


@declare("trio.interpolate", seeded=True)
class Interpolate(ModelChoice, kw_only=True):
    """Interpolate between two 16-bar trios in `steps` trios: the trios of MIDI files `a`
    and `b` (each needs a melody, a bass (programs 32-39) and a drum part), or, without
    them, two random trios drawn from the seed."""
    a: Path_ | None = None
    b: Path_ | None = None
    steps: Annotated[int, Meta(ge=2, le=16, description="trios in the chain")] = 4
    temperature: Temperature = 0.5
    qpm: ChainQpm | None = None
    seed: Seed | None = None
    folder: Folder | None = None
    overwrite: Overwrite = False
    join: Join = False
