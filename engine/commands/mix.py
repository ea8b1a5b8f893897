"""`magstation mix recipes|rerender`: the mixes kept from the mix pane, from the shell.

    magstation mix recipes                         # every kept mix with its recipe
    magstation mix rerender ~/.magstation/library/mix-a-b-s7.wav --out again/
"""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.commands.nsynth import _report, _run

from engine import api
from engine.api.base import field_help


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("mix", help="latent mixes kept in the library, with their recipes")
    sub = p.add_subparsers(dest="mix_command", required=True)
    s = sub.add_parser("recipes", help="list kept mixes and their recipes, newest first")
    s.add_argument("--limit", type=int, default=200, help=field_help(api.mix.Recipes, "limit"))
    s.set_defaults(func=cmd_recipes)
    s = sub.add_parser("rerender", help="render a kept mix again from its recipe")
    s.add_argument("sound", type=Path, help="a sound kept from the mix pane (k)")
    s.add_argument("--out", type=Path, default=Path("."), help="folder for <name>.wav")
    s.set_defaults(func=cmd_rerender)


def cmd_recipes(args: argparse.Namespace) -> int:
    from engine.local import run_method
    return _report(lambda: run_method("mix.recipes", {"limit": args.limit}, quiet=True))


def cmd_rerender(args: argparse.Namespace) -> int:
    from engine.local import run_method

    def go() -> dict:
        kept = run_method("mix.recipe", {"path": str(args.sound.expanduser().absolute())}, quiet=True)
        return _run("nsynth.synth", kept["synth_params"], args.out)
    return _report(go)
