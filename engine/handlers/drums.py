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
from engine.errors import BadInput, BadRequest, ModelNotInstalled
from engine.fsutil import written_together
from engine.methods import method
from engine.music.patterns import grid_from_pattern, heard_sequence, pattern_from_grid
from engine.pathpolicy import check_name, planned_outputs

# The manifest's roles (checkpoints/manifest [roles]) say which model each action uses when
# the request names none: official checkpoints first, the starter models as the fallback.
SAMPLE_ROLE, INTERPOLATE_ROLE = "drums.sample", "drums.interpolate"
HUMANIZE_ROLE, TAP_ROLE = "drums.humanize", "drums.tap"
ROLES = {"sample": SAMPLE_ROLE, "interpolate": INTERPOLATE_ROLE, "humanize": HUMANIZE_ROLE,
         "tap": TAP_ROLE}
WINDOW = 32  # the models' 2 bars of 16ths


def _grid(p: api.Pattern, what: str):
    return grid_from_pattern(msgspec.to_builtins(p), what)


def _load(params: ModelChoice, role: str):
    from engine.checkpoints import resolve_model
    from engine.models import pooled

    m = resolve_model(params, role)
    return pooled.musicvae(m.config, m.path), m.name


def _patterns_from_outputs(model, outputs: np.ndarray, qpm: float) -> list[dict[str, Any]]:
    from engine.music import drums as dm
    from engine.music.grids import DrumGrid, regroup
    from engine.music.groove import groove_to_grid

    if model.config.decoder == "groove":
        grids = [groove_to_grid(o, qpm) for o in outputs]
    elif model.config.decoder == "categorical" and model.output_depth == 512:
        grids = [DrumGrid.from_onehot(o, qpm) for o in outputs]
    elif _full_kit(model):  # 61 drum pitches, shown on the grid's 9 classes
        grids = [DrumGrid(regroup(o.T > 0.5, dm.FULL_DRUM_PITCH_CLASSES,
                                  dm.REDUCED_DRUM_PITCH_CLASSES), qpm=qpm) for o in outputs]
    else:
        raise BadRequest(f"{model.config.name} is not a 9-class drum model")
    return [pattern_from_grid(g) for g in grids]


def _encoder_input(model, grid) -> np.ndarray:
    """The encoder input tensor [steps, depth] of a pattern for this model's converter."""
    from engine.music import drums as dm
    from engine.music.converters import converter_for
    from engine.music.grids import grid_to_roll, regroup

    if model.config.decoder == "groove":
        x, _ = converter_for(model.config.name).grid_tensors(grid)
        return x
    if _full_kit(model):  # the 61-pitch roll plus a "no hit" bit, hits at exemplar pitches
        return grid_to_roll(regroup(grid.hits, dm.REDUCED_DRUM_PITCH_CLASSES,
                                    dm.FULL_DRUM_PITCH_CLASSES))
    roll = grid.to_roll()  # cat-drums reads the 9-class roll plus a "no hit" bit
    return roll if model.input_depth == roll.shape[1] else grid.to_onehot()


def _full_kit(model) -> bool:
    """nade-drums_2bar_full's shape: RNN-NADE over 61 single drum pitches."""
    from engine.music.drums import FULL_DRUM_PITCH_CLASSES
    return model.config.decoder == "nade" and model.output_depth == len(FULL_DRUM_PITCH_CLASSES)


def _check_steps(model, grid, what: str) -> None:
    if grid.steps != model.max_seq_len:
        raise BadRequest(f"{what} has {grid.steps} steps; {model.config.name} works on "
                         f"{model.max_seq_len} (2 bars of 16ths)")


@method("drums.sample")
def sample(params: api.Sample, ctx: JobContext) -> dict:
    ctx.progress(0, 2, "loading the model")
    model, name = _load(params, SAMPLE_ROLE)
    ctx.progress(1, 2, "sampling")
    outputs, _ = model.sample(params.n, temperature=params.temperature, seed=params.seed,
                              same_z=params.same_z)
    ctx.progress(2, 2, "done")
    patterns = _patterns_from_outputs(model, outputs, params.qpm)
    for i, p in enumerate(patterns):
        p["provenance"] = _provenance("drums.sample", name, params, index=i, of=len(patterns))
    return {"patterns": patterns, "seed": params.seed, "model": name,
            "temperature": params.temperature}


