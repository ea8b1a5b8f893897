"""`magstation train drums`: train a drum model on the Groove MIDI Dataset.

    magstation train drums --data midi/groove --config cat-drums_2bar_small --steps 4000 \
        [--out DIR] [--width small]

Progress (step, loss, accuracy, ETA) goes to stderr. Running the same command again with
the same --out resumes from its last checkpoint; Ctrl-C saves and stops. The output folder
loads like an official checkpoint: `magstation drums sample --checkpoint DIR --config C`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TextIO

from engine.train.data import TRAIN_CONFIGS


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
                f"kl {metrics.get('kl_bits', 0):.1f} bits  ETA {eta}")
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
                        save_every=args.save_every, limit_files=args.limit_files)
    result = train(opts, StepProgress())
    mins = result.seconds / 60
    if result.interrupted:
        print(f"stopped at step {result.step}; saved {result.checkpoint}. Run the same "
              f"command again to resume.", file=sys.stderr)
        return 130
    print(f"{args.config}: step {result.step}, {mins:.1f} min of training; checkpoint "
          f"{result.checkpoint}")
    print(f"try it: magstation drums {'sample' if args.config.startswith('cat') else 'humanize'}"
          f" --checkpoint {out} --config {args.config}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("train", help="train models on your own data")
    sub = p.add_subparsers(dest="train_command", metavar="MODEL", required=True)
    d = sub.add_parser("drums", help="train a 2-bar drum model on the Groove MIDI Dataset "
                                     "(or a folder laid out like it)")
    d.add_argument("--data", type=Path, required=True,
                   help="dataset folder with info.csv and the MIDI files (e.g. midi/groove)")
    d.add_argument("--config", choices=TRAIN_CONFIGS, required=True)
    d.add_argument("--steps", type=int, required=True, help="total training steps")
    d.add_argument("--out", type=Path, default=None,
                   help="checkpoint folder; an existing run there is resumed "
                        "(default: runs/CONFIG-WIDTH)")
    d.add_argument("--width", choices=("tiny", "small", "official"), default="small",
                   help="layer sizes: small = encoder 256, decoder 2x128, z 64")
    d.add_argument("--batch-size", type=int, default=None, help="default 64")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--save-every", type=int, default=250, metavar="STEPS")
    d.add_argument("--limit-files", type=int, default=None, metavar="N",
                   help="use only the first N training files (quick trials)")
    d.set_defaults(func=cmd_train_drums)
