"""`magstation models ...`: list, pull, import, verify and remove checkpoints.

    magstation models list [--json]
    magstation models pull NAME [--url URL] [--force]
    magstation models import PATH [--name NAME] [--family F] [--config C] [--force]
    magstation models verify NAME
    magstation models path NAME
    magstation models remove NAME
    magstation models roles

Each command function takes the parsed args and returns an exit status; engine errors
(ModelNotInstalled, CheckpointError, BadInput...) propagate for the CLI to print.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TextIO

from engine import checkpoints as ck


class ProgressBar:
    """A one-line text progress bar on stderr (a line per 10% when not a terminal)."""

    def __init__(self, stream: TextIO | None = None, width: int = 30) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = self.stream.isatty()
        self._last_decile = -1
        self._t0 = time.monotonic()

    def __call__(self, done: float, total: float, message: str = "") -> None:
        frac = done / total if total else 0.0
        size = (f"{ck.human_size(done)}/{ck.human_size(total)}" if total
                else ck.human_size(done))
        elapsed = time.monotonic() - self._t0
        rate = f" {ck.human_size(done / elapsed)}/s" if elapsed > 0.5 else ""
        if self.tty:
            fill = int(frac * self.width)
            bar = "#" * fill + "-" * (self.width - fill)
            self.stream.write(f"\r{message} [{bar}] {frac:4.0%} {size}{rate}\x1b[K")
            if total and done >= total:
                self.stream.write("\n")
            self.stream.flush()
        else:
            decile = int(frac * 10)
            if decile != self._last_decile:
                self._last_decile = decile
                self.stream.write(f"{message}: {frac:.0%} {size}\n")
                self.stream.flush()


def cmd_list(args: argparse.Namespace) -> int:
    rows = ck.list_checkpoints()
    if getattr(args, "json", False):
        print(json.dumps([r.to_dict() for r in rows], indent=2))
        return 0
    name_w = max(len(r.info.name) for r in rows) if rows else 10
    print(f"{'NAME':<{name_w}}  {'FAMILY':<10}  {'SIZE':>9}  STATUS")
    estimated = False
    for r in rows:
        i = r.info
        size = ck.human_size(r.disk_size) if r.installed else i.size_text
        estimated = estimated or (not r.installed and i.size_estimated)
        if i.shipped:
            status = f"shipped    {r.path}" if r.installed else "shipped, but missing from checkpoints/"
        else:
            status = f"installed  {r.path}" if r.installed else f"not installed  ({i.pull_command})"
        if i.custom:
            status += "  [imported]"
        if r.roles:
            status += f"  used by: {', '.join(r.roles)}"
        print(f"{i.name:<{name_w}}  {i.family:<10}  {size:>9}  {status}")
    if estimated:
        print("~ size estimated from the parameter count: the download may be larger (official "
              "checkpoints can carry optimizer slots, ~3x the weights)")
    return 0


def cmd_pull(args: argparse.Namespace) -> int:
    path = ck.pull(args.name, url=args.url, force=args.force, progress=ProgressBar())
    print(f"{args.name}: installed at {path}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    path = ck.import_checkpoint(args.path, args.name, family=args.family, config=args.config,
                                force=args.force)
    name = path.relative_to(ck.checkpoints_dir()).parts[0]
    info = ck.get_info(name)
    print(f"{name}: imported to {path} ({info.family}, config {info.config})")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    res = ck.verify(args.name)
    for note in res.notes:
        print(f"note: {note}")
    for p in res.problems:
        print(f"problem: {p}")
    if res.ok:
        print(f"{res.name}: OK, {res.checked} variables checked ({res.path})")
        return 0
    print(f"{res.name}: {len(res.problems)} problem(s); {ck.reinstall_hint(ck.get_info(res.name))}")
    return 1


def cmd_remove(args: argparse.Namespace) -> int:
    folder = ck.remove_model(args.name)
    print(f"{args.name}: removed {folder}")
    return 0


def cmd_roles(args: argparse.Namespace) -> int:
    """Which model each job uses when none is named: the first installed of its list."""
    installed = {r.info.name for r in ck.list_checkpoints() if r.installed}
    for role, names in sorted(ck.load_roles().items()):
        chosen = next((n for n in names if n in installed), None)
        marks = [f"{n}{' *' if n == chosen else ''}" for n in names]
        print(f"{role:<20} {', '.join(marks)}" + ("" if chosen else "  (none installed)"))
    print("* the model used now (the first installed)")
    return 0


def cmd_path(args: argparse.Namespace) -> int:
    print(ck.resolve(args.name))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "models", help="list, download, import, verify and remove checkpoints",
        description="Models live in checkpoints/NAME/ (or $MAGSTATION_CHECKPOINTS). Jobs that "
                    "name no model use the first installed model of their role (`models roles`); "
                    "starter models that ship with magstation are the fallback.")
    sub = p.add_subparsers(dest="models_command", metavar="COMMAND", required=True)

    s = sub.add_parser("list", help="known checkpoints, installed or not, size, where")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(func=cmd_list)

    s = sub.add_parser("pull", help="download and install a checkpoint (resumes)")
    s.add_argument("name", help="a checkpoint name from `magstation models list`")
    s.add_argument("--url", help="download from this mirror instead of the manifest's URL")
    s.add_argument("--force", action="store_true", help="download again even if installed")
    s.set_defaults(func=cmd_pull)

    s = sub.add_parser("import", help="install from a folder, checkpoint prefix, .tar/.zip or .mag")
    s.add_argument("path", help="a checkpoint folder, prefix (e.g. .../cat-mel_2bar_big.ckpt), "
                   ".tar/.tar.gz/.zip or .mag")
    s.add_argument("--name", help="install under this name (default: from the file name)")
    s.add_argument("--family", choices=sorted(ck.FAMILY_MODULES),
                   help="model family, for names the manifest does not know")
    s.add_argument("--config", help="model config, for names the manifest does not know "
                   "(default: the matched manifest entry's, or a .mag bundle's generator id)")
    s.add_argument("--force", action="store_true",
                   help="replace an installed model of that name (only if the new one verifies)")
    s.set_defaults(func=cmd_import)

    s = sub.add_parser("verify", help="check every variable the model needs is there")
    s.add_argument("name", help="a checkpoint name from `magstation models list`")
    s.set_defaults(func=cmd_verify)

    s = sub.add_parser("path", help="print the path a loader opens for a checkpoint")
    s.add_argument("name", help="a checkpoint name from `magstation models list`")
    s.set_defaults(func=cmd_path)

    s = sub.add_parser("remove", help="delete an installed model (starter models are kept)")
    s.add_argument("name", help="an installed checkpoint name")
    s.set_defaults(func=cmd_remove)

    s = sub.add_parser("roles", help="which model each job uses when none is named")
    s.set_defaults(func=cmd_roles)