def _provenance(method_name: str, model: str, params: Any, **extra: Any) -> dict[str, Any]:
    out = {"method": method_name, "model": model, "seed": params.seed,
           "temperature": params.temperature}
    out.update({k: v for k, v in extra.items() if v is not None and v != []})
    return out


def describe(p: api.Pattern, fallback: str) -> str:
    """A short line naming a pattern by its provenance, e.g. "a: drums.sample seed 3"."""
    prov = p.provenance
    if prov is None:
        return fallback
    bits = [prov.method.removeprefix("drums.")]
    if prov.seed is not None:
        bits.append(f"seed {prov.seed}")
    if prov.sources and prov.method == "file":
        bits = [prov.sources[0]]
    return f"{fallback}: {' '.join(bits)}"[:300]


def _as_given(p: api.Pattern, qpm: float, what: str) -> dict[str, Any]:
    """A pattern exactly as the user made it (velocities, timing, provenance)."""
    d = msgspec.to_builtins(p)
    steps = len(d["velocities"][0])
    d["offsets"] = d.get("offsets") or [[0.0] * steps for _ in range(9)]
    d["qpm"] = float(d.get("qpm", qpm))
    if not d.get("provenance"):
        d["provenance"] = {"method": "given", "sources": [what]}
    return d


@method("drums.interpolate")
def interpolate(params: api.Interpolate, ctx: JobContext) -> dict:
    a = _grid(params.a, "pattern a")
    b = _grid(params.b, "pattern b")
    ctx.progress(0, 2, "loading the model")
    model, name = _load(params, INTERPOLATE_ROLE)
    _check_steps(model, a, "pattern a")
    _check_steps(model, b, "pattern b")
    ctx.progress(1, 2, "interpolating")
    outputs, _ = model.interpolate(_encoder_input(model, a), _encoder_input(model, b),
                                   params.steps, temperature=params.temperature, seed=params.seed)
    ctx.progress(2, 2, "done")
    patterns = _patterns_from_outputs(model, outputs, a.qpm)
    n = len(patterns)
    sources = [describe(params.a, "a"), describe(params.b, "b")]
    for i, p in enumerate(patterns):
        end = i in (0, n - 1)
        mode = ("reconstruction" if end else "between")
        srcs = ([sources[0 if i == 0 else 1]] if end else sources)
        p["provenance"] = _provenance("drums.interpolate", name, params, mode=mode,
                                      sources=srcs, index=i, of=n)
    if params.ends == "yours":  # A→B starts on A and ends on B, as the user made them
        patterns[0] = _as_given(params.a, a.qpm, "a")
        patterns[-1] = _as_given(params.b, a.qpm, "b")
    return {"patterns": patterns, "seed": params.seed, "model": name,
            "temperature": params.temperature, "ends": params.ends}


def _windows(grids: list, model, name: str) -> list[tuple[int, int, int]]:
    """(pattern, start step, length) of every 2-bar window: a pattern longer than 2 bars
    is worked on 2 bars at a time across all of it."""
    out = []
    for i, g in enumerate(grids):
        if g.steps % model.max_seq_len:
            raise BadRequest(f"pattern {i + 1} has {g.steps} steps; {name} works on "
                             f"{model.max_seq_len} steps (2 bars of 16ths) at a time: give a "
                             f"multiple of {model.max_seq_len}")
        out.extend((i, s, model.max_seq_len) for s in range(0, g.steps, model.max_seq_len))
    return out


