"""Melody jobs with MusicVAE cat-mel_2bar_big: sample and interpolate 2-bar melodies.
Results are MIDI files (written atomically into `folder`, or the job's own folder)."""

from __future__ import annotations


from engine.context import JobContext
from engine.errors import BadRequest
from engine.handlers.drums import TEMPERATURE_RANGE
from engine.methods import method
from engine.params import integer, number
from engine.pathpolicy import planned_outputs

MELODY_MODELS = ("cat-mel_2bar_big",)
NEEDS = "a 2-bar monophonic melody in 4/4 (the first 2 bars are used when longer)"


def _load(params: dict):
    from engine.models.musicvae import MusicVae
    from engine.models.resolve import resolve_model

    name, config, path = resolve_model(params, MELODY_MODELS)
    return MusicVae.load(config, str(path)), name


def _write(params: dict, ctx: JobContext, sequences, label: str, model: str) -> list[dict]:
    from engine.audio.io import export_name
    from engine.music.midi_io import write_midi

    folder = params["folder"] if params.get("folder") else ctx.work_dir
    assert folder is not None
    overwrite = bool(params.get("overwrite", False))
    names = [export_name("melody", model, params["seed"], "mid", label=f"{label}{i + 1}")
             for i in range(len(sequences))]
    # inside `folder` only; every existing file is reported before anything is written
    paths = planned_outputs(folder, names, overwrite=overwrite, what="name")
    files = []
    for path, ns in zip(paths, sequences):
        write_midi(ns, path, overwrite=overwrite)
        files.append({"path": str(path), "notes": len(ns.notes)})
    return files


def _melody_input(model, path: str, what: str):
    from engine.music.converters import converter_for
    from engine.music.midi_io import read_midi

    ns = read_midi(path, what=what)
    tensors = converter_for(model.config.name).to_tensors(ns)
    if not len(tensors):
        raise BadRequest(f"{path}: nothing the model can use; it needs {NEEDS}")
    return tensors.inputs[0]


@method("melody.sample", seeded=True)
def sample(params: dict, ctx: JobContext) -> dict:
    """Sample n 2-bar melodies at a temperature; writes one MIDI file each."""
    from engine.music.converters import converter_for

    n = integer(params, "n", 1, 1, 64)
    temperature = number(params, "temperature", 1.0, *TEMPERATURE_RANGE)
    qpm = number(params, "qpm", 120.0, 20, 400)
    ctx.progress(0, 2, "loading the model")
    model, name = _load(params)
    ctx.progress(1, 2, "sampling")
    outputs, _ = model.sample(n, temperature=temperature, seed=params["seed"])
    seqs = converter_for(model.config.name).from_tensors(outputs, qpm=qpm)
    files = _write(params, ctx, seqs, "sample", name)
    ctx.progress(2, 2, "done")
    return {"files": files, "seed": params["seed"], "model": name, "temperature": temperature}


@method("melody.interpolate", seeded=True)
def interpolate(params: dict, ctx: JobContext) -> dict:
    """Interpolate between two melody MIDI files (a, b) in `steps` melodies."""
    from engine.music.converters import converter_for
    from engine.music.midi_io import read_midi
    from engine.music.sequences import qpm_of

    steps = integer(params, "steps", 6, 2, 16)
    temperature = number(params, "temperature", 0.5, *TEMPERATURE_RANGE)
    for key in ("a", "b"):
        if not isinstance(params.get(key), str):
            raise BadRequest(f"melody.interpolate needs `{key}`: the path of a MIDI file")
    ctx.progress(0, 2, "loading the model")
    model, name = _load(params)
    a, b = _melody_input(model, params["a"], "a"), _melody_input(model, params["b"], "b")
    ctx.progress(1, 2, "interpolating")
    outputs, _ = model.interpolate(a, b, steps, temperature=temperature, seed=params["seed"])
    qpm = qpm_of(read_midi(params["a"], what="a"))
    seqs = converter_for(model.config.name).from_tensors(outputs, qpm=qpm)
    files = _write(params, ctx, seqs, "step", name)
    ctx.progress(2, 2, "done")
    return {"files": files, "seed": params["seed"], "model": name, "temperature": temperature}
