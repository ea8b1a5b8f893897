"""`magstation`: with no command it opens the workstation; otherwise a headless command.

Each command family lives in engine/commands/; this module only assembles them.
Imports stay light: TensorFlow is loaded only by the command that needs a model.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from engine.commands import COMMAND_MODULES
from engine.errors import EngineError
from engine.memory import tune_heap


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="magstation",
        description="A terminal workstation for Magenta's generative music models. "
                    "Run with no command to open the workstation.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
    tune_heap()  # before TensorFlow allocates anything (engine/memory.py)
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        from tui.app import run_app
        return run_app()
    try:
        return int(args.func(args) or 0)
    except EngineError as e:
        print(f"magstation: {e.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("magstation: interrupted", file=sys.stderr)
        return 130
