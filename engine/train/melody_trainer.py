"""Train a MelodyRNN (basic_rnn, lookback_rnn, attention_rnn) or a PerformanceRNN
(performance_with_dynamics) on a folder of MIDI files: the same event RNN, training loop,
checkpoints and bundle writer; only the data (engine.train.melody_data or
engine.train.performance_data) and the defaults (`performance_options`) differ.

    result = train_melody(MelodyTrainOptions(data=Path("my_midi"), config="attention_rnn",
                                             steps=2000, out=Path("runs/mel")))

Settings are magenta's melody_rnn default_configs (2 x 128 LSTM layers, attention over 40
steps for attention_rnn, dropout keep 0.5, batch 128, Adam at 1e-3 decayed x0.95 every
1000 steps, gradients clipped at global norm 5); `--layers`, `--batch-size` change them.

The run folder holds `model.ckpt-STEP.{index,data-...}` (the model variables under
magenta's names, Adam slots as TF1 names them, global_step) written atomically (index
last), a `checkpoint` state file, `train.json`, the encoded data cache, and on finishing
or Ctrl-C a `.mag` bundle (`OUT/CONFIG.mag`) that `melody continue --checkpoint` and
`models import` load. Running again with the same OUT resumes from the latest checkpoint.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from engine.errors import BadInput
from engine.fsutil import atomic_write_text
from engine.music import melody_rnn as mr
from engine.music import performance_rnn as pr
from engine.train.trainer import (SETTINGS_FILE, CheckpointedRun, adam_update, init_adam,
                                  latest_checkpoint)

TrainProgress = Callable[[int, int, dict[str, float]], None]
ATTN_LENGTH = 40
CONFIGS = mr.CONFIGS + pr.CONFIGS


@dataclass
class MelodyTrainOptions:
    data: Path
    config: str
    steps: int
    out: Path
    layers: tuple[int, ...] = (128, 128)
    batch_size: int = 128
    max_len: int = 512  # magenta's MelodyExtractor max_steps
    dropout_keep: float = 0.5
    learning_rate: float = 1e-3
    clip_norm: float = 5.0
    lr_decay: float = 0.95  # learning rate x this every 1000 steps (1.0: constant)
    seed: int = 0
    save_every: int = 100
    limit_files: int | None = None


@dataclass
class MelodyTrainResult:
    out: Path
    step: int
    checkpoint: Path | None
    bundle: Path | None = None
    interrupted: bool = False
    seconds: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)
    train_melodies: int = 0


def performance_options(data: Path, steps: int, out: Path,
                        config: str = "performance_with_dynamics") -> MelodyTrainOptions:
    """magenta's performance_rnn defaults: 3 x 512 LSTM layers, batch 64, no dropout,
    gradients clipped at norm 3, Adam at a constant 1e-3 (events_rnn_graph); windows of
    at most 512 events (the extractor's limit)."""
    return MelodyTrainOptions(data=data, config=config, steps=steps, out=out,
                              layers=(512, 512, 512), batch_size=64, max_len=512,
                              dropout_keep=1.0, clip_norm=3.0, lr_decay=1.0)


def is_performance(config: str) -> bool:
    return config in pr.CONFIGS


def rnn_shape(config: str, layers: tuple[int, ...]):
    from engine.train.event_rnn import RnnShape

    enc = pr.encoder_decoder(config) if is_performance(config) else mr.encoder_decoder(config)
    return RnnShape(enc.input_size, enc.num_classes, tuple(layers),
                    ATTN_LENGTH if config == "attention_rnn" else 0)


class MelodyTrainer(CheckpointedRun):
    def __init__(self, opts: MelodyTrainOptions) -> None:
        import tensorflow as tf

        from engine.train.event_rnn import TrainableEventRnn

        if opts.config not in CONFIGS:
            raise BadInput(f"--config {opts.config}: choose one of {', '.join(CONFIGS)}")
        self.tf = tf
        self.out = Path(opts.out)
        settings = self._settings(opts)
        if settings:  # resuming: the run's own architecture and batch settings
            opts.layers = tuple(settings["layers"])
            for k in ("batch_size", "max_len", "dropout_keep", "learning_rate", "seed"):
                setattr(opts, k, settings[k])
            opts.clip_norm = settings.get("clip_norm", 5.0)
            opts.lr_decay = settings.get("lr_decay", 0.95)
        self.opts = opts
        self.elapsed = float(settings.get("seconds", 0.0))
        self.changes: list = list(settings.get("changes", []))  # settings changed mid-run
        self.model = TrainableEventRnn(rnn_shape(opts.config, opts.layers), seed=opts.seed)
        init_adam(tf, self, self.model.variables, self.model.names)
        self.prefixes: list[str] = []
        latest = latest_checkpoint(self.out)
        if latest is not None:
            self.restore(latest)
        self._save_settings()
        spec = [tf.TensorSpec([None, None, self.model.shape.input_size], tf.float32),
                tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None, None], tf.float32),
                tf.TensorSpec([2], tf.int32)]
        self._step_fn = tf.function(self._train_step, input_signature=spec)

    def _settings(self, opts: MelodyTrainOptions) -> dict:
        path = self.out / SETTINGS_FILE
        if not path.is_file():
            return {}
        s = json.loads(path.read_text())
        if s.get("config") != opts.config:
            raise BadInput(f"{self.out} holds a {s.get('config')} run; use another --out for "
                           f"{opts.config}", path=str(self.out))
        return s

    def _save_settings(self) -> None:
        o = self.opts
        data = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(o).items()
                if k not in ("steps", "out", "save_every", "limit_files")}
        family = "performance_rnn" if is_performance(o.config) else "melody_rnn"
        data |= {"layers": list(o.layers), "attn_length": self.model.shape.attn_length,
                 "seconds": self.elapsed, "family": family, "changes": self.changes}
        self.out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.out / SETTINGS_FILE, json.dumps(data, indent=2) + "\n")

    def weights(self) -> dict[str, np.ndarray]:
        return {n: v.numpy() for n, v in self.model.variables.items()}

    # -- one step: TF1 AdamOptimizer semantics, clip at the global norm `clip_norm`
    def _train_step(self, x, y, mask, seed):
        tf = self.tf
        names = self.model.names
        vars_ = [self.model.variables[n] for n in names]
        with tf.GradientTape() as tape:
            m = self.model.losses(x, y, mask, self.opts.dropout_keep, seed)
        grads = tape.gradient(m["loss"], vars_)
        grads, norm = tf.clip_by_global_norm(grads, self.opts.clip_norm)
        step = tf.cast(self.global_step, tf.float32)
        lr = self.opts.learning_rate * tf.pow(self.opts.lr_decay, tf.floor(step / 1000.0))
        adam_update(tf, self, names, vars_, grads, lr)
        return m | {"grad_norm": norm}

    def step(self, x, y, mask) -> dict[str, float]:
        tf = self.tf
        s = int(self.global_step.numpy())
        seed = tf.constant([self.opts.seed & 0x7FFFFFFF, s & 0x7FFFFFFF], tf.int32)
        m = self._step_fn(tf.constant(x), tf.constant(y), tf.constant(mask), seed)
        return {k: float(v.numpy()) for k, v in m.items()}

    def export_bundle(self, path: Path | None = None) -> Path:
        from engine.models.mag_bundle import write_bundle

        path = path or self.out / f"{self.opts.config}.mag"
        write_bundle(path, self.opts.config, self.weights(), rnn_shape(self.opts.config, self.opts.layers),
                     description=f"{self.opts.config} trained by magstation on {self.opts.data} "
                                 f"({int(self.global_step.numpy())} steps)")
        return path


