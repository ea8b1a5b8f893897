"""Audition transport: play a sound file, stop, seek, loop. Answered at once (not queued
behind model jobs), so the transport reacts while a render runs."""

from __future__ import annotations

from pathlib import Path

from engine import player
from engine.api import audio as api
from engine.context import JobContext
from engine.methods import method


@method("audio.play")
def play(params: api.Play, ctx: JobContext) -> dict:
    from engine.audio.io import read_audio

    samples, rate = read_audio(Path(params.path))
    return player.get().audition(samples, rate, label=params.label or Path(params.path).name,
                                 loop=params.loop, layer=params.layer, start=params.start)


@method("audio.stop")
def stop(params: api.Stop, ctx: JobContext) -> dict:
    """Stop the audition (the playhead stays; audio.resume goes on from there)."""
    return player.get().stop()


@method("audio.resume")
def resume(params: api.Resume, ctx: JobContext) -> dict:
    """Play the last audition again from the playhead."""
    return player.get().resume()


@method("audio.seek")
def seek(params: api.Seek, ctx: JobContext) -> dict:
    return player.get().seek(params.seconds)


@method("audio.loop")
def loop(params: api.Loop, ctx: JobContext) -> dict:
    return player.get().set_loop(params.loop)


@method("audio.status")
def status(params: api.Status, ctx: JobContext) -> dict:
    """Playing or not, playhead, duration, loop, label and the output device."""
    return player.get().status()
