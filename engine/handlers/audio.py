"""Audition transport: play a sound file, stop, seek, loop. Answered at once (not queued
behind model jobs), so the transport reacts while a render runs."""

from __future__ import annotations

from pathlib import Path

from engine import player
from engine.context import JobContext
from engine.errors import BadRequest
from engine.methods import method


@method("audio.play", job=False, cacheable=False)
def play(params: dict, ctx: JobContext) -> dict:
    """Play an audio file (any format the library reads): path, loop, layer, start (s)."""
    from engine.audio.io import read_audio

    path = params.get("path")
    if not isinstance(path, str):
        raise BadRequest("audio.play needs the path of a sound file")
    samples, rate = read_audio(Path(path))
    return player.get().audition(samples, rate, label=params.get("label") or Path(path).name,
                                 loop=bool(params.get("loop", False)),
                                 layer=bool(params.get("layer", False)),
                                 start=player.check_seconds(params.get("start", 0.0), "start"))


@method("audio.stop", job=False, cacheable=False)
def stop(params: dict, ctx: JobContext) -> dict:
    """Stop the audition (the playhead stays; audio.resume goes on from there)."""
    return player.get().stop()


@method("audio.resume", job=False, cacheable=False)
def resume(params: dict, ctx: JobContext) -> dict:
    """Play the last audition again from the playhead."""
    return player.get().resume()


@method("audio.seek", job=False, cacheable=False)
def seek(params: dict, ctx: JobContext) -> dict:
    """Move the playhead to `seconds`."""
    return player.get().seek(player.check_seconds(params.get("seconds")))


@method("audio.loop", job=False, cacheable=False)
def loop(params: dict, ctx: JobContext) -> dict:
    """Turn looping on or off (`loop`: true/false) without restarting."""
    return player.get().set_loop(bool(params.get("loop", True)))


@method("audio.status", job=False, cacheable=False)
def status(params: dict, ctx: JobContext) -> dict:
    """Playing or not, playhead, duration, loop, label and the output device."""
    return player.get().status()
