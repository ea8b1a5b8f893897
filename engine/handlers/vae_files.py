"""What the MusicVAE melody and trio jobs share: load the model a job names, read an
interpolation's two ends (MIDI files, or two random points drawn from the seed), and
write the results as MIDI files (atomically, inside the chosen folder), optionally also
joined into one file, one after another."""

from __future__ import annotations

from typing import Any

from engine.context import JobContext
from engine.errors import BadRequest


def load(params: Any, role: str):
    """(model, model name) for a job: params.checkpoint/config, params.model, else the
    first installed model of `role` (checkpoints/manifest [roles]), from the model pool."""
    from engine.checkpoints import resolve_model
    from engine.models import pooled

    m = resolve_model(params, role)
    return pooled.musicvae(m.config, m.path), m.name


def input_tensor(model, path: str, what: str, needs: str):
    """The first window of `path` the model can encode; BadRequest saying what it needs."""
    from engine.music.converters import converter_for
    from engine.music.midi_io import read_midi

    ns = read_midi(path, what=what)
    tensors = converter_for(model.config.name).to_tensors(ns)
    if not len(tensors):
        raise BadRequest(f"{path}: nothing the model can use; it needs {needs}", param=what)
    return tensors.inputs[0]


def chain(model, params: Any, needs: str):
    """An interpolation's decoded outputs [steps, T, depth] and its tempo: between the
    files `a` and `b`, or (neither given) two random latent points drawn from the seed."""
    import numpy as np

    from engine.music.latent import slerp_path
    from engine.music.midi_io import read_midi
    from engine.music.sequences import DEFAULT_QPM, qpm_of

    if (params.a is None) != (params.b is None):
        missing = "b" if params.b is None else "a"
        raise BadRequest(f"give both ends (a and b) or neither (two random ends); `{missing}` "
                         "is missing", param=missing)
    if params.a is None:
        z = np.random.default_rng(params.seed).standard_normal((2, model.z_size))
        path = slerp_path(z[0], z[1], params.steps).astype(np.float32)
        outputs = model.decode(path, None, params.temperature, params.seed)
        return outputs, params.qpm or DEFAULT_QPM
    a = input_tensor(model, params.a, "a", needs)
    b = input_tensor(model, params.b, "b", needs)
    outputs, _ = model.interpolate(a, b, params.steps, temperature=params.temperature,
                                   seed=params.seed)
    return outputs, params.qpm or qpm_of(read_midi(params.a, what="a"))


def joined(sequences, slot_seconds: float):
    """One sequence: `sequences` one after another, each in a slot of `slot_seconds`."""
    from note_seq import NoteSequence

    out = NoteSequence()
    out.CopyFrom(sequences[0])
    del out.notes[:]
    for i, ns in enumerate(sequences):
        for n in ns.notes:
            m = out.notes.add()
            m.CopyFrom(n)
            m.start_time += i * slot_seconds
            m.end_time += i * slot_seconds
    out.total_time = len(sequences) * slot_seconds
    return out


def write(params: Any, ctx: JobContext, sequences, *, pane: str, label: str, model: str,
          join_slot: float | None = None) -> dict[str, Any]:
    """Write one MIDI file per sequence into params.folder (else the job's own folder);
    with `join_slot`, also the chain as one file (slots of that many seconds). Every file
    that exists is reported before anything is written. {"files": [...], "joined": ...}"""
    from engine.audio.io import export_name
    from engine.music.midi_io import write_midi
    from engine.pathpolicy import planned_outputs

    folder = params.folder if params.folder else ctx.work_dir
    assert folder is not None
    overwrite = params.overwrite
    names = [export_name(pane, model, params.seed, "mid", label=f"{label}{i + 1}")
             for i in range(len(sequences))]
    seqs = list(sequences)
    if join_slot is not None:
        names.append(export_name(pane, model, params.seed, "mid", label="chain"))
        seqs.append(joined(sequences, join_slot))
    paths = planned_outputs(folder, names, overwrite=overwrite, what="name")
    written = []
    for path, ns in zip(paths, seqs):
        write_midi(ns, path, overwrite=overwrite)
        written.append({"path": str(path), "notes": len(ns.notes)})
    if join_slot is not None:
        return {"files": written[:-1], "joined": written[-1]}
    return {"files": written}


def slot_seconds(model, qpm: float) -> float:
    """How long one decoded sequence lasts: max_seq_len 16th notes at `qpm`."""
    return model.max_seq_len / 4 * 60.0 / qpm
