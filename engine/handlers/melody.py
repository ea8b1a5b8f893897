"""Melody jobs with MusicVAE cat-mel_2bar_big: sample and interpolate 2-bar melodies.
Results are MIDI files (written atomically into `folder`, or the job's own folder)."""

from __future__ import annotations


from engine.api import melody as api
from engine.context import JobContext
from engine.errors import BadRequest
from engine.methods import method
from engine.pathpolicy import planned_outputs

SAMPLE_ROLE, INTERPOLATE_ROLE = "melody.sample", "melody.interpolate"  # checkpoints/manifest [roles]
NEEDS = "a 2-bar monophonic melody in 4/4 (the first 2 bars are used when longer)"


def _load(params: api.Sample | api.Interpolate, role: str):
    from engine.checkpoints import resolve_model
    from engine.models import pooled

    m = resolve_model(params, role)
    return pooled.musicvae(m.config, m.path), m.name


def _write(params: api.Sample | api.Interpolate, ctx: JobContext, sequences, label: str,
           model: str) -> list[dict]:
    from engine.audio.io import export_name
    from engine.music.midi_io import write_midi

    folder = params.folder if params.folder else ctx.work_dir
    assert folder is not None
    overwrite = params.overwrite
    names = [export_name("melody", model, params.seed, "mid", label=f"{label}{i + 1}")
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


@method("melody.sample")
def sample(params: api.Sample, ctx: JobContext) -> dict:
    """Sample n 2-bar melodies at a temperature; writes one MIDI file each."""
    from engine.music.converters import converter_for

    n, temperature, qpm = params.n, params.temperature, params.qpm
    ctx.progress(0, 2, "loading the model")
    model, name = _load(params, SAMPLE_ROLE)
    ctx.progress(1, 2, "sampling")
    outputs, _ = model.sample(n, temperature=temperature, seed=params.seed)
    seqs = converter_for(model.config.name).from_tensors(outputs, qpm=qpm)
    files = _write(params, ctx, seqs, "sample", name)
    ctx.progress(2, 2, "done")
    return {"files": files, "seed": params.seed, "model": name, "temperature": temperature}


@method("melody.interpolate")
def interpolate(params: api.Interpolate, ctx: JobContext) -> dict:
    """Interpolate between two melody MIDI files (a, b) in `steps` melodies."""
    from engine.music.converters import converter_for
    from engine.music.midi_io import read_midi
    from engine.music.sequences import qpm_of

    steps, temperature = params.steps, params.temperature
    ctx.progress(0, 2, "loading the model")
    model, name = _load(params, INTERPOLATE_ROLE)
    a, b = _melody_input(model, params.a, "a"), _melody_input(model, params.b, "b")
    ctx.progress(1, 2, "interpolating")
    outputs, _ = model.interpolate(a, b, steps, temperature=temperature, seed=params.seed)
    qpm = qpm_of(read_midi(params.a, what="a"))
    seqs = converter_for(model.config.name).from_tensors(outputs, qpm=qpm)
    files = _write(params, ctx, seqs, "step", name)
    ctx.progress(2, 2, "done")
    return {"files": files, "seed": params.seed, "model": name, "temperature": temperature}
