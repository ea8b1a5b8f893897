"""Training runs from the engine: `train.start` launches `magstation train melody` as a
process of its own (a run record of kind `train`, engine/batch/runs.py), `train.stop`
sends it SIGTERM, which saves a checkpoint and the bundle as Ctrl-C does."""

from __future__ import annotations

import signal
from pathlib import Path

from engine import paths, pathpolicy
from engine.api import train as api
from engine.batch import runs
from engine.context import JobContext
from engine.errors import BadInput, BadRequest
from engine.methods import method


SCAN = 20_000  # folder entries `train.start` looks at for a MIDI file
CLI = "import sys; from engine.cli import main; sys.exit(main(sys.argv[1:]))"  # `magstation`


def _absolute(text: str, param: str, what: str) -> Path:
    p = Path(text).expanduser()
    if not p.is_absolute():
        raise BadRequest(f"{text!r} is not an absolute path; give the full path of {what}",
                         param=param)
    return p


def data_folder(text: str) -> Path:
    data = _absolute(text, "data", "the folder of MIDI files")
    if not data.is_dir():
        raise BadInput(f"{data}: no such folder (`data`); give a folder of .mid/.midi files",
                       path=str(data), param="data")
    if _has_midi(data) is False:
        raise BadInput(f"{data} holds no .mid/.midi files, subfolders included (`data`); "
                       "choose the folder of your MIDI files", path=str(data), param="data")
    return data.resolve()


def _has_midi(folder: Path) -> bool | None:
    """Whether `folder` (subfolders too) holds a MIDI file; None when it is too big to look
    through in a request (a request must not walk a whole disk: the trainer checks it)."""
    try:
        for i, f in enumerate(folder.rglob("*")):
            if i >= SCAN:
                return None
            if f.suffix.lower() in (".mid", ".midi"):
                return True
    except OSError:
        return None
    return False


def default_name(data: Path, config: str) -> str:
    stem = "".join(c if c.isalnum() or c in "._-" else "-" for c in data.name).strip("-._")
    return f"{stem or 'melodies'}-{config}"


@method("train.start")
def start(params: api.Start, ctx: JobContext) -> dict:
    data = data_folder(params.data)
    name = params.name or default_name(data, params.config)
    out = (_absolute(params.out, "out", "the run folder") if params.out
           else paths.home() / "training" / name)
    # the run folder: made if only its last part is missing; the bundle may be rewritten
    bundle = pathpolicy.output_file(out, f"{params.config}.mag", overwrite=True,
                                    what="config", folder_what="out")
    out = bundle.parent.resolve()
    if (busy := runs.running(out, runs.TRAIN)) is not None:
        raise BadRequest(f"a training run is already going into {out} (pid {busy.get('pid')}); "
                         "stop it first or choose another `out`", param="out")
    argv = ["-c", CLI, "train", "melody", "--data", str(data), "--config", params.config,
            "--steps", str(params.steps), "--out", str(out), "--name", name]
    if params.layers:
        argv += ["--layers", *map(str, params.layers)]
    if params.batch_size:
        argv += ["--batch-size", str(params.batch_size)]
    if params.max_len:
        argv += ["--max-len", str(params.max_len)]
    log = runs.log_path(out, runs.TRAIN)
    proc = runs.launch(argv, log, cwd=data)
    return {"pid": proc.pid, "name": name, "out": str(out), "bundle": str(out / bundle.name),
            "log": str(log), "key": runs.run_key(out, runs.TRAIN)}


@method("train.stop")
def stop(params: api.Stop, ctx: JobContext) -> dict:
    # SIGTERM: a background process ignores SIGINT; the trainer saves on either
    return runs.stop_run(_absolute(params.out, "out", "the run folder").resolve(), runs.TRAIN,
                         "training run", signal.SIGTERM)
