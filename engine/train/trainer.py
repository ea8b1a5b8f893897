"""The training loop: Adam as TF1's AdamOptimizer, checkpoints in the official format.

    result = train(TrainOptions(data=Path("midi/groove"), config="cat-drums_2bar_small",
                                steps=3000, out=Path("runs/drums"), width="small"))

A checkpoint is `OUT/model.ckpt-STEP.{index,data-00000-of-00001}` written with the
SaveV2 op under the official variable names, plus TF1's training variables
(`<var>/Adam`, `<var>/Adam_1`, `beta1_power`, `beta2_power`, `global_step`), and a
`checkpoint` state file naming the latest; so `MusicVae.load(config, OUT)` and
`tf.train.load_checkpoint` read it like a released one. `OUT/train.json` records the
settings; running again with the same OUT resumes from the latest checkpoint.

Ctrl-C (KeyboardInterrupt, also when raised by the progress callback) saves the current
step and returns with `interrupted=True`.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from engine.errors import BadInput
from engine.fsutil import atomic_write_text

CKPT_NAME = "model.ckpt"
STATE_FILE = "checkpoint"
SETTINGS_FILE = "train.json"
KEEP_CHECKPOINTS = 2

# progress(step, total_steps, metrics) — may raise KeyboardInterrupt to stop.
TrainProgress = Callable[[int, int, dict[str, float]], None]


@dataclass
class TrainOptions:
    data: Path
    config: str
    steps: int
    out: Path
    width: str = "small"
    batch_size: int | None = None
    seed: int = 0
    save_every: int = 250
    limit_files: int | None = None
    free_bits: float | None = None
    max_beta: float | None = None
    dropout_keep: float | None = None


@dataclass
class TrainResult:
    out: Path
    step: int
    checkpoint: Path | None
    interrupted: bool = False
    seconds: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)


def latest_checkpoint(out: Path) -> Path | None:
    """The prefix named by OUT/checkpoint when its files exist."""
    state = Path(out) / STATE_FILE
    if not state.is_file():
        return None
    for line in state.read_text().splitlines():
        if line.startswith("model_checkpoint_path:"):
            prefix = Path(out) / line.split(":", 1)[1].strip().strip('"')
            if Path(str(prefix) + ".index").is_file():
                return prefix
    return None


def write_checkpoint(tf, out: Path, named: dict, step: int,
                     prefixes: list[str]) -> tuple[Path, list[str]]:
    """Save `named` tensors as OUT/model.ckpt-STEP (written aside, the index moved in last:
    it marks a whole checkpoint), keep the newest KEEP_CHECKPOINTS; returns the prefix and
    the prefixes kept."""
    name = f"{CKPT_NAME}-{step}"
    names = sorted(named)
    tmp = out / f".{name}.tmp"
    tf.raw_ops.SaveV2(prefix=str(tmp), tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=[tf.convert_to_tensor(named[n]) for n in names])
    for suffix in (".data-00000-of-00001", ".index"):
        os.replace(str(tmp) + suffix, str(out / name) + suffix)
    prefixes = [p for p in prefixes if p != name] + [name]
    _write_state(out, prefixes[-KEEP_CHECKPOINTS:])
    for old in prefixes[:-KEEP_CHECKPOINTS]:
        for f in out.glob(old + ".*"):
            f.unlink(missing_ok=True)
    return out / name, prefixes[-KEEP_CHECKPOINTS:]


def read_checkpoint(tf, prefix: Path, named: dict, run: str) -> None:
    """Assign every tensor of `named` from checkpoint `prefix` (a resumed run); BadInput
    naming the tensor when one is missing or has another shape, i.e. the folder holds a
    run of another kind (`run`, e.g. "this config and width")."""
    reader = tf.train.load_checkpoint(str(prefix))
    shapes = reader.get_variable_to_shape_map()
    for name, var in named.items():
        if name not in shapes:
            raise BadInput(f"checkpoint {prefix} has no `{name}`: it is not a resumable "
                           f"run of {run}; use another --out", path=str(prefix))
        if tuple(shapes[name]) != tuple(var.shape):
            raise BadInput(f"checkpoint {prefix}: `{name}` is {tuple(shapes[name])}, this run "
                           f"needs {tuple(var.shape)}; use another --out", path=str(prefix))
        var.assign(reader.get_tensor(name))


def init_adam(tf, state, variables: dict, names) -> None:
    """TF1 AdamOptimizer's state on `state`, all at their start: slots[name] = (m, v) of
    zeros per trained variable, beta1_power, beta2_power, global_step."""
    state.slots = {n: (tf.Variable(tf.zeros_like(variables[n])), tf.Variable(tf.zeros_like(variables[n])))
                   for n in names}
    state.global_step = tf.Variable(0, dtype=tf.int64)
    state.beta1_power = tf.Variable(0.9, dtype=tf.float32)
    state.beta2_power = tf.Variable(0.999, dtype=tf.float32)


def adam_named(state, variables: dict) -> dict:
    """The model's variables and the Adam state under the names TF1 checkpoints use
    (`<var>/Adam`, `<var>/Adam_1`, `global_step`, `beta1_power`, `beta2_power`)."""
    named: dict = dict(variables)
    for n, (m, v) in state.slots.items():
        named[f"{n}/Adam"], named[f"{n}/Adam_1"] = m, v
    return named | {"global_step": state.global_step, "beta1_power": state.beta1_power,
                    "beta2_power": state.beta2_power}


def adam_update(tf, state, names, vars_, grads, lr) -> None:
    """One step of TF1's AdamOptimizer (beta1 0.9, beta2 0.999, eps 1e-8) on `vars_`, with
    the state (slots[name] = (m, v), beta1_power, beta2_power, global_step) of `state`:
    lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t)."""
    lr_t = lr * tf.sqrt(1.0 - state.beta2_power) / (1.0 - state.beta1_power)
    for n, var, g in zip(names, vars_, grads):
        mt, vt = state.slots[n]
        mt.assign(0.9 * mt + 0.1 * g)
        vt.assign(0.999 * vt + 0.001 * tf.square(g))
        var.assign_sub(lr_t * mt / (tf.sqrt(vt) + 1e-8))
    state.beta1_power.assign(state.beta1_power * 0.9)
    state.beta2_power.assign(state.beta2_power * 0.999)
    state.global_step.assign_add(1)


def _write_state(out: Path, prefixes: list[str]) -> None:
    lines = [f'model_checkpoint_path: "{prefixes[-1]}"']
    lines += [f'all_model_checkpoint_paths: "{p}"' for p in prefixes]
    atomic_write_text(out / STATE_FILE, "\n".join(lines) + "\n")


class CheckpointedRun:
    """A training run's checkpoints: the model's variables and Adam state under TF1's
    names, saved as OUT/model.ckpt-STEP (with the run's settings) and read back to
    resume. The trainer using it has `tf`, `out`, `model.variables`, `prefixes`, the Adam
    state of `init_adam`, and `_save_settings()`; RUN_KIND names what a resume must match."""

    RUN_KIND = "this config"

    def _named(self) -> dict:
        return adam_named(self, self.model.variables)

    def save(self) -> Path:
        prefix, self.prefixes = write_checkpoint(self.tf, self.out, self._named(),
                                                 int(self.global_step.numpy()), self.prefixes)
        self._save_settings()
        return prefix

    def restore(self, prefix: Path) -> None:
        read_checkpoint(self.tf, prefix, self._named(), self.RUN_KIND)
        self.prefixes = [prefix.name]


class Trainer(CheckpointedRun):
    """Model + Adam state + the compiled train step for one output folder."""

    RUN_KIND = "this config and width"

    def __init__(self, opts: TrainOptions) -> None:
        import tensorflow as tf

        from engine.models.musicvae_configs import get_config
        from engine.train.model import (HParams, TrainableMusicVae, Widths, default_hparams,
                                        widths_for)

        self.tf = tf
        self.opts = opts
        self.out = Path(opts.out)
        settings = self._settings()
        hp = default_hparams(opts.config)
        loss_overrides = {k: v for k, v in (("free_bits", opts.free_bits),
                                            ("max_beta", opts.max_beta),
                                            ("dropout_keep", opts.dropout_keep)) if v is not None}
        overrides = loss_overrides | ({"batch_size": opts.batch_size} if opts.batch_size else {})
        self.changes: list[dict] = list(settings.get("changes", [])) if settings else []
        if settings:  # resuming: the recorded settings, with new KL/dropout settings if given
            hp = HParams(**settings["hparams"])
            changed = {k: v for k, v in loss_overrides.items() if getattr(hp, k) != v}
            if changed:
                hp = HParams(**(hp.to_dict() | changed))
                self.changes.append({"from_step": None, **changed})
            w = settings["widths"]
            widths = Widths(w["z"], w["enc"], tuple(w["dec"]))
        else:
            hp = HParams(**(hp.to_dict() | overrides))
            widths = widths_for(get_config(opts.config), opts.width)
        self.hp = hp
        self.model = TrainableMusicVae(opts.config, widths, seed=opts.seed)
        self.seed = settings.get("seed", opts.seed) if settings else opts.seed
        self.elapsed = float(settings.get("seconds", 0.0)) if settings else 0.0
        init_adam(tf, self, self.model.variables, self.model.names)
        self.prefixes: list[str] = []
        latest = latest_checkpoint(self.out)
        if latest is not None:
            self.restore(latest)
        for change in self.changes:
            if change["from_step"] is None:
                change["from_step"] = int(self.global_step.numpy())
                self._save_settings()
        if not settings:
            self._save_settings()
        self._step_fn = tf.function(self._train_step)

    # -- settings

    def _settings(self) -> dict:
        path = self.out / SETTINGS_FILE
        if not path.is_file():
            return {}
        s = json.loads(path.read_text())
        if s.get("config") != self.opts.config:
            raise BadInput(f"{self.out} holds a {s.get('config')} run; use another --out for "
                           f"{self.opts.config}", path=str(self.out))
        return s

    def _save_settings(self) -> None:
        w = self.model.widths
        data = {"config": self.opts.config, "width": self.opts.width,
                "widths": {"z": w.z, "enc": w.enc, "dec": list(w.dec)},
                "hparams": self.hp.to_dict(), "seed": self.seed, "seconds": self.elapsed,
                "data": str(self.opts.data), "changes": self.changes}
        self.out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.out / SETTINGS_FILE, json.dumps(data, indent=2) + "\n")

    # -- one step

    def _learning_rate(self):
        hp = self.hp
        step = self.tf.cast(self.global_step, self.tf.float32)
        return (hp.learning_rate - hp.min_learning_rate) * self.tf.pow(hp.decay_rate, step) \
            + hp.min_learning_rate

    def _train_step(self, x, y, seed):
        tf = self.tf
        hp = self.hp
        step = tf.cast(self.global_step, tf.float32)
        beta = (1.0 - tf.pow(hp.beta_rate, step)) * hp.max_beta
        names = self.model.names
        vars_ = [self.model.variables[n] for n in names]
        with tf.GradientTape() as tape:
            m = self.model.losses(x, y, hp, beta, seed)
        grads = tape.gradient(m["loss"], vars_)
        grads, norm = tf.clip_by_global_norm(grads, hp.grad_clip)
        lr = self._learning_rate()
        adam_update(tf, self, names, vars_, grads, lr)
        return m | {"grad_norm": norm, "beta": beta, "lr": lr}

    def step(self, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        tf = self.tf
        s = int(self.global_step.numpy())
        seed = tf.constant([self.seed & 0x7FFFFFFF, s & 0x7FFFFFFF], tf.int32)
        m = self._step_fn(tf.constant(x), tf.constant(y), seed)
        return {k: float(v.numpy()) for k, v in m.items()}


def train(opts: TrainOptions, progress: TrainProgress | None = None) -> TrainResult:
    """Train (or resume) up to `opts.steps` total steps, saving every `save_every` steps
    and at the end; Ctrl-C saves and returns with interrupted=True."""
    from engine.train.data import batches, load_windows

    if opts.steps < 1:
        raise BadInput("--steps must be at least 1")
    windows = load_windows(Path(opts.data), opts.config, "train", opts.limit_files)
    trainer = Trainer(opts)
    start = int(trainer.global_step.numpy())
    result = TrainResult(out=trainer.out, step=start, checkpoint=latest_checkpoint(trainer.out))
    if start >= opts.steps:
        result.seconds = trainer.elapsed
        return result
    per_epoch = max(1, len(windows) // min(trainer.hp.batch_size, len(windows)))
    stream = batches(windows, trainer.hp.batch_size, trainer.seed, start_epoch=start // per_epoch)
    for _ in range(start % per_epoch):  # the same batches as an uninterrupted run
        next(stream)
    t0 = time.monotonic()
    base = trainer.elapsed
    metrics: dict[str, float] = {}
    step = start
    try:
        while step < opts.steps:
            x, y = next(stream)
            metrics = trainer.step(x, y)
            step = int(trainer.global_step.numpy())
            trainer.elapsed = base + time.monotonic() - t0
            if step % opts.save_every == 0 and step < opts.steps:
                trainer.save()
            if progress:
                progress(step, opts.steps, metrics)
    except KeyboardInterrupt:
        result.interrupted = True
    trainer.elapsed = base + time.monotonic() - t0
    result.checkpoint = trainer.save()
    result.step = int(trainer.global_step.numpy())
    result.seconds = trainer.elapsed
    result.metrics = metrics
    return result


def export(run: Path, dest: Path) -> Path:
    """Copy a run's latest checkpoint into `dest` with only what inference reads (the
    model variables under their official names, and global_step): no Adam slots, a third
    of the size. `dest` then loads with MusicVae.load like an official checkpoint."""
    import tensorflow as tf

    from engine.models.musicvae import required_variables
    from engine.models.musicvae_configs import get_config

    run, dest = Path(run), Path(dest)
    prefix = latest_checkpoint(run)
    settings = json.loads((run / SETTINGS_FILE).read_text()) if (run / SETTINGS_FILE).is_file() else {}
    if prefix is None or "config" not in settings:
        raise BadInput(f"{run}: no training run with a checkpoint here", path=str(run))
    reader = tf.train.load_checkpoint(str(prefix))
    names = sorted(required_variables(get_config(settings["config"]))) + ["global_step"]
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob(f"{CKPT_NAME}-*"):
        old.unlink()
    out = dest / prefix.name
    tf.raw_ops.SaveV2(prefix=str(out), tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=[tf.constant(reader.get_tensor(n)) for n in names])
    _write_state(dest, [prefix.name])
    atomic_write_text(dest / SETTINGS_FILE, json.dumps(settings, indent=2) + "\n")
    return out