def train_melody(opts: MelodyTrainOptions, progress: TrainProgress | None = None,
                 log: Callable[[str], None] | None = None) -> MelodyTrainResult:
    """Train or resume up to `opts.steps` steps; Ctrl-C saves, writes the bundle, returns.
    A PerformanceRNN config trains on performances (see `performance_options`)."""
    from engine.train import melody_data, performance_data
    from engine.train.melody_data import batches

    if opts.steps < 1:
        raise BadInput("--steps must be at least 1")
    trainer = MelodyTrainer(opts)
    opts = trainer.opts
    perf = is_performance(opts.config)
    source = performance_data if perf else melody_data
    data = source.load_examples(opts.data, opts.config, "train", cache=trainer.out,
                                limit_files=opts.limit_files)
    what = "performances" if perf else "melodies"
    if perf and not len(data):
        raise BadInput(f"--data {opts.data}: no performances to train on (a 30-second "
                       f"chunk needs at least {performance_data.MIN_EVENTS} events)",
                       path=str(opts.data))
    if log:
        log(f"{data.files} training files -> {len(data)} {what}, {data.events} events")
    start = int(trainer.global_step.numpy())
    result = MelodyTrainResult(trainer.out, start, latest_checkpoint(trainer.out),
                               train_melodies=len(data))
    if start >= opts.steps:
        result.bundle = trainer.export_bundle()
        result.seconds = trainer.elapsed
        return result
    batch = min(opts.batch_size, max(1, len(data)))
    per_epoch = max(1, len(data) // batch)
    stream = batches(data, batch, opts.max_len, opts.seed, start_epoch=start // per_epoch)
    for _ in range(start % per_epoch):  # the batches an uninterrupted run would see
        next(stream)
    t0, base = time.monotonic(), trainer.elapsed
    metrics: dict[str, float] = {}
    try:
        step = start
        while step < opts.steps:
            x, y, m = next(stream)
            metrics = trainer.step(x, y, m)
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
    result.bundle = trainer.export_bundle()
    result.step = int(trainer.global_step.numpy())
    result.seconds = trainer.elapsed
    result.metrics = metrics
    return result
