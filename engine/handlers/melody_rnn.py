"""`melody.continue`: continue a melody with MelodyRNN (basic_rnn, lookback_rnn,
attention_rnn `.mag` bundles; the default is the first of those installed) or a
performance with PerformanceRNN (`model: performance_with_dynamics`). The primer is a MIDI
file or a list of notes; the result is the continuation's notes, and a MIDI file
(primer + continuation, as magenta writes it) in `folder`, at `path`, or in the job's own
folder. Lengths are in 16th notes (`steps`) or bars of 16 at the primer's tempo."""

from __future__ import annotations

import functools
from pathlib import Path

from engine.api import melody as api
from engine.context import JobContext
from engine.errors import BadRequest
from engine.methods import method
from engine.pathpolicy import output_file, output_path

# Official bundles first; the project's starter model when none is installed.
MELODY_RNN_MODELS = ("attention_rnn", "basic_rnn", "lookback_rnn", "starter-attention_rnn")


@functools.lru_cache(maxsize=4)
def _load_cached(path: str, mtime: float, size: int, config: str | None, name: str):
    from engine.models.melody_rnn import MelodyRnn

    return MelodyRnn.load(path, config, name)


def load_model(params: api.Continue):
    """The MelodyRnn for `checkpoint` (a .mag path, config from the bundle unless `config`)
    or `model` (an installed name), else the first installed default."""
    from engine.models.resolve import resolve_model

    if params.checkpoint:
        path = Path(params.checkpoint).expanduser()
        config, name = params.config, params.model or path.stem
        if not path.is_file():
            raise BadRequest(f"{path}: no such .mag bundle")
    else:
        name, config, path = resolve_model(params, MELODY_RNN_MODELS)
    st = path.stat()
    return _load_cached(str(path), st.st_mtime, st.st_size, config, name)


def _primer(params: api.Continue):
    from engine.models.melody_rnn import sequence_from_notes
    from engine.music.midi_io import read_midi

    if isinstance(params.primer, str):
        return read_midi(params.primer, what="primer")
    return sequence_from_notes(params.primer, params.qpm)


def _steps(params: api.Continue) -> int:
    if params.steps is not None and params.bars is not None:
        raise BadRequest("give `bars` or `steps`, not both", param="steps")
    if params.steps is not None:
        return params.steps
    return 16 * (params.bars if params.bars is not None else 4)


def _output_path(params: api.Continue, ctx: JobContext, model: str) -> Path:
    from engine.audio.io import export_name

    overwrite = params.overwrite
    if params.path:  # its folder must exist; nothing replaced unless `overwrite`
        return output_path(params.path, overwrite=overwrite, what="path")
    folder = params.folder if params.folder else ctx.work_dir
    assert folder is not None
    return output_file(folder, export_name("melody", model, params.seed, "mid",
                                           label="continue"), overwrite=overwrite)


@method("melody.continue")
def continue_melody(params: api.Continue, ctx: JobContext) -> dict:
    """Continue a primer melody for `bars` (default 4) or `steps` 16th notes."""
    from engine.music.midi_io import write_midi

    steps = _steps(params)
    temperature = params.temperature
    primer = _primer(params)
    ctx.progress(0, 2, "loading the model")
    model = load_model(params)
    out = _output_path(params, ctx, model.name)
    ctx.progress(1, 2, "generating")
    result = model.continue_sequence(
        primer, steps, temperature, params.seed,
        progress=lambda done, total: ctx.progress(1 + done / max(total, 1), 2, "generating"))
    write_midi(result.sequence, out, overwrite=params.overwrite)
    ctx.progress(2, 2, "done")
    return {"notes": result.note_rows(), "file": str(out), "warnings": result.warnings,
            "seed": params.seed, "model": model.name, "config": model.config,
            "temperature": temperature, "steps": steps, "start_time": result.start_time}
