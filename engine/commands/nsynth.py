"""`magstation nsynth encode|mix|synth`: the NSynth flows of magenta's
nsynth_save_embeddings and nsynth_generate, run in this process.

    magstation nsynth encode a.wav b.wav --out enc/        # enc/a_embeddings.npy ...
    magstation nsynth mix a.wav b.npy --weights 0.3 0.7 --out ab.npy
    magstation nsynth synth a.wav enc/b_embeddings.npy --out gen/ --seed 1   # gen/gen_a.wav ...
    magstation nsynth synth a.wav b.wav c.wav d.wav --xy 0.2 0.7 --out gen/   # one XY mix

Ctrl-C during `synth` stops it and still writes the audio made so far.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path

from engine.context import JobContext
from engine.errors import EngineError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("nsynth", help="NSynth: encode sounds, mix encodings, synthesize")
    sub = p.add_subparsers(dest="nsynth_command", required=True)

    def common(s: argparse.ArgumentParser) -> None:
        s.add_argument("--checkpoint", default=None, metavar="PATH|NAME",
                       help="checkpoint prefix, folder, wavenet-ckpt.tar or installed name "
                            "(default: nsynth-wavenet)")

    s = sub.add_parser("encode", help="sounds -> <name>_embeddings.npy [frames, 16]")
    s.add_argument("sounds", nargs="+", type=Path, help="sound files to encode")
    s.add_argument("--out", type=Path, default=Path("."), help="folder for the .npy files")
    common(s)
    s.set_defaults(func=cmd_encode)

    def mixing(s: argparse.ArgumentParser) -> None:
        g = s.add_mutually_exclusive_group()
        g.add_argument("--weights", type=float, nargs="+", help="one weight per source")
        g.add_argument("--xy", type=float, nargs=2, metavar=("X", "Y"),
                       help="XY pad point in [0,1]² between 4 corner sources "
                            "(top-left, top-right, bottom-left, bottom-right)")
        s.add_argument("--stretch", type=float, default=None,
                       help="time-stretch factor (2 = twice as long)")

    s = sub.add_parser("mix", help="blend 2-4 sounds/encodings into one .npy encoding")
    s.add_argument("sources", nargs="+", help="sound files or .npy encodings")
    s.add_argument("--out", type=Path, required=True, help="the .npy file to write")
    mixing(s)
    common(s)
    s.set_defaults(func=cmd_mix)

    s = sub.add_parser("synth", help="synthesize audio from sounds/encodings (batched)")
    s.add_argument("sources", nargs="+", help="sound files or .npy encodings")
    s.add_argument("--out", type=Path, default=Path("."), help="folder for gen_<name>.wav")
    s.add_argument("--seed", type=int, default=0, help="same seed, same audio")
    mixing(s)
    common(s)
    s.set_defaults(func=cmd_synth)


def _run(name: str, params: dict, work_dir: Path) -> dict:
    """Run a job on a worker thread so that Ctrl-C cancels it (partial audio is kept)."""
    from engine import methods
    from engine.local import progress_bar

    m = methods.get(name)
    ctx = JobContext(job_id=f"cli-{name}", work_dir=work_dir, _sink=progress_bar)
    box: dict = {}

    def work() -> None:
        try:
            box["result"] = m.func(params, ctx)
        except BaseException as e:  # noqa: BLE001 - re-raised on the main thread
            box["error"] = e

    t = threading.Thread(target=work, daemon=True)
    t.start()
    while t.is_alive():
        try:
            t.join(0.2)
        except KeyboardInterrupt:
            print("\nstopping: keeping what was made so far...", file=sys.stderr)
            ctx.cancel()
    if "error" in box:
        raise box["error"]
    return box["result"]


def _report(fn) -> int:
    try:
        result = fn()
    except EngineError as e:
        print(f"magstation nsynth: {e.message}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


def _mix_spec(args: argparse.Namespace) -> dict:
    spec: dict = {"sources": [str(s) for s in args.sources]}
    if args.weights is not None:
        spec["weights"] = args.weights
    if args.xy is not None:
        spec["xy"] = args.xy
    if args.stretch is not None:
        spec["stretch"] = args.stretch
    return spec


def cmd_encode(args: argparse.Namespace) -> int:
    return _report(lambda: _run("nsynth.encode", {"sounds": [str(s) for s in args.sounds],
                                                  "checkpoint": args.checkpoint}, args.out))


def cmd_mix(args: argparse.Namespace) -> int:
    params = {**_mix_spec(args), "checkpoint": args.checkpoint, "name": args.out.stem}
    return _report(lambda: _run("nsynth.mix", params, args.out.parent))


def cmd_synth(args: argparse.Namespace) -> int:
    if args.weights is not None or args.xy is not None:
        mixes = [_mix_spec(args)]
        names = ["gen_mix"]
    else:
        mixes = [{"sources": [s], **({"stretch": args.stretch} if args.stretch else {})}
                 for s in args.sources]
        names = [f"gen_{Path(s).stem}" for s in args.sources]
    params = {"mixes": mixes, "names": names, "seed": args.seed, "checkpoint": args.checkpoint}
    return _report(lambda: _run("nsynth.synth", params, args.out))
