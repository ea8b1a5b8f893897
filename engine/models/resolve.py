"""Which checkpoint a job uses: a name from the manifest (installed with `models pull` or
`models import`), or an explicit checkpoint path with its config. No TensorFlow here."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from engine import checkpoints
from engine.api.base import ModelChoice
from engine.errors import BadRequest, ModelNotInstalled


def resolve_model(params: ModelChoice, defaults: Sequence[str]) -> tuple[str, str, Path]:
    """(model name, config, checkpoint path) for a job.

    `params.checkpoint` (+ `params.config`) names a checkpoint directly; else
    `params.model`; else the first of `defaults` that is installed. When none is, the
    error names the pull command of the first default."""
    if params.checkpoint:
        if not params.config:
            raise BadRequest("a checkpoint path needs its config, e.g. \"config\": \"cat-drums_2bar_small\"",
                             param="config")
        path = Path(params.checkpoint).expanduser()
        return params.model or path.name, params.config, path
    names = [params.model] if params.model else list(defaults)
    first_error: ModelNotInstalled | None = None
    for name in names:
        if len(names) > 1 and checkpoints.lookup(str(name)) is None:
            continue  # a default this installation's manifest does not list
        info = checkpoints.get_info(str(name))
        try:
            return info.name, info.config, checkpoints.resolve(info.name)
        except ModelNotInstalled as e:
            first_error = first_error or e
    assert first_error is not None
    raise first_error
