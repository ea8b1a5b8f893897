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
                     help="installed model: acoustic_only | all_instruments (or the "
                          "manifest name gansynth-acoustic_only ...)")
    r.add_argument("--tracks", type=_tracks,
                   help="comma-separated track numbers to render (as `magstation gansynth "
                        "tracks` lists them; default: every pitched track)")
    r.add_argument("--batch-size", type=int, default=None, help="notes per generator batch")
    r.add_argument("--include-drums", action="store_true",
                   help="also play drum-channel notes as pitched notes")
    r.add_argument("--precision", choices=["float32", "bfloat16"], default="float32",
                   help="bfloat16: convolutions in bf16, faster on CPUs with AMX, not "
                        "Magenta's numbers (float32 is)")
    r.set_defaults(func=cmd_render)
    t = gsub.add_parser("tracks", help="list the tracks of a MIDI file (numbers for --tracks)")
    t.add_argument("midi", type=Path, help="MIDI file (.mid)")
    t.set_defaults(func=cmd_tracks)


def _tracks(text: str) -> list[int]:
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--tracks takes numbers like 0,2; got {text!r}") from None


def cmd_tracks(args: argparse.Namespace) -> int:
    from engine.context import JobContext
    from engine.errors import EngineError
    from engine.handlers.timeline import load_midi

    try:
        song = load_midi({"path": str(args.midi)}, JobContext())
    except EngineError as e:
        print(f"magstation gansynth tracks: {e.message}", file=sys.stderr)
        return 1
    for t in song["tracks"]:
        kind = "drums" if t["is_drum"] else f"program {t['program']}"
        print(f"{t['index']:3d}  {t['name']:<24} {kind:<12} {t['notes']} notes")
    print(f"{song['qpm']:g} bpm, {song['time_signature'][0]}/{song['time_signature'][1]}, "
          f"{song['total_time']:.1f} s")
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from engine import local
    from engine.context import JobContext
    from engine.errors import EngineError
    from engine.handlers.gansynth import render

    out = args.output.expanduser().resolve()
    params = {"midi": str(args.midi), "seed": args.seed, "output": out.name,
              "secs_per_instrument": args.secs_per_instrument, "model": args.model,
              "include_drums": args.include_drums, "precision": args.precision}
    if args.checkpoint:
        params["checkpoint"] = str(args.checkpoint)
    if args.batch_size:
        params["batch_size"] = args.batch_size
    if args.tracks:
        params["tracks"] = args.tracks
    ctx = JobContext(job_id="cli-gansynth.render", work_dir=out.parent, _sink=local.progress_bar)
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
