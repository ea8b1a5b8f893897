"""`magstation gansynth render MIDI -o out.wav`: the headless GANSynth renderer."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gansynth", help="render MIDI with GANSynth instruments")
    gsub = p.add_subparsers(dest="gansynth_command", required=True)
    r = gsub.add_parser("render", help="render every note of a MIDI file into one WAV")
    r.add_argument("midi", type=Path, help="MIDI file (.mid)")
    r.add_argument("-o", "--output", type=Path, required=True, help="WAV file to write")
    r.add_argument("--seed", type=int, default=0, help="seed of the random instruments")
    r.add_argument("--secs-per-instrument", type=float, default=6.0,
                   help="a new random instrument every this many seconds, slerped between "
                        "(default %(default)s)")
    src = r.add_mutually_exclusive_group()
    src.add_argument("--checkpoint", type=Path, help="checkpoint folder (with experiment.json)")
    src.add_argument("--model", default="acoustic_only",
                     help="installed model name: acoustic_only | all_instruments")
    r.add_argument("--batch-size", type=int, default=None, help="notes per generator batch")
    r.add_argument("--include-drums", action="store_true",
                   help="also play drum-channel notes as pitched notes")
    r.set_defaults(func=cmd_render)


def cmd_render(args: argparse.Namespace) -> int:
    from engine import local
    from engine.context import JobContext
    from engine.errors import EngineError
    from engine.handlers.gansynth import render

    out = args.output.expanduser().resolve()
    params = {"midi": str(args.midi), "seed": args.seed, "output": out.name,
              "secs_per_instrument": args.secs_per_instrument, "model": args.model,
              "include_drums": args.include_drums}
    if args.checkpoint:
        params["checkpoint"] = str(args.checkpoint)
    if args.batch_size:
        params["batch_size"] = args.batch_size
    ctx = JobContext(job_id="cli-gansynth.render", work_dir=out.parent, _sink=local._bar)
    try:
        result = render(params, ctx)
    except EngineError as e:
        print(f"magstation gansynth render: {e.message}", file=sys.stderr)
        return 1
    for w in result["warnings"]:
        print(f"warning: {w}", file=sys.stderr)
    print(f"wrote {result['path']} ({result['duration']:.1f} s, {result['notes']} notes, "
          f"{result['notes_rendered']} rendered, seed {result['seed']})")
    return 0
