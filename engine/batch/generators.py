"""Generators: the common batch shapes, expanded into method calls (engine/batch/plan.py).

- nsynth_grid: 2-4 sounds, at `pitches`, blended on an N x N grid of the XY pad, `seconds`
  long, one `seed`. Each source is pitch-shifted (resampled from `base_pitch`) and cut or
  padded to `seconds` into <output>/sources/ first; then the grid's cells are packed 16 to
  an `nsynth.synth` call, because NSynth synthesizes a batch of voices at once much
  faster per voice. Corners: 4 sounds top-left, top-right, bottom-left, bottom-right;
  3 sounds a, b, c, a; 2 sounds a, b, b, a (a diagonal blend).
  A voice's random draws depend on its place in its call, so packing is part of the plan,
  never of the scheduler: the same plan gives the same bytes however it is run.
- gansynth_renders: every MIDI file of a folder (or the files listed) x instruments: random
  ones from `seeds`, and/or saved keyframes (`keyframes`: JSON files, a list of
  {time, seed|z} or {"keyframes": [...]}), one `gansynth.render` each.
- drum_bank / melody_bank: `count` patterns/melodies at each of `temperatures` from `seed`
  (at most 64 per call: larger counts use seed, seed+1, ...); drum patterns are also
  written as MIDI files (drums.export, one file per pattern).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from engine.api.base import SEED_MAX
from engine.batch.plan import Task, Then
from engine.errors import BadInput, BadRequest

MAX_PER_CALL = 16  # nsynth.synth's batch
BANK_PER_CALL = 64  # drums/melody.sample's n
RATE = 16000

GenName = Annotated[str, Meta(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")]
Seed = Annotated[int, Meta(ge=0, le=SEED_MAX)]
Temps = Annotated[list[Annotated[float, Meta(ge=0.0, le=2.0)]], Meta(min_length=1, max_length=64)]


class _Spec(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class NSynthGrid(_Spec, kw_only=True):
    sounds: Annotated[list[str], Meta(min_length=2, max_length=4)]
    pitches: Annotated[list[Annotated[int, Meta(ge=0, le=127)]], Meta(min_length=1, max_length=128)] = msgspec.field(default_factory=lambda: [60])
    base_pitch: Annotated[int, Meta(ge=0, le=127)] = 60
    grid: Annotated[int, Meta(ge=2, le=16)] = 3
    seconds: Annotated[float, Meta(ge=0.032, le=60.0)] = 1.0  # 0.032 s: one NSynth frame
    seed: Seed = 0
    checkpoint: str | None = None
    name: GenName = "grid"


class GansynthRenders(_Spec, kw_only=True):
    midi: str | list[str]
    seeds: Annotated[list[Seed], Meta(max_length=1024)] = []
    keyframes: Annotated[list[str], Meta(max_length=1024)] = []
    model: str | None = None
    checkpoint: str | None = None
    tracks: list[int] | None = None
    secs_per_instrument: float | None = None
    batch_size: int | None = None
    name: GenName = "render"


class Bank(_Spec, kw_only=True):
    temperatures: Temps = msgspec.field(default_factory=lambda: [1.0])
    count: Annotated[int, Meta(ge=1, le=100_000)] = 4
    seed: Seed = 0
    model: str | None = None
    checkpoint: str | None = None
    config: str | None = None
    qpm: float | None = None
    name: GenName | None = None


SPECS: dict[str, type[_Spec]] = {"nsynth_grid": NSynthGrid, "gansynth_renders": GansynthRenders,
                                 "drum_bank": Bank, "melody_bank": Bank}


def _abs(p: str | None, base: Path) -> str | None:
    if p is None:
        return None
    q = Path(p).expanduser()
    return str(q if q.is_absolute() else (base / q).resolve())


def _maybe_path(p: str | None, base: Path) -> str | None:
    """A checkpoint: a path if it looks like one (or exists next to the plan), else a name."""
    if p is None:
        return None
    q = Path(p).expanduser()
    if q.is_absolute() or "/" in p or (base / q).exists():
        return _abs(p, base)
    return p


def expand(kind: str, raw: dict[str, Any], *, base: Path, output: Path | None) -> list[Task]:
    try:
        spec = msgspec.convert(raw, SPECS[kind], strict=True)
    except msgspec.ValidationError as e:
        raise BadRequest(f"[[{kind}]]: {e}", param=kind) from None
    return {"nsynth_grid": nsynth_grid, "gansynth_renders": gansynth_renders,
            "drum_bank": drum_bank, "melody_bank": melody_bank}[kind](spec, base=base, output=output)


# -- NSynth grid ------------------------------------------------------------------------

def pitch_shift(audio, semitones: float):
    """Resample by 2^(semitones/12): higher and shorter (or lower and longer);
    band-limited (libsoxr), so a shift up does not alias."""
    from engine.audio.io import repitch

    return repitch(audio, semitones)


def prepare_source(sound: str, pitch: int, spec: NSynthGrid, folder: Path) -> str:
    """<folder>/<stem>_p<pitch>.wav: the sound at `pitch`, exactly `seconds` long (float
    WAV, 16 kHz, the same bytes every time). Rewritten only when its content would change."""
    import io

    import numpy as np
    from scipy.io import wavfile

    from engine.audio.io import load_audio
    from engine.fsutil import atomic_write_bytes
    from engine.pathpolicy import output_file

    audio = load_audio(sound, what="sounds")
    shifted = pitch_shift(audio, pitch - spec.base_pitch)
    n = int(round(spec.seconds * RATE))
    out = np.zeros(n, np.float32)
    out[: min(n, len(shifted))] = shifted[:n]
    buf = io.BytesIO()
    wavfile.write(buf, RATE, out)  # float32 WAV; soundfile's would carry a dated PEAK chunk
    data = buf.getvalue()
    target = output_file(folder, f"{Path(sound).stem}_p{pitch:03d}.wav", overwrite=True,
                         what="sounds")
    if not (target.is_file() and target.read_bytes() == data):
        atomic_write_bytes(target, data)
    return str(target)


def grid_cells(n: int) -> list[tuple[int, int, list[float]]]:
    """(row, column, [x, y]) of an n x n grid over the pad, row by row."""
    return [(r, c, [c / (n - 1), r / (n - 1)]) for r in range(n) for c in range(n)]


def corners(sources: list[str]) -> list[str]:
    if len(sources) == 4:
        return list(sources)
    if len(sources) == 3:
        return [sources[0], sources[1], sources[2], sources[0]]
    return [sources[0], sources[1], sources[1], sources[0]]


def nsynth_grid(spec: NSynthGrid, *, base: Path, output: Path | None) -> list[Task]:
    if output is None:
        raise BadRequest("an nsynth_grid needs the output folder (--out) for its pitched sources")
    sounds = [_abs(s, base) for s in spec.sounds]
    for s in sounds:
        if not Path(s).is_file():
            raise BadInput(f"{s}: no such sound (nsynth_grid.sounds)", path=s)
    from engine.pathpolicy import work_folder

    src_dir = work_folder(output) / "sources"
    ckpt = _maybe_path(spec.checkpoint, base)
    tasks = []
    for pitch in spec.pitches:
        pitched = [prepare_source(s, pitch, spec, src_dir) for s in sounds]
        cells = grid_cells(spec.grid)
        for k in range(0, len(cells), MAX_PER_CALL):
            chunk = cells[k:k + MAX_PER_CALL]
            params: dict[str, Any] = {
                "mixes": [{"sources": corners(pitched), "xy": xy} for _, _, xy in chunk],
                "names": [f"{spec.name}_p{pitch:03d}_r{r}_c{c}" for r, c, _ in chunk],
                "seed": spec.seed}
            if ckpt:
                params["checkpoint"] = ckpt
            tasks.append(Task(id=f"{spec.name}-p{pitch:03d}-{k // MAX_PER_CALL:02d}",
                              method="nsynth.synth", params=params))
    return tasks


# -- GANSynth renders -------------------------------------------------------------------

def _midi_files(spec: GansynthRenders, base: Path) -> list[str]:
    items = [spec.midi] if isinstance(spec.midi, str) else list(spec.midi)
    files: list[str] = []
    for item in items:
        p = Path(_abs(item, base))
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.suffix.lower() in (".mid", ".midi") and q.is_file())
            if not found:
                raise BadInput(f"{p}: no .mid files in this folder (gansynth_renders.midi)", path=str(p))
            files += [str(q) for q in found]
        elif p.is_file():
            files.append(str(p))
        else:
            raise BadInput(f"{p}: no such MIDI file or folder (gansynth_renders.midi)", path=str(p))
    return files


def _load_keyframes(path: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise BadInput(f"{path}: cannot read saved keyframes ({e}); expected JSON, a list of "
                       "{time, seed|z}", path=path) from None
    keys = data.get("keyframes") if isinstance(data, dict) else data
    if not isinstance(keys, list) or not keys:
        raise BadInput(f"{path}: no keyframes in this file; expected a list of {{time, seed|z}}",
                       path=path)
    return keys


def gansynth_renders(spec: GansynthRenders, *, base: Path, output: Path | None) -> list[Task]:
    if not spec.seeds and not spec.keyframes:
        raise BadRequest("gansynth_renders needs instruments: `seeds` and/or `keyframes` files",
                         param="seeds")
    instruments: list[tuple[str, dict[str, Any]]] = [(f"s{s}", {"seed": s}) for s in spec.seeds]
    for k in spec.keyframes:
        path = _abs(k, base)
        instruments.append((f"k-{Path(path).stem}", {"keyframes": _load_keyframes(path)}))
    common: dict[str, Any] = {"checkpoint": _maybe_path(spec.checkpoint, base), "model": spec.model,
                              "tracks": spec.tracks, "secs_per_instrument": spec.secs_per_instrument,
                              "batch_size": spec.batch_size}
    common = {k: v for k, v in common.items() if v is not None}
    tasks = []
    for midi in _midi_files(spec, base):
        stem = Path(midi).stem
        for label, inst in instruments:
            tid = _safe(f"{spec.name}-{stem}-{label}")
            tasks.append(Task(id=tid, method="gansynth.render",
                              params={"midi": midi, **common, **inst, "output": f"{_safe(stem)}.wav"}))
    return tasks


def _safe(s: str) -> str:
    out = "".join(c if c.isalnum() or c in "_.+-" else "_" for c in s)
    return (out if out[:1].isalnum() else "x" + out)[:120]


# -- banks ------------------------------------------------------------------------------

def _bank(spec: Bank, base: Path, method: str, default_name: str) -> list[Task]:
    common: dict[str, Any] = {"checkpoint": _maybe_path(spec.checkpoint, base), "model": spec.model,
                              "config": spec.config, "qpm": spec.qpm}
    common = {k: v for k, v in common.items() if v is not None}
    name = spec.name or default_name
    tasks = []
    for t in spec.temperatures:
        for k in range(0, spec.count, BANK_PER_CALL):
            n = min(BANK_PER_CALL, spec.count - k)
            seed = (spec.seed + k // BANK_PER_CALL) % (SEED_MAX + 1)
            suffix = f"-{k // BANK_PER_CALL:03d}" if spec.count > BANK_PER_CALL else ""
            then = None
            if method == "drums.sample":
                then = Then(method="drums.export", take=["patterns"],
                            params={"per_pattern": True, "name": f"{name}-t{t:g}-s{seed}"})
            tasks.append(Task(id=f"{name}-t{t:g}{suffix}", method=method, then=then,
                              params={**common, "n": n, "temperature": t, "seed": seed}))
    return tasks


def drum_bank(spec: Bank, *, base: Path, output: Path | None) -> list[Task]:
    return _bank(spec, base, "drums.sample", "drums")


def melody_bank(spec: Bank, *, base: Path, output: Path | None) -> list[Task]:
    return _bank(spec, base, "melody.sample", "melody")
