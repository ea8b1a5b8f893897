"""Trio jobs with MusicVAE hierdec-trio_16bar: sample and interpolate 16-bar trios of
melody (program 0), bass (program 33) and drums (channel 10). Results are MIDI files,
written atomically into `folder` (or the job's own folder)."""

from __future__ import annotations

from engine.api import trio as api
from engine.context import JobContext
from engine.handlers import vae_files
from engine.methods import method

SAMPLE_ROLE, INTERPOLATE_ROLE = "trio.sample", "trio.interpolate"  # checkpoints/manifest [roles]
NEEDS = ("16 bars of 4/4 with a melody (programs 0-31), a bass (programs 32-39) and drums "
         "(channel 10)")


@method("trio.sample")
def sample(params: api.Sample, ctx: JobContext) -> dict:
    """Sample n 16-bar trios at a temperature; writes one MIDI file each."""
    from engine.music.converters import converter_for

    ctx.progress(0, 2, "loading the model")
    model, name = vae_files.load(params, SAMPLE_ROLE)
    ctx.progress(1, 2, "sampling 16 bars")
    outputs, _ = model.sample(params.n, temperature=params.temperature, seed=params.seed)
    seqs = converter_for(model.config.name).from_tensors(outputs, qpm=params.qpm)
    written = vae_files.write(params, ctx, seqs, pane="trio", label="sample", model=name)
    ctx.progress(2, 2, "done")
    return {**written, "seed": params.seed, "model": name, "temperature": params.temperature,
            "qpm": params.qpm}


@method("trio.interpolate")
def interpolate(params: api.Interpolate, ctx: JobContext) -> dict:
    """Interpolate between the trios of two MIDI files (a, b), or two random trios, in
    `steps` trios of 16 bars."""
    from engine.music.converters import converter_for

    ctx.progress(0, 2, "loading the model")
    model, name = vae_files.load(params, INTERPOLATE_ROLE)
    ctx.progress(1, 2, f"interpolating {params.steps} trios")
    outputs, qpm = vae_files.chain(model, params, NEEDS)
    seqs = converter_for(model.config.name).from_tensors(outputs, qpm=qpm)
    slot = vae_files.slot_seconds(model, qpm) if params.join else None
    written = vae_files.write(params, ctx, seqs, pane="trio", label="step", model=name,
                              join_slot=slot)
    ctx.progress(2, 2, "done")
    return {**written, "seed": params.seed, "model": name, "temperature": params.temperature,
            "qpm": qpm}
