"""Models: list what is installed and what can be, pull, import, verify and remove
checkpoints (the same code as `magstation models ...`)."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

from engine.api.base import Params, Path_, declare

ModelName = Annotated[str, Meta(min_length=1, max_length=200,
                                description="a checkpoint name from `models.list`")]
Family = Literal["musicvae", "gansynth", "nsynth", "melody_rnn"]


@declare("models.list", job=False, cacheable=False)
class List(Params, kw_only=True):
    """Every known checkpoint, installed or not, then the ones imported by hand: family,
    config, size (download or on disk), what in magstation uses it, where it lives, and
    the bytes of an interrupted download the next pull resumes."""


@declare("models.pull", cacheable=False, transfer=True)
class Pull(Params, kw_only=True):
    """Download and install a checkpoint, with progress in bytes (`done`/`total`) and ETA.
    Cancelling keeps the partial download; the next pull resumes it."""
    name: ModelName
    url: Annotated[str, Meta(min_length=1, max_length=4096,
                             description="download from this mirror instead of the manifest's URL")] | None = None
    force: Annotated[bool, Meta(description="download again even if installed")] = False


@declare("models.import", cacheable=False, transfer=True)
class Import(Params, kw_only=True):
    """Install a checkpoint from a folder, a checkpoint prefix, a .tar/.tar.gz/.zip or a
    .mag file on the engine's machine, with the same checks as `magstation models import`."""
    path: Path_
    name: ModelName | None = None
    family: Annotated[Family, Meta(description="model family, for names the manifest does not know")] | None = None
    config: Annotated[str, Meta(min_length=1, max_length=200,
                                description="model config, for names the manifest does not know")] | None = None
    force: Annotated[bool, Meta(description="replace a model already installed under that name")] = False


@declare("models.verify", cacheable=False, transfer=True)
class Verify(Params, kw_only=True):
    """Check an installed checkpoint: its files complete, every variable its config needs
    present with the right shape and readable."""
    name: ModelName


@declare("models.remove", job=False, cacheable=False)
class Remove(Params, kw_only=True):
    """Delete an installed checkpoint (and any partial download of it). The starter models
    that ship with magstation cannot be removed."""
    name: ModelName
