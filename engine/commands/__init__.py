"""Headless CLI subcommands. Each module here defines `register(subparsers)` and adds
its own `magstation <command> ...` parsers; the chosen parser's `func(args)` runs it.

Add a module name to COMMAND_MODULES when you add a command family.
"""

COMMAND_MODULES = [
    "engine.commands.core",
    "engine.commands.listen",
    "engine.commands.models",
    "engine.commands.generate",
    "engine.commands.gansynth",
    "engine.commands.library",
    "engine.commands.nsynth",
    "engine.commands.mix",
    "engine.commands.train",
    "engine.commands.batch",
]