def _keep_hits(grid, out: np.ndarray, tap: bool):
    """The model's output, holding to the input's hits.

    humanize: exactly the input hits, with the model's velocity and timing at those cells
    (the groove decoder gives velocity and offset at every cell, also where it did not
    place a hit). tap: drums only on tapped steps and every tapped step played: the
    model's hits there, or, where it left a tap silent, its loudest voice at that step."""
    from engine.music.grids import DrumGrid

    t = np.asarray(out, np.float64)  # [steps, 27]: hits, velocities 0..1, offsets (2x)
    n = t.shape[1] // 3
    model_hits = t[:, :n] > 0.5
    vel = np.clip(np.round(t[:, n:2 * n] * 127), 1, 127)
    off = np.clip(t[:, 2 * n:] / 2, -0.5, 0.5)
    if not tap:
        hits = grid.hits.T.copy()
    else:
        tapped = grid.hits.any(axis=0)
        hits = model_hits & tapped[:, None]
        for s in np.nonzero(tapped & ~hits.any(axis=1))[0]:
            hits[s, int(np.argmax(t[s, n:2 * n]))] = True
    return DrumGrid(hits.T.copy(), (vel * hits).T.astype(np.uint8),
                    (off * hits).T.astype(np.float32), grid.qpm)


def _groove_job(params: api.Humanize | api.Tap, ctx: JobContext, role: str,
                verb: str) -> dict:
    from engine.music.grids import DrumGrid
    from engine.music.groove import groove_to_grid

    raw = params.patterns or ([params.pattern] if params.pattern is not None else None)
    if not raw:
        raise BadRequest(f"{verb} needs a pattern (or patterns, for a chain)", param="pattern")
    grids = [_grid(p, f"pattern {i + 1}") for i, p in enumerate(raw)]
    ctx.progress(0, 2, "loading the model")
    model, name = _load(params, role)
    if model.config.decoder != "groove":
        raise BadRequest(f"{model.config.name} is not a GrooVAE model")
    windows = _windows(grids, model, name)
    ctx.progress(1, 2, f"{verb} ({len(windows)} × 2 bars)")
    pieces = [DrumGrid(grids[i].hits[:, s:s + n], grids[i].velocities[:, s:s + n],
                       grids[i].offsets[:, s:s + n], grids[i].qpm) for i, s, n in windows]
    x = np.stack([_encoder_input(model, g) for g in pieces])
    outputs, _ = model.reconstruct(x, temperature=params.temperature, seed=params.seed)
    tap = isinstance(params, api.Tap)
    made = [(_keep_hits(g, o, tap) if params.keep_hits else groove_to_grid(o, g.qpm))
            for g, o in zip(pieces, outputs)]
    ctx.progress(2, 2, "done")
    patterns = []
    mode = "keep-hits" if params.keep_hits else "free"
    for i, g in enumerate(grids):
        parts = [m for (j, _, _), m in zip(windows, made) if j == i]
        whole = DrumGrid(np.concatenate([p.hits for p in parts], axis=1),
                         np.concatenate([p.velocities for p in parts], axis=1),
                         np.concatenate([p.offsets for p in parts], axis=1), g.qpm)
        p = pattern_from_grid(whole)
        p["provenance"] = _provenance(params_method(params), name, params, mode=mode,
                                      sources=[describe(raw[i], f"pattern {i + 1}")],
                                      index=i if len(grids) > 1 else None,
                                      of=len(grids) if len(grids) > 1 else None)
        patterns.append(p)
    return {"patterns": patterns, "seed": params.seed, "model": name,
            "temperature": params.temperature, "keep_hits": params.keep_hits}


def params_method(params: Any) -> str:
    return "drums.tap" if isinstance(params, api.Tap) else "drums.humanize"


@method("drums.humanize")
def humanize(params: api.Humanize, ctx: JobContext) -> dict:
    return _groove_job(params, ctx, HUMANIZE_ROLE, "humanizing")


@method("drums.tap")
def tap(params: api.Tap, ctx: JobContext) -> dict:
    return _groove_job(params, ctx, TAP_ROLE, "drumming")


def _kit(params: api.Audition | api.Export | api.Check):
    """The drum sounds: the shipped kit, or a SoundFont's drum kit (`soundfont`: an .sf2
    path, or `gm` for the General MIDI SoundFont that ships)."""
    from engine.audio.soundfont import resolve_soundfont

    if not params.soundfont:
        return None
    # a regular file only: a FIFO would block the read, a device never end (pathpolicy)
    path = resolve_soundfont(params.soundfont, "soundfont")
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        mtime = 0  # SoundFontKit names the missing file
    return _soundfont_kit(str(path), mtime)


