"""Training runs in the background: `train.start` runs `magstation train melody` as a
process of its own (never on the engine's model worker); its progress (step/total, loss,
ETA) comes as `batches` events, as a batch's does (records of kind `train`)."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

from engine.api.base import Params, declare

Folder = Annotated[str, Meta(min_length=1, max_length=4096, description="a folder path")]
MelodyConfig = Literal["attention_rnn", "basic_rnn", "lookback_rnn"]


@declare("train.start", job=False, cacheable=False)
class Start(Params, kw_only=True):
    """Start `magstation train melody --data DATA --config CONFIG --steps STEPS --out OUT`
    in the background. An earlier run in OUT is resumed; `train.stop` (or SIGTERM) saves
    a resumable checkpoint and the bundle OUT/CONFIG.mag. Its output goes to a log next to
    its record (`log` in the result)."""
    data: Annotated[str, Meta(min_length=1, max_length=4096,
                              description="the folder of .mid/.midi files (absolute)")]
    config: MelodyConfig = "attention_rnn"
    steps: Annotated[int, Meta(ge=1, le=10_000_000, description="total training steps")]
    out: Annotated[Folder, Meta(description="the run folder (absolute); default "
                                            "$MAGSTATION_HOME/training/NAME")] | None = None
    name: Annotated[str, Meta(min_length=1, max_length=100,
                              pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                              description="the run's name in the job list and the model "
                                          "name offered on install; default the data "
                                          "folder's name and the config")] | None = None
    layers: Annotated[list[Annotated[int, Meta(ge=1, le=4096)]],
                      Meta(min_length=1, max_length=8,
                           description="LSTM layer widths (default 128 128)")] | None = None
    batch_size: Annotated[int, Meta(ge=1, le=4096, description="default 128")] | None = None
    max_len: Annotated[int, Meta(ge=16, le=4096, description="longest training window in "
                                                             "16th steps (default 512)")] | None = None


@declare("train.stop", job=False, cacheable=False)
class Stop(Params, kw_only=True):
    """Stop a running training run as Ctrl-C would: it saves a checkpoint and the bundle;
    starting it again resumes."""
    out: Folder
