"""Drum jobs: sample, interpolate, humanize, tap→drums (MusicVAE/GrooVAE), audition and
export. Patterns travel as the dicts of engine.music.patterns."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from engine import player
from engine.context import JobContext
from engine.errors import BadRequest
from engine.methods import method
from engine.params import integer, number
from engine.pathpolicy import check_name, planned_outputs, readable_file
from engine.music.patterns import check_swing, grid_from_pattern, heard_sequence, pattern_from_grid

# Official checkpoints first; the project's starter models when those are not installed.
SAMPLE_MODELS = ("cat-drums_2bar_small.lokl", "cat-drums_2bar_small.hikl", "starter-drums_2bar")
INTERPOLATE_MODELS = ("cat-drums_2bar_small.hikl", "cat-drums_2bar_small.lokl", "starter-drums_2bar")
HUMANIZE_MODELS = ("groovae_2bar_humanize", "starter-groovae_2bar_humanize")
TAP_MODELS = ("groovae_2bar_tap_fixed_velocity",)
TEMPERATURE_RANGE = (0.0, 2.0)


def _load(params: dict, defaults: tuple[str, ...]):
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


@method("drums.sample", seeded=True)
def sample(params: dict, ctx: JobContext) -> dict:
    """Sample n new 2-bar drum patterns at a temperature (MusicVAE cat-drums)."""
    n = integer(params, "n", 1, 1, 64)
    temperature = number(params, "temperature", 1.0, *TEMPERATURE_RANGE)
    qpm = number(params, "qpm", 120.0, 20, 400)
    ctx.progress(0, 2, "loading the model")
    model, name = _load(params, SAMPLE_MODELS)
    ctx.progress(1, 2, "sampling")
    outputs, _ = model.sample(n, temperature=temperature, seed=params["seed"],
                              same_z=bool(params.get("same_z", False)))
    ctx.progress(2, 2, "done")
    return {"patterns": _patterns_from_outputs(model, outputs, qpm), "seed": params["seed"],
            "model": name, "temperature": temperature}


@method("drums.interpolate", seeded=True)
def interpolate(params: dict, ctx: JobContext) -> dict:
    """Interpolate from pattern a to pattern b in `steps` patterns (slerp of the encodings)."""
    steps = integer(params, "steps", 6, 2, 16)
    temperature = number(params, "temperature", 0.5, *TEMPERATURE_RANGE)
    a = grid_from_pattern(params.get("a"), "pattern a")
    b = grid_from_pattern(params.get("b"), "pattern b")
    ctx.progress(0, 2, "loading the model")
    model, name = _load(params, INTERPOLATE_MODELS)
    _check_steps(model, a, "pattern a")
    _check_steps(model, b, "pattern b")
    ctx.progress(1, 2, "interpolating")
    outputs, _ = model.interpolate(_encoder_input(model, a), _encoder_input(model, b), steps,
                                   temperature=temperature, seed=params["seed"])
    ctx.progress(2, 2, "done")
    return {"patterns": _patterns_from_outputs(model, outputs, a.qpm), "seed": params["seed"],
            "model": name, "temperature": temperature}


def _groove_job(params: dict, ctx: JobContext, defaults: tuple[str, ...], verb: str) -> dict:
    temperature = number(params, "temperature", 1.0, *TEMPERATURE_RANGE)
    raw = params.get("patterns") or ([params["pattern"]] if "pattern" in params else None)
    if not raw:
        raise BadRequest(f"{verb} needs a pattern (or patterns, for a chain)")
    grids = [grid_from_pattern(p, f"pattern {i + 1}") for i, p in enumerate(raw)]
    ctx.progress(0, 2, "loading the model")
    model, name = _load(params, defaults)
    for i, g in enumerate(grids):
        _check_steps(model, g, f"pattern {i + 1}")
    ctx.progress(1, 2, verb)
    x = np.stack([_encoder_input(model, g) for g in grids])
    outputs, _ = model.reconstruct(x, temperature=temperature, seed=params["seed"])
    ctx.progress(2, 2, "done")
    return {"patterns": _patterns_from_outputs(model, outputs, grids[0].qpm), "seed": params["seed"],
            "model": name, "temperature": temperature}


@method("drums.humanize", seeded=True)
def humanize(params: dict, ctx: JobContext) -> dict:
    """Give quantized patterns human velocity and micro-timing (GrooVAE humanize)."""
    return _groove_job(params, ctx, HUMANIZE_MODELS, "humanizing")


@method("drums.tap", seeded=True)
def tap(params: dict, ctx: JobContext) -> dict:
    """Turn a tapped rhythm (any hits, one voice) into a full drum pattern (GrooVAE tap)."""
    return _groove_job(params, ctx, TAP_MODELS, "drumming")


def _kit(params: dict):
    """The drum sounds: the shipped kit, or a SoundFont's drum preset (`soundfont`: .sf2 path)."""
    sf2 = params.get("soundfont")
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


