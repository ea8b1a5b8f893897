"""Drum jobs: sample, interpolate, humanize, tap→drums (MusicVAE/GrooVAE), audition and
export. Patterns travel as the dicts of engine.music.patterns."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

import msgspec

from engine import player
from engine.api import drums as api
from engine.api.base import ModelChoice
from engine.context import JobContext
from engine.errors import BadRequest
from engine.methods import method
from engine.music.patterns import grid_from_pattern, heard_sequence, pattern_from_grid
from engine.pathpolicy import check_name, planned_outputs, readable_file

# Official checkpoints first; the project's starter models when those are not installed.
SAMPLE_MODELS = ("cat-drums_2bar_small.lokl", "cat-drums_2bar_small.hikl", "starter-drums_2bar")
INTERPOLATE_MODELS = ("cat-drums_2bar_small.hikl", "cat-drums_2bar_small.lokl", "starter-drums_2bar")
HUMANIZE_MODELS = ("groovae_2bar_humanize", "starter-groovae_2bar_humanize")
TAP_MODELS = ("groovae_2bar_tap_fixed_velocity",)


def _grid(p: api.Pattern, what: str):
    return grid_from_pattern(msgspec.to_builtins(p), what)


def _load(params: ModelChoice, defaults: tuple[str, ...]):
    from engine.models.musicvae import MusicVae
    from engine.models.resolve import resolve_model

    name, config, path = resolve_model(params, defaults)
    return MusicVae.load(config, str(path)), name


def _patterns_from_outputs(model, outputs: np.ndarray, qpm: float) -> list[dict[str, Any]]:
    from engine.music.grids import DrumGrid
    from engine.music.groove import groove_to_grid

    if model.config.decoder == "groove":
        grids = [groove_to_grid(o, qpm) for o in outputs]
    elif model.config.decoder == "categorical" and model.output_depth == 512:
        grids = [DrumGrid.from_onehot(o, qpm) for o in outputs]
    else:
        raise BadRequest(f"{model.config.name} is not a 9-class drum model")
    return [pattern_from_grid(g) for g in grids]


def _encoder_input(model, grid) -> np.ndarray:
    """The encoder input tensor [steps, depth] of a pattern for this model's converter."""
    from engine.music.converters import converter_for

    if model.config.decoder == "groove":
        x, _ = converter_for(model.config.name).grid_tensors(grid)
        return x
    roll = grid.to_roll()  # cat-drums reads the 9-class roll plus a "no hit" bit
    return roll if model.input_depth == roll.shape[1] else grid.to_onehot()


def _check_steps(model, grid, what: str) -> None:
    if grid.steps != model.max_seq_len:
        raise BadRequest(f"{what} has {grid.steps} steps; {model.config.name} works on "
                         f"{model.max_seq_len} (2 bars of 16ths)")


@method("drums.sample")
def sample(params: api.Sample, ctx: JobContext) -> dict:
    ctx.progress(0, 2, "loading the model")
    model, name = _load(params, SAMPLE_MODELS)
    ctx.progress(1, 2, "sampling")
    outputs, _ = model.sample(params.n, temperature=params.temperature, seed=params.seed,
                              same_z=params.same_z)
    ctx.progress(2, 2, "done")
    return {"patterns": _patterns_from_outputs(model, outputs, params.qpm), "seed": params.seed,
            "model": name, "temperature": params.temperature}


@method("drums.interpolate")
def interpolate(params: api.Interpolate, ctx: JobContext) -> dict:
    a = _grid(params.a, "pattern a")
    b = _grid(params.b, "pattern b")
    ctx.progress(0, 2, "loading the model")
    model, name = _load(params, INTERPOLATE_MODELS)
    _check_steps(model, a, "pattern a")
    _check_steps(model, b, "pattern b")
    ctx.progress(1, 2, "interpolating")
    outputs, _ = model.interpolate(_encoder_input(model, a), _encoder_input(model, b),
                                   params.steps, temperature=params.temperature, seed=params.seed)
    ctx.progress(2, 2, "done")
    return {"patterns": _patterns_from_outputs(model, outputs, a.qpm), "seed": params.seed,
            "model": name, "temperature": params.temperature}


def _groove_job(params: api.Humanize | api.Tap, ctx: JobContext, defaults: tuple[str, ...],
                verb: str) -> dict:
    raw = params.patterns or ([params.pattern] if params.pattern is not None else None)
    if not raw:
        raise BadRequest(f"{verb} needs a pattern (or patterns, for a chain)", param="pattern")
    grids = [_grid(p, f"pattern {i + 1}") for i, p in enumerate(raw)]
    ctx.progress(0, 2, "loading the model")
    model, name = _load(params, defaults)
    for i, g in enumerate(grids):
        _check_steps(model, g, f"pattern {i + 1}")
    ctx.progress(1, 2, verb)
    x = np.stack([_encoder_input(model, g) for g in grids])
    outputs, _ = model.reconstruct(x, temperature=params.temperature, seed=params.seed)
    ctx.progress(2, 2, "done")
    return {"patterns": _patterns_from_outputs(model, outputs, grids[0].qpm), "seed": params.seed,
            "model": name, "temperature": params.temperature}


