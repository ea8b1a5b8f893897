"""Models: the engine side of the Models screen. Each method calls the same functions as
`magstation models ...` (engine/checkpoints.py), so the checks and messages are the CLI's."""

from __future__ import annotations

import inspect
import time

from engine import checkpoints as ck
from engine.api import models as api
from engine.context import JobContext
from engine.errors import EngineError, JobCancelled
from engine.methods import method
from engine.model_uses import uses
from engine.paths import checkpoints_dir


def _row(st: ck.CheckpointStatus) -> dict:
    info = st.info
    row = st.to_dict()
    row.update({
        "aliases": list(info.aliases),
        "size_text": info.size_text,
        "used_by": uses(info),
        "install_dir": str(info.install_dir),
        "can_pull": bool(info.url) and not info.custom and not info.shipped,
        "can_remove": st.installed and not info.shipped,
        "partial_bytes": 0 if st.installed else ck.partial_bytes(info),
    })
    return row


@method("models.list")
def list_models(params: api.List, ctx: JobContext) -> dict:
    return {"models": [_row(st) for st in ck.list_checkpoints()],
            "checkpoints_dir": str(checkpoints_dir())}


class _Rate:
    """Progress in bytes with an ETA from this run's own rate: a resumed download's bytes
    from before do not count as speed."""

    def __init__(self, ctx: JobContext, name: str, resumed_from: int) -> None:
        self.ctx, self.name, self.start = ctx, name, resumed_from
        self.t0 = time.monotonic()

    def __call__(self, done: float, total: float, message: str) -> None:
        # ck.pull labels the transfer "downloading NAME", then one "installing NAME" step
        if not message.startswith("downloading"):
            self.ctx.progress(done, total, message)
            return
        elapsed = time.monotonic() - self.t0
        got = done - self.start
        eta = (total - done) * elapsed / got if got > 0 and total > 0 and elapsed > 0 else None
        size = (f"{ck.human_size(done)} of {ck.human_size(total)}" if total
                else ck.human_size(done))
        self.ctx.progress(done, total, f"downloading {self.name}: {size}", eta_s=eta)


@method("models.pull")
def pull(params: api.Pull, ctx: JobContext) -> dict:
    info = ck.get_info(params.name)
    part = ck.partial_download(info, params.url) if info.url or params.url else None
    resumed_from = part.stat().st_size if part is not None and part.is_file() else 0
    ctx.progress(0, 0, f"starting the download of {info.name}")  # sizes come with the bytes
    try:
        path = ck.pull(info.name, url=params.url, force=params.force,
                       progress=_Rate(ctx, info.name, resumed_from))
    except EngineError:
        # A cancel stops the download at its next chunk (or its connection is cut): the
        # partial file stays for the next pull.
        if ctx.cancelled:
            raise JobCancelled(f"the pull of {info.name} was cancelled; the next pull resumes "
                               f"it", name=info.name) from None
        raise
    ctx.check_cancelled()
    return {"name": info.name, "path": str(path), "resumed_from": resumed_from}


# The CLI's import gains a `force` switch (refuse to replace without it); pass ours on when
# the function takes it. Without it, import_checkpoint replaces, i.e. behaves as force.
_IMPORT_TAKES_FORCE = "force" in inspect.signature(ck.import_checkpoint).parameters


@method("models.import")
def import_model(params: api.Import, ctx: JobContext) -> dict:
    ctx.progress(0, 1, f"importing {params.path}")
    extra = {"force": params.force} if _IMPORT_TAKES_FORCE else {}
    path = ck.import_checkpoint(params.path, params.name, family=params.family,
                                config=params.config, **extra)
    name = path.relative_to(checkpoints_dir()).parts[0]
    ctx.progress(1, 1, f"imported {name}")
    return {"name": name, "path": str(path)}


@method("models.verify")
def verify(params: api.Verify, ctx: JobContext) -> dict:
    info = ck.get_info(params.name)
    ctx.progress(0, 1, f"verifying {info.name}")
    res = ck.verify(info.name)
    ctx.progress(1, 1, f"verified {info.name}")
    fix = (f"magstation models import PATH --name {info.name}" if info.custom
           else f"{info.pull_command} --force")
    return {"name": res.name, "path": str(res.path), "ok": res.ok, "checked": res.checked,
            "problems": res.problems, "notes": res.notes, "fix": "" if res.ok else fix}


@method("models.remove")
def remove(params: api.Remove, ctx: JobContext) -> dict:
    info = ck.get_info(params.name)
    removed = ck.remove_model(info.name)
    return {"name": info.name, "removed": str(removed)}
