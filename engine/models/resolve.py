"""Which checkpoint a job uses. The resolver itself is `engine.checkpoints.resolve_model`
(one for every family, with the manifest's roles); this keeps the older tuple form for
callers that have not moved. No TensorFlow here."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from engine import checkpoints
from engine.api.base import ModelChoice


def resolve_model(params: ModelChoice, defaults: str | Sequence[str]) -> tuple[str, str, Path]:
    """(model name, config, checkpoint path) for a job: `defaults` is a role name from the
    manifest ("melody.sample") or a list of model names, best first."""
    m = checkpoints.resolve_model(params, defaults)
    return m.name, m.config, m.path