@method("drums.humanize")
def humanize(params: api.Humanize, ctx: JobContext) -> dict:
    return _groove_job(params, ctx, HUMANIZE_MODELS, "humanizing")


@method("drums.tap")
def tap(params: api.Tap, ctx: JobContext) -> dict:
    return _groove_job(params, ctx, TAP_MODELS, "drumming")


def _kit(params: api.Audition | api.Export):
    """The drum sounds: the shipped kit, or a SoundFont's drum preset (`soundfont`: .sf2 path)."""
    sf2 = params.soundfont
    if not sf2:
        return None
    # a regular file only: a FIFO would block the read, a device never end (pathpolicy)
    path = readable_file(str(sf2), "soundfont", expect="a SoundFont (.sf2) drum kit")
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        mtime = 0  # SoundFontKit names the missing file
    return _soundfont_kit(str(path), mtime)


@functools.lru_cache(maxsize=4)
def _soundfont_kit(path: str, mtime: int):
    """Parsed once per file version: a looping audition re-renders on every edit."""
    from engine.audio.drum_kit import KIT_RATE
    from engine.audio.soundfont import SoundFontKit

    return SoundFontKit(Path(path), KIT_RATE)


def _grids(params: api.Audition | api.Export) -> list:
    return [_grid(p, f"pattern {i + 1}") for i, p in enumerate(params.patterns)]


@method("drums.audition")
def audition(params: api.Audition, ctx: JobContext) -> dict:
    from engine.audio.drum_kit import KIT_RATE, render_drums

    grids = _grids(params)
    ns = heard_sequence(grids, params.swing)
    length = sum(g.steps * g.step_seconds for g in grids)
    audio = render_drums(ns, KIT_RATE, kit=_kit(params), seconds=length, wrap=True)
    status = player.get().audition(audio, KIT_RATE, label=params.label or "drums",
                                   loop=params.loop, update=params.update)
    return {**status, "step_s": grids[0].step_seconds}


@method("drums.import_midi")
def import_midi(params: api.ImportMidi, ctx: JobContext) -> dict:
    from engine.music.grids import DrumGrid
    from engine.music.midi_io import read_midi

    ns = read_midi(Path(params.path).expanduser(), expect_drums=True, what="path")
    grid = DrumGrid.from_sequence(ns)
    bars = params.max_bars
    patterns = []
    for start in range(0, min(grid.steps, bars * 16), 32):
        hits = np.zeros((grid.hits.shape[0], 32), bool)
        vel = np.zeros(hits.shape, np.uint8)
        off = np.zeros(hits.shape, np.float32)
        end = min(grid.steps, start + 32)
        hits[:, :end - start] = grid.hits[:, start:end]
        vel[:, :end - start] = grid.velocities[:, start:end]
        off[:, :end - start] = grid.offsets[:, start:end]
        patterns.append(pattern_from_grid(DrumGrid(hits, vel, off, grid.qpm)))
    return {"patterns": patterns, "qpm": grid.qpm, "path": str(Path(params.path).expanduser())}


@method("drums.export")
def export(params: api.Export, ctx: JobContext) -> dict:
    from engine.audio.drum_kit import KIT_RATE, render_drums
    from engine.audio.io import export_name, write_wav
    from engine.music.midi_io import write_midi

    grids = _grids(params)
    swing = params.swing
    overwrite = params.overwrite
    per_pattern = params.per_pattern
    groups = [[g] for g in grids] if per_pattern else [grids]
    model = params.model or "drums"
    seed = params.seed
    base = params.name or ""
    if base:
        check_name(base, "name")  # "../elsewhere/x" is refused, not written elsewhere
    names: list[str] = []
    jobs: list[tuple[list, str]] = []
    for i, group in enumerate(groups):
        label = (f"pattern{i + 1}" if per_pattern else ("chain" if len(grids) > 1 else "pattern"))
        for kind in (["mid", "wav"] if params.wav else ["mid"]):
            names.append(f"{base}-{label}.{kind}" if base else
                         export_name("drums", model, seed, kind, label=label))
            jobs.append((group, kind))
    # only inside `folder`; nothing replaced unless `overwrite` (OutputExists lists it all)
    targets = planned_outputs(params.folder, names, overwrite=overwrite, what="name")
    planned = [(t, g, k) for t, (g, k) in zip(targets, jobs)]
    rate, wav_format = params.rate, params.format
    kit = _kit(params) if params.wav else None  # a bad SoundFont: nothing written
    written = []
    for n, (path, group, kind) in enumerate(planned):
        ctx.progress(n, len(planned), f"writing {path.name}")
        ns = heard_sequence(group, swing)
        if kind == "mid":
            write_midi(ns, path, overwrite=overwrite)
        else:
            length = sum(g.steps * g.step_seconds for g in group)
            audio = render_drums(ns, KIT_RATE, kit=kit, seconds=length)
            write_wav(path, audio, KIT_RATE, out_rate=rate, overwrite=overwrite,
                      subtype=wav_format)
        written.append(str(path))
    ctx.progress(len(planned), len(planned), "done")
    return {"files": written}