def _grids(params: dict) -> list:
    raw = params.get("patterns")
    if not isinstance(raw, list) or not raw:
        raise BadRequest("patterns must be a non-empty list of patterns")
    return [grid_from_pattern(p, f"pattern {i + 1}") for i, p in enumerate(raw)]


@method("drums.audition", job=False, cacheable=False)
def audition(params: dict, ctx: JobContext) -> dict:
    """Play patterns (a chain) in a loop with the shipped drum kit, at their tempo and swing.
    With `update`, a loop that is playing swaps to the new audio without losing its place."""
    from engine.audio.drum_kit import KIT_RATE, render_drums

    grids = _grids(params)
    swing = check_swing(params.get("swing", 0.0))
    ns = heard_sequence(grids, swing)
    length = sum(g.steps * g.step_seconds for g in grids)
    audio = render_drums(ns, KIT_RATE, kit=_kit(params), seconds=length, wrap=True)
    status = player.get().audition(audio, KIT_RATE, label=str(params.get("label") or "drums"),
                                   loop=bool(params.get("loop", True)),
                                   update=bool(params.get("update")))
    return {**status, "step_s": grids[0].step_seconds}


@method("drums.import_midi", cacheable=False, light=True)
def import_midi(params: dict, ctx: JobContext) -> dict:
    """Read a drum MIDI file into 2-bar patterns (GM drums mapped to the 9 classes)."""
    from engine.music.grids import DrumGrid
    from engine.music.midi_io import read_midi

    path = params.get("path")
    if not isinstance(path, str) or not path:
        raise BadRequest("drums.import_midi needs the path of a MIDI file")
    ns = read_midi(Path(path).expanduser(), expect_drums=True, what="path")
    grid = DrumGrid.from_sequence(ns)
    bars = integer(params, "max_bars", 8, 2, 64)
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
    return {"patterns": patterns, "qpm": grid.qpm, "path": str(Path(path).expanduser())}


@method("drums.export", cacheable=False, light=True)
def export(params: dict, ctx: JobContext) -> dict:
    """Write patterns as MIDI (drums on channel 10, tempo and swing as heard) and, with
    `wav`, the rendered audio (`rate` 8000-96000 Hz, `format` PCM_16/PCM_24/FLOAT), into
    `folder`. Never overwrites unless `overwrite`."""
    from engine.audio.drum_kit import KIT_RATE, render_drums
    from engine.audio.io import WAV_SUBTYPES, export_name, write_wav
    from engine.music.midi_io import write_midi

    grids = _grids(params)
    swing = check_swing(params.get("swing", 0.0))
    folder = params.get("folder")
    if not isinstance(folder, str) or not folder:
        raise BadRequest("export needs a folder")
    overwrite = bool(params.get("overwrite", False))
    per_pattern = bool(params.get("per_pattern", False))
    groups = [[g] for g in grids] if per_pattern else [grids]
    model = str(params.get("model") or "drums")
    seed = params.get("seed")
    base = str(params.get("name") or "")
    if base:
        check_name(base, "name")  # "../elsewhere/x" is refused, not written elsewhere
    names: list[str] = []
    jobs: list[tuple[list, str]] = []
    for i, group in enumerate(groups):
        label = (f"pattern{i + 1}" if per_pattern else ("chain" if len(grids) > 1 else "pattern"))
        for kind in (["mid", "wav"] if params.get("wav") else ["mid"]):
            names.append(f"{base}-{label}.{kind}" if base else
                         export_name("drums", model, seed, kind, label=label))
            jobs.append((group, kind))
    # only inside `folder`; nothing replaced unless `overwrite` (OutputExists lists it all)
    targets = planned_outputs(folder, names, overwrite=overwrite, what="name")
    planned = [(t, g, k) for t, (g, k) in zip(targets, jobs)]
    rate = integer(params, "rate", KIT_RATE, 8000, 96000)
    wav_format = str(params.get("format", "PCM_16"))
    if wav_format not in WAV_SUBTYPES:  # checked before anything is written
        raise BadRequest(f"unknown WAV sample format {wav_format!r}; use one of {WAV_SUBTYPES}")
    kit = _kit(params) if params.get("wav") else None  # a bad SoundFont: nothing written
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