@functools.lru_cache(maxsize=4)
def _soundfont_kit(path: str, mtime: int):
    """Loaded once per file version: a looping audition re-renders on every edit, and
    the kit keeps the one-shots it has played."""
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


def _tempo_and_meter_warnings(ns) -> list[str]:
    from engine.music.sequences import qpm_of

    out = []
    qpm = qpm_of(ns)
    changes = sorted({round(t.qpm, 2) for t in ns.tempos if t.time > 0 and abs(t.qpm - qpm) > 0.01})
    if changes:
        out.append(f"tempo changes after the start ({', '.join(f'{q:g}' for q in changes[:5])} bpm) "
                   f"are not kept: the patterns play at {qpm:g} bpm")
    meters = sorted({(t.numerator, t.denominator) for t in ns.time_signatures
                     if (t.numerator, t.denominator) != (4, 4)})
    if meters:
        out.append("time signature " + ", ".join(f"{a}/{b}" for a, b in meters) +
                   " read as 4/4 (16 steps a bar)")
    return out


def read_windows(path: str, max_bars: int | None = None, tap: bool = False
                 ) -> tuple[list[dict[str, Any]], float, list[str]]:
    """A drum (or, with `tap`, any) MIDI file as consecutive 2-bar patterns across all of
    it, its tempo, and what was left out and why."""
    from engine.music.grids import DrumGrid
    from engine.music.groove import taps_from_sequence
    from engine.music.midi_io import read_midi
    from note_seq import NoteSequence

    from engine.music.drums import drum_class
    from engine.music.sequences import STEPS_PER_BAR

    p = Path(path).expanduser()
    ns = read_midi(p, expect_drums=not tap, what="path")
    warns = _tempo_and_meter_warnings(ns)
    # what is left out is counted here, not through the warnings module (not thread-safe)
    if tap:
        h, v, o, qpm = taps_from_sequence(ns)
        hits = np.zeros((9, len(h)), bool)
        vel = np.zeros(hits.shape, np.uint8)
        off = np.zeros(hits.shape, np.float32)
        hits[2], vel[2], off[2] = h > 0, v, o
        grid = DrumGrid(hits, vel, off, qpm)
        notes = [n for n in ns.notes if n.velocity > 0]
    else:
        drum_notes = [n for n in ns.notes if n.is_drum and n.velocity > 0]
        notes = [n for n in drum_notes if drum_class(n.pitch) is not None]
        unknown = sorted({n.pitch for n in drum_notes if drum_class(n.pitch) is None})
        if unknown:
            warns.append(f"{len(drum_notes) - len(notes)} note(s) left out: drum pitches "
                         f"outside the 9 drum classes (pitches {', '.join(map(str, unknown))})")
        others = sum(1 for n in ns.notes if not n.is_drum and n.velocity > 0)
        if others:
            warns.append(f"{others} note(s) left out: not drums (only MIDI channel 10 is read)")
        known = NoteSequence()
        known.CopyFrom(ns)
        del known.notes[:]
        known.notes.extend(notes)
        grid = DrumGrid.from_sequence(known)
    sps = 4 * grid.qpm / 60.0
    placed = sum(1 for n in notes if 0 <= int(np.floor(n.start_time * sps + 0.5)) < grid.steps)
    shared = placed - int(grid.hits.sum())
    if shared > 0:
        warns.append(f"{shared} note(s) merged: several hits of one "
                     f"{'step' if tap else 'drum class on one 16th'}, the loudest kept")
    total_bars = -(-grid.steps // STEPS_PER_BAR)
    limit = min(max_bars or api.MAX_FILE_BARS, api.MAX_FILE_BARS)
    limit -= limit % 2
    if total_bars > limit:
        cut = sum(1 for c, s in zip(*np.nonzero(grid.hits)) if s >= limit * STEPS_PER_BAR)
        why = (f"max_bars is {max_bars}" if max_bars and max_bars < api.MAX_FILE_BARS
               else f"the most one chain holds ({api.MAX_CHAIN} patterns)")
        warns.append(f"read bars 1-{limit} of {total_bars}: {cut} hit(s) after bar {limit} "
                     f"left out, {why}")
    patterns = []
    for start in range(0, min(grid.steps, limit * STEPS_PER_BAR), WINDOW):
        hits = np.zeros((grid.hits.shape[0], WINDOW), bool)
        vel = np.zeros(hits.shape, np.uint8)
        off = np.zeros(hits.shape, np.float32)
        end = min(grid.steps, start + WINDOW)
        hits[:, :end - start] = grid.hits[:, start:end]
        vel[:, :end - start] = grid.velocities[:, start:end]
        off[:, :end - start] = grid.offsets[:, start:end]
        pat = pattern_from_grid(DrumGrid(hits, vel, off, grid.qpm))
        bar = start // STEPS_PER_BAR + 1
        pat["provenance"] = {"method": "file", "sources": [f"{p.name} bars {bar}-{bar + 1}"[:300]]}
        patterns.append(pat)
    return patterns, float(grid.qpm), warns


@method("drums.import_midi")
def import_midi(params: api.ImportMidi, ctx: JobContext) -> dict:
    patterns, qpm, warns = read_windows(params.path, params.max_bars, params.tap)
    return {"patterns": patterns, "qpm": qpm, "path": str(Path(params.path).expanduser()),
            "bars": 2 * len(patterns), "warnings": warns}


def _names_from(params: api.Export) -> tuple[str, int | None]:
    """Model and seed for the file names: as given, else the first pattern's provenance."""
    prov = params.patterns[0].provenance
    model = params.model or (prov.model if prov and prov.model else
                             (prov.method.removeprefix("drums.") if prov else None)) or "drums"
    seed = params.seed if params.seed is not None else (prov.seed if prov else None)
    return model, seed


@method("drums.export")
def export(params: api.Export, ctx: JobContext) -> dict:
    from engine.audio.drum_kit import KIT_RATE, render_drums
    from engine.audio.io import export_name, write_wav
    from engine.music.midi_io import write_drum_midi

    grids = _grids(params)
    swing = params.swing
    overwrite = params.overwrite
    per_pattern = params.per_pattern
    groups = [[g] for g in grids] if per_pattern else [grids]
    model, seed = _names_from(params)
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
    # every file is written beside its target first; only when all are whole are they
    # moved into place, so an export is the MIDI and the WAV together or nothing
    with written_together(targets, overwrite) as temporaries:
        for n, ((path, group, kind), tmp) in enumerate(zip(planned, temporaries)):
            ctx.progress(n, len(planned), f"writing {path.name}")
            ns = heard_sequence(group, swing)
            if kind == "mid":
                write_drum_midi(ns, tmp, overwrite=True)
            else:
                length = sum(g.steps * g.step_seconds for g in group)
                audio = render_drums(ns, KIT_RATE, kit=kit, seconds=length)
                write_wav(tmp, audio, KIT_RATE, out_rate=rate, overwrite=True,
                          subtype=wav_format)
    ctx.progress(len(planned), len(planned), "done")
    return {"files": [str(t) for t in targets]}


def _checkpoint_present(path: str) -> bool:
    p = Path(path).expanduser()
    return p.exists() or (p.parent.is_dir() and any(p.parent.glob(p.name + ".*")))


@method("drums.check")
def check(params: api.Check, ctx: JobContext) -> dict:
    from engine.checkpoints import resolve_model

    out: dict[str, Any] = {}
    if params.action is not None:
        name = resolve_model(params, ROLES[params.action]).name
        if params.checkpoint and not _checkpoint_present(params.checkpoint):
            raise ModelNotInstalled(f"{params.action}: no checkpoint at {params.checkpoint}; "
                                    f"check the path (or `magstation models list`)")
        out["model"] = name
    if params.soundfont is not None:
        kit = _kit(params)
        if kit is None:
            raise BadInput(f"{params.soundfont}: not a usable SoundFont")
        out["soundfont"] = str(kit.path)
    return out
