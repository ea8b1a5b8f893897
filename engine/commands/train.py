"""`magstation train drums`: train a drum model on the Groove MIDI Dataset.

    magstation train drums --data midi/groove --config cat-drums_2bar_small --steps 4000 \
        [--out DIR] [--width small]
    magstation train eval --checkpoint DIR --config cat-drums_2bar_small --data midi/groove

Progress (step, loss, accuracy, ETA) goes to stderr. Running the same command again with
the same --out resumes from its last checkpoint; Ctrl-C saves and stops. The output folder
loads like an official checkpoint: `magstation drums sample --checkpoint DIR --config C`.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import time
from pathlib import Path
from typing import TextIO

import numpy as np

from engine.train.data import MELODY_CONFIGS, TRAIN_CONFIGS

DRUM_CONFIGS = tuple(c for c in TRAIN_CONFIGS if c not in MELODY_CONFIGS)


def _duration(seconds: float) -> str:
    s = int(max(0, seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class StepProgress:
    """A one-line progress bar with ETA on stderr (a line every `every` steps when the
    stream is not a terminal, e.g. under nohup)."""

    def __init__(self, stream: TextIO | None = None, width: int = 24, every: int = 50) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.width = width
        self.every = every
        self._t0: float | None = None
        self._step0 = 0

    def __call__(self, step: int, total: int, metrics: dict[str, float]) -> None:
        now = time.monotonic()
        if self._t0 is None:  # the first step includes graph building: time from after it
            self._t0, self._step0 = now, step
        done = step - self._step0
        rate = done / (now - self._t0) if now > self._t0 and done else 0.0
        eta = _duration((total - step) / rate) if rate else "?"
        frac = step / total
        fill = int(frac * self.width)
        line = (f"step {step}/{total} [{'#' * fill}{'-' * (self.width - fill)}] {frac:4.0%} "
                f"loss {metrics.get('loss', 0):.2f} acc {metrics.get('accuracy', 0):.3f} "
                + (f"kl {metrics['kl_bits']:.1f} bits " if "kl_bits" in metrics else "")
                + f" ETA {eta}")
        if self.tty:
            self.stream.write("\r" + line + "\x1b[K" + ("\n" if step >= total else ""))
        elif step % self.every == 0 or step >= total:
            self.stream.write(line + "\n")
        self.stream.flush()


def cmd_train_drums(args: argparse.Namespace) -> int:
    from engine.train.trainer import TrainOptions, train

    out = args.out or Path("runs") / f"{args.config}-{args.width}"
    opts = TrainOptions(data=args.data, config=args.config, steps=args.steps, out=out,
                        width=args.width, batch_size=args.batch_size, seed=args.seed,
                        save_every=args.save_every, limit_files=args.limit_files,
                        free_bits=args.free_bits, max_beta=args.beta,
                        dropout_keep=args.dropout_keep)
    result = train(opts, StepProgress())
    mins = result.seconds / 60
    if result.interrupted:
        print(f"stopped at step {result.step}; saved {result.checkpoint}. Run the same "
              f"command again to resume.", file=sys.stderr)
        return 130
    print(f"{args.config}: step {result.step}, {mins:.1f} min of training; checkpoint "
          f"{result.checkpoint}")
    job = ("melody sample" if args.config in MELODY_CONFIGS else
           "drums sample" if args.config.startswith("cat") else "drums humanize")
    print(f"try it: magstation {job} --checkpoint {out} --config {args.config}")
    return 0


@contextlib.contextmanager
def stop_on_sigterm():
    """SIGTERM stops training like Ctrl-C (save, write the bundle): a run in the background
    (nohup, a job) ignores SIGINT."""
    def stop(signum, frame):
        raise KeyboardInterrupt

    try:
        old = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def cmd_train_melody(args: argparse.Namespace) -> int:
    from engine.train.melody_trainer import MelodyTrainOptions

    out = args.out or Path("runs") / f"melody-{args.config}"
    opts = MelodyTrainOptions(data=args.data, config=args.config, steps=args.steps, out=out,
                              seed=args.seed, save_every=args.save_every,
                              limit_files=args.limit_files)
    return _train_event_rnn(args, opts, lambda bundle: (
        f"try it: magstation melody continue --checkpoint {bundle} --config {args.config} "
        f"... ; or magstation models import {bundle} --name my-melodies"))


def cmd_train_performance(args: argparse.Namespace) -> int:
    from engine.train.melody_trainer import performance_options

    out = args.out or Path("runs") / f"performance-{args.config}"
    opts = performance_options(args.data, args.steps, out, args.config)
    opts.seed, opts.save_every, opts.limit_files = args.seed, args.save_every, args.limit_files
    return _train_event_rnn(args, opts, lambda bundle: (
        f"try it: magstation melody continue PRIMER.mid --checkpoint {bundle} ; or "
        f"magstation models import {bundle} --name my-performances"))


def _train_event_rnn(args: argparse.Namespace, opts, try_it) -> int:
    """Train a MelodyRNN/PerformanceRNN bundle with progress on stderr and a run record the
    TUI's job list shows; Ctrl-C or SIGTERM saves (exit 130, run again to resume)."""
    from engine.batch.runs import DONE, ERROR, STOPPED
    from engine.errors import EngineError
    from engine.train.melody_trainer import train_melody
    from engine.train.run_record import TrainRecord

    if args.layers:
        opts.layers = tuple(args.layers)
    for k in ("batch_size", "max_len", "dropout_keep"):
        if getattr(args, k) is not None:
            setattr(opts, k, getattr(args, k))
    record = TrainRecord(opts.out, name=args.name or Path(opts.out).resolve().name,
                         data=args.data, config=args.config, steps=args.steps)
    bar = StepProgress()

    def progress(step: int, total: int, metrics: dict[str, float]) -> None:
        bar(step, total, metrics)
        record(step, total, metrics)

    try:
        with stop_on_sigterm():
            result = train_melody(opts, progress, log=lambda m: print(m, file=sys.stderr))
    except KeyboardInterrupt:  # before training began (loading TensorFlow or the data)
        record.finish(STOPPED, error="stopped before the first step")
        raise
    except EngineError as e:
        record.finish(ERROR, error=e.message)
        raise
    except Exception as e:
        record.finish(ERROR, error=f"{type(e).__name__}: {e}")
        raise
    if result.interrupted:
        record.finish(STOPPED, step=result.step, bundle=result.bundle,
                      error=f"stopped at step {result.step}; start it again to resume")
        print(f"stopped at step {result.step}; saved {result.checkpoint} and {result.bundle}. "
              f"Run the same command again to resume.", file=sys.stderr)
        return 130
    record.finish(DONE, step=result.step, bundle=result.bundle)
    print(f"{args.config}: step {result.step}, {result.seconds / 60:.1f} min of training; "
          f"bundle {result.bundle}")
    print(try_it(result.bundle))
    return 0


