"""`magstation melody continue PRIMER.mid --model attention_rnn --bars 8 -o out.mid`:
continue a melody with MelodyRNN, in this process. Registered into the `melody` group
that engine.commands.generate creates; prints the seed it used."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from engine import api
from engine.api.base import field_help


def add_continue(melody: argparse._SubParsersAction) -> None:
    p = melody.add_parser("continue", help="continue a melody MIDI file with MelodyRNN")
    p.add_argument("primer", type=Path, help="the melody to continue (MIDI; one line is used)")
    p.add_argument("--model", help="installed MelodyRNN bundle: attention_rnn, basic_rnn, "
                                    "lookback_rnn or starter-attention_rnn (default: the first "
                                    "of those installed; the starter ships with magstation)")
    p.add_argument("--checkpoint", type=Path, help="a .mag bundle file instead of --model")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--bars", type=int, default=None, help="bars to add (default 4)")
    length.add_argument("--steps", type=int, default=None, help="16th-note steps to add")
    p.add_argument("--temperature", type=float, default=1.0,
                   help=field_help(api.melody.Continue, "temperature"))
    p.add_argument("--seed", type=int, default=None, help="same seed, same notes (default: random)")
    p.add_argument("-o", "--out", type=Path, default=None,
                   help="output MIDI file (default: melody_<model>_seed<S>_continue.mid here)")
    p.add_argument("--overwrite", action="store_true", help="replace the file if it exists")
    p.set_defaults(func=cmd_continue)


def cmd_continue(args: argparse.Namespace) -> int:
    from engine.local import run_method

    params: dict[str, Any] = {"primer": str(args.primer), "seed": args.seed,
                              "temperature": args.temperature, "overwrite": args.overwrite}
    for key in ("bars", "steps", "model"):
        if getattr(args, key) is not None:
            params[key] = getattr(args, key)
    if args.checkpoint:
        params["checkpoint"] = str(args.checkpoint)
    if args.out is not None and args.out.suffix.lower() in (".mid", ".midi"):
        params["path"] = str(args.out)
    else:
        params["folder"] = str(args.out or Path("."))
    result = run_method("melody.continue", params)
    for w in result["warnings"]:
        print(f"warning: {w}")
    print(f"seed: {result['seed']}   model: {result['model']}   "
          f"notes added: {len(result['notes'])}")
    print(result["file"])
    return 0
