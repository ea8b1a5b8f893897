"""Melody jobs with MusicVAE cat-mel_2bar_big: sample and interpolate 2-bar melodies.
Results are MIDI files (written atomically into `folder`, or the job's own folder)."""

from __future__ import annotations

from engine.api import melody as api
from engine.context import JobContext
from engine.handlers import vae_files
from engine.methods import method

SAMPLE_ROLE, INTERPOLATE_ROLE = "melody.sample", "melody.interpolate"  # checkpoints/manifest [roles]
NEEDS = "a 2-bar monophonic melody in 4/4 (the first 2 bars are used when longer)"


@method("melody.sample")
def sample(params: api.Sample, ctx: JobContext) -> dict:
    """Sample n 2-bar melodies at a temperature; writes one MIDI file each."""
    from engine.music.converters import converter_for

    n, temperature, qpm = params.n, params.temperature, params.qpm
    ctx.progress(0, 2, "loading the model")
    model, name = vae_files.load(params, SAMPLE_ROLE)
    ctx.progress(1, 2, "sampling")
    outputs, _ = model.sample(n, temperature=temperature, seed=params.seed)
    seqs = converter_for(model.config.name).from_tensors(outputs, qpm=qpm)
    written = vae_files.write(params, ctx, seqs, pane="melody", label="sample", model=name)
    ctx.progress(2, 2, "done")
    return {**written, "seed": params.seed, "model": name, "temperature": temperature,
            "qpm": qpm}


@method("melody.interpolate")
def interpolate(params: api.Interpolate, ctx: JobContext) -> dict:
    """Interpolate between two melody MIDI files (a, b), or two random melodies, in
    `steps` melodies."""
    from engine.music.converters import converter_for

    ctx.progress(0, 2, "loading the model")
    model, name = vae_files.load(params, INTERPOLATE_ROLE)
    ctx.progress(1, 2, "interpolating")
    outputs, qpm = vae_files.chain(model, params, NEEDS)
    seqs = converter_for(model.config.name).from_tensors(outputs, qpm=qpm)
    slot = vae_files.slot_seconds(model, qpm) if params.join else None
    written = vae_files.write(params, ctx, seqs, pane="melody", label="step", model=name,
                              join_slot=slot)
    ctx.progress(2, 2, "done")
    return {**written, "seed": params.seed, "model": name, "temperature": params.temperature,
            "qpm": qpm}
