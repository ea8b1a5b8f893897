"""Audition transport: answered at once (never queued behind model jobs)."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from engine.api.base import Label, Params, Path_, Seconds, declare


@declare("audio.play", job=False, cacheable=False)
class Play(Params, kw_only=True):
    """Play an audio file (any format the library reads)."""
    path: Path_
    label: Label | None = None
    loop: Annotated[bool, Meta(description="loop until stopped")] = False
    layer: Annotated[bool, Meta(description="play over what is playing")] = False
    start: Annotated[float, Meta(ge=0.0, le=86_400.0, description="start at this second")] = 0.0


@declare("audio.stop", job=False, cacheable=False)
class Stop(Params, kw_only=True):
    """Stop the audition (the playhead stays; audio.resume goes on from there)."""


@declare("audio.resume", job=False, cacheable=False)
class Resume(Params, kw_only=True):
    """Play the last audition again from the playhead."""


@declare("audio.seek", job=False, cacheable=False)
class Seek(Params, kw_only=True):
    """Move the playhead to `seconds`."""
    seconds: Seconds


@declare("audio.loop", job=False, cacheable=False)
class Loop(Params, kw_only=True):
    """Turn looping on or off without restarting."""
    loop: Annotated[bool, Meta(description="loop on or off")] = True


@declare("audio.status", job=False, cacheable=False)
class Status(Params, kw_only=True):
    """Playing or not, playhead, duration, loop, label and the output device."""