def _run_args(p: argparse.ArgumentParser) -> None:
    """Options every event-RNN run takes (melody and performance)."""
    p.add_argument("--name", default=None,
                   help="the run's name in the TUI's job list, offered as the model name on "
                        "install (default: the --out folder's name)")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights and batches")
    p.add_argument("--save-every", type=int, default=100, metavar="STEPS",
                   help="write a checkpoint every this many steps")
    p.add_argument("--limit-files", type=int, default=None, metavar="N",
                   help="use only the first N training files (quick trials)")


def cmd_train_eval(args: argparse.Namespace) -> int:
    """Test-split metrics, musicality statistics against the data, and sample grids."""
    from engine.train import evaluate as ev

    metrics = ev.evaluate(args.checkpoint, args.config, args.data, args.split, seed=args.seed)
    print(f"{args.config} on the {args.split} split ({int(metrics.pop('windows'))} windows):")
    for k, v in metrics.items():
        print(f"  {k:<30} {v:.4f}")
    if args.config.startswith("groovae"):
        for i, (h, v, o) in enumerate(ev.humanize_examples(args.checkpoint, args.config,
                                                           args.data, args.show, args.seed)):
            print(f"\nhumanized test window {i + 1} (o soft, x medium, X loud; mean |offset| "
                  f"{np.abs(o[h]).mean():.3f} step):\n{ev.text_grid(h, v)}")
        return 0
    data = ev.pattern_stats(ev.dataset_hits(args.data, args.split))
    hits = ev.sample_hits(args.checkpoint, args.config, args.samples, args.temperature, args.seed)
    samples = ev.pattern_stats(hits)
    print(f"\n{'statistic':<22} {'data':>8} {'samples':>8}   ({args.samples} samples at "
          f"temperature {args.temperature}, seed {args.seed})")
    for k in data:
        print(f"  {k:<20} {data[k]:8.3f} {samples[k]:8.3f}")
    for i in range(min(args.show, len(hits))):
        print(f"\nsample {i + 1}:\n{ev.text_grid(hits[i])}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("train", help="train models on your own data")
    sub = p.add_subparsers(dest="train_command", metavar="MODEL", required=True)
    d = sub.add_parser("drums", help="train a 2-bar drum model on the Groove MIDI Dataset "
                                     "(or a folder laid out like it)")
    d.add_argument("--data", type=Path, required=True,
                   help="dataset folder with info.csv and the MIDI files (e.g. midi/groove)")
    d.add_argument("--config", choices=DRUM_CONFIGS, required=True, help="the model config to train")
    d.add_argument("--steps", type=int, required=True, help="total training steps")
    d.add_argument("--out", type=Path, default=None,
                   help="checkpoint folder; an existing run there is resumed "
                        "(default: runs/CONFIG-WIDTH)")
    d.add_argument("--width", choices=("tiny", "small", "official"), default="small",
                   help="layer sizes: small = encoder 256, decoder 2x128, z 64")
    d.add_argument("--batch-size", type=int, default=None, help="default 64")
    d.add_argument("--seed", type=int, default=0, help="seed of the initial weights and batches")
    d.add_argument("--save-every", type=int, default=250, metavar="STEPS",
                   help="write a checkpoint every this many steps (training resumes from it)")
    d.add_argument("--limit-files", type=int, default=None, metavar="N",
                   help="use only the first N training files (quick trials)")
    d.add_argument("--free-bits", type=float, default=None,
                   help="KL free bits (config default 48); on a resumed run the new value "
                        "holds from the current step on (recorded in train.json)")
    d.add_argument("--beta", type=float, default=None, help="KL weight (config default 0.2)")
    d.add_argument("--dropout-keep", type=float, default=None,
                   help="LSTM input keep probability (GrooVAE default 0.7)")
    d.set_defaults(func=cmd_train_drums)
    v = sub.add_parser("melody-vae", help="train a 2-bar melody MusicVAE (cat-mel_2bar_big "
                                          "topology) on any folder of MIDI files")
    v.add_argument("--data", type=Path, required=True,
                   help="folder of MIDI files (about 10%% are held out by a hash of the path)")
    v.add_argument("--steps", type=int, required=True, help="total training steps")
    v.add_argument("--out", type=Path, default=None,
                   help="checkpoint folder; an existing run there is resumed")
    v.add_argument("--width", choices=("tiny", "small", "official"), default="small",
                   help="layer sizes: small = encoder 256, decoder 3x128, z 64")
    for flag, kind, default in (("--batch-size", int, None), ("--seed", int, 0),
                                ("--save-every", int, 250), ("--limit-files", int, None),
                                ("--free-bits", float, 10.0), ("--beta", float, 0.5),
                                ("--dropout-keep", float, None)):
        v.add_argument(flag, type=kind, default=default, help=f"as for `train drums` "
                                                              f"(default {default})")
    v.set_defaults(func=cmd_train_drums, config=MELODY_CONFIGS[0])
    m = sub.add_parser("melody", help="train a MelodyRNN on any folder of MIDI files")
    m.add_argument("--data", type=Path, required=True,
                   help="folder of .mid/.midi files (subfolders too); 1 in 10 is held out")
    m.add_argument("--config", choices=("attention_rnn", "basic_rnn", "lookback_rnn"),
                   default="attention_rnn", help="the MelodyRNN configuration")
    m.add_argument("--steps", type=int, required=True, help="total training steps")
    m.add_argument("--out", type=Path, default=None,
                   help="run folder; an existing run there is resumed (default: runs/melody-CONFIG)")
    m.add_argument("--layers", type=int, nargs="+", default=None, metavar="UNITS",
                   help="LSTM layer widths (default 128 128, magenta's)")
    m.add_argument("--batch-size", type=int, default=None, help="default 128")
    m.add_argument("--max-len", type=int, default=None, metavar="STEPS",
                   help="longest training window in 16th steps (default 512)")
    m.add_argument("--dropout-keep", type=float, default=None, help="default 0.5")
    _run_args(m)
    m.set_defaults(func=cmd_train_melody)
    f = sub.add_parser("performance", help="train a PerformanceRNN (with dynamics) on any "
                                           "folder of MIDI files")
    f.add_argument("--data", type=Path, required=True,
                   help="folder of .mid/.midi files (subfolders too); 1 in 10 is held out")
    f.add_argument("--config", choices=("performance_with_dynamics",),
                   default="performance_with_dynamics", help="the PerformanceRNN configuration")
    f.add_argument("--steps", type=int, required=True, help="total training steps")
    f.add_argument("--out", type=Path, default=None,
                   help="run folder; an existing run there is resumed "
                        "(default: runs/performance-CONFIG)")
    f.add_argument("--layers", type=int, nargs="+", default=None, metavar="UNITS",
                   help="LSTM layer widths (default 512 512 512, magenta's)")
    f.add_argument("--batch-size", type=int, default=None, help="default 64")
    f.add_argument("--max-len", type=int, default=None, metavar="EVENTS",
                   help="longest training window in events (default 512)")
    f.add_argument("--dropout-keep", type=float, default=None, help="default 1.0 (no dropout)")
    _run_args(f)
    f.set_defaults(func=cmd_train_performance)
    e = sub.add_parser("eval", help="test-split metrics and musicality statistics of a "
                                    "drum checkpoint")
    e.add_argument("--checkpoint", type=Path, required=True, help="the checkpoint to evaluate")
    e.add_argument("--config", choices=TRAIN_CONFIGS, required=True, help="its model config")
    e.add_argument("--data", type=Path, required=True, help="the Groove MIDI Dataset folder")
    e.add_argument("--split", choices=("train", "validation", "test"), default="test",
                   help="which split of the data to measure on")
    e.add_argument("--samples", type=int, default=200, help="how many samples to draw for the statistics")
    e.add_argument("--temperature", type=float, default=1.0, help="sampling temperature")
    e.add_argument("--seed", type=int, default=0, help="seed of the samples")
    e.add_argument("--show", type=int, default=3, help="sample grids to print")
    e.set_defaults(func=cmd_train_eval)
