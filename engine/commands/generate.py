"""`magstation drums sample|interpolate|humanize|tap`, `magstation melody sample|interpolate`
(`melody continue`, MelodyRNN, lives in engine.commands.melody_rnn) and `magstation trio
sample|interpolate` (16-bar melody + bass + drums).

They run the same jobs as the workstation, in this process, write MIDI files into a
folder (drums on channel 10, tempo kept) and print the seed they used."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from engine import api
from engine.cli_options import add_options, params_from_args


MODEL_FIELDS = ("model", "checkpoint", "config", "temperature", "seed")


def _add(family: argparse._SubParsersAction, name: str, cls: type, *, extra: tuple[str, ...],
         help_text: str, func: Any, files: str) -> argparse.ArgumentParser:
    """A subcommand whose options come from the method's declared params."""
    p = family.add_parser(name, help=help_text, description=cls.__doc__)
    add_options(p, cls, only=MODEL_FIELDS + extra, short={"n": "-n"})
    p.add_argument("-o", "--out", type=Path, default=Path("."), help=f"folder for the {files}")
    p.add_argument("--overwrite", action="store_true", help="replace files that exist")
    p.set_defaults(func=func, method=api.method_of_class(cls), params_cls=cls)
    return p


def register(sub: argparse._SubParsersAction) -> None:
    drums = sub.add_parser("drums", help="drum patterns with MusicVAE/GrooVAE").add_subparsers(
        dest="drums_cmd", metavar="ACTION", required=True)
    _add(drums, "sample", api.drums.Sample, extra=("n", "qpm", "same_z"), func=cmd_drums,
         help_text="sample new 2-bar patterns", files="MIDI files")
    p = _add(drums, "interpolate", api.drums.Interpolate, extra=("steps", "ends"), func=cmd_drums,
             help_text="interpolate between two 2-bar drum MIDI files", files="MIDI files")
    p.add_argument("a", type=Path, help="the first pattern (a drum MIDI file)")
    p.add_argument("b", type=Path, help="the last pattern (a drum MIDI file)")
    for name, cls, what in (("humanize", api.drums.Humanize, "give a quantized drum MIDI human timing and dynamics"),
                            ("tap", api.drums.Tap, "turn a tapped rhythm (MIDI, any pitch) into drums")):
        p = _add(drums, name, cls, extra=("keep_hits",), func=cmd_drums, help_text=what,
                 files="MIDI file")
        p.add_argument("midi", type=Path, help="the MIDI file to read: all of it, 2 bars at a "
                       "time, written back as one file of the same length")

    melody = sub.add_parser("melody", help="2-bar melodies with MusicVAE").add_subparsers(
        dest="melody_cmd", metavar="ACTION", required=True)
    _add(melody, "sample", api.melody.Sample, extra=("n", "qpm"), func=cmd_melody,
         help_text="sample new 2-bar melodies", files="MIDI files")
    p = _add(melody, "interpolate", api.melody.Interpolate, extra=("steps", "qpm", "join"),
             func=cmd_melody, files="MIDI files",
             help_text="interpolate between two melody MIDI files (none: two random melodies)")
    _ends(p, "melody")
    from engine.commands.melody_rnn import add_continue

    add_continue(melody)

    trio = sub.add_parser("trio", help="16-bar trios (melody, bass, drums) with MusicVAE"
                          ).add_subparsers(dest="trio_cmd", metavar="ACTION", required=True)
    _add(trio, "sample", api.trio.Sample, extra=("n", "qpm"), func=cmd_melody,
         help_text="sample new 16-bar trios", files="MIDI files")
    p = _add(trio, "interpolate", api.trio.Interpolate, extra=("steps", "qpm", "join"),
             func=cmd_melody, files="MIDI files",
             help_text="interpolate between two trio MIDI files (none: two random trios)")
    _ends(p, "trio")


def _ends(p: argparse.ArgumentParser, what: str) -> None:
    """An interpolation's two ends: two MIDI files, or neither (two random ends)."""
    p.add_argument("a", type=Path, nargs="?", help=f"the first {what} (a MIDI file)")
    p.add_argument("b", type=Path, nargs="?", help=f"the last {what} (a MIDI file); give "
                   "both files or neither (two random ends drawn from the seed)")


def _common(args: argparse.Namespace) -> dict[str, Any]:
    return params_from_args(args.params_cls, args)


def _drum_pattern(path: Path) -> dict[str, Any]:
    """The first 2 bars of a drum MIDI file as a pattern (GM drums → 9 classes), for
    interpolation's two ends; warns on stderr when the file is longer."""
    from engine.local import run_method

    res = run_method("drums.import_midi", {"path": str(path), "max_bars": 2}, quiet=True)
    for w in res["warnings"]:
        print(f"warning: {path.name}: {w} (interpolation starts/ends on a file's first 2 bars)"
              if w.startswith("read bars") else f"warning: {path.name}: {w}", file=sys.stderr)
    return res["patterns"][0]


def cmd_drums(args: argparse.Namespace) -> int:
    from engine.local import run_method

    params = _common(args)
    per_pattern = True
    if args.method == "drums.interpolate":
        params["a"], params["b"] = _drum_pattern(args.a), _drum_pattern(args.b)
    elif args.method in ("drums.humanize", "drums.tap"):
        # the whole file, 2 bars at a time; written back as one file of the same length
        read = run_method("drums.import_midi", {"path": str(args.midi),
                                                "tap": args.method == "drums.tap"}, quiet=True)
        for w in read["warnings"]:
            print(f"warning: {args.midi.name}: {w}", file=sys.stderr)
        params["patterns"] = read["patterns"]
        per_pattern = False
    result = run_method(args.method, params)
    export = run_method("drums.export", {"patterns": result["patterns"], "folder": str(args.out),
                                         "per_pattern": per_pattern, "model": result["model"],
                                         "seed": result["seed"], "overwrite": args.overwrite},
                        quiet=True)
    extra = ""
    if args.method in ("drums.humanize", "drums.tap"):
        extra = (f"   {2 * len(result['patterns'])} bars   "
                 + ("keeps your hits" if result.get("keep_hits") else "free (hits may change)"))
    elif args.method == "drums.interpolate":
        extra = ("   ends: a and b as given" if result.get("ends") == "yours"
                 else "   ends: the model's reconstructions of a and b")
    print(f"seed: {result['seed']}   model: {result['model']}{extra}")
    for f in export["files"]:
        print(f)
    return 0


def cmd_melody(args: argparse.Namespace) -> int:
    """melody and trio sample/interpolate: print the seed, then the files written."""
    from engine.local import run_method

    params = {**_common(args), "folder": str(args.out), "overwrite": args.overwrite}
    params.pop("a", None), params.pop("b", None)
    if args.method.endswith(".interpolate"):
        if (args.a is None) != (args.b is None):
            print("error: give two MIDI files (a and b) or none (two random ends)",
                  file=sys.stderr)
            return 2
        if args.a is not None:
            params["a"], params["b"] = str(args.a), str(args.b)
    result = run_method(args.method, params)
    print(f"seed: {result['seed']}   model: {result['model']}")
    for f in result["files"]:
        print(f["path"])
    if result.get("joined"):
        print(f"{result['joined']['path']}   (the whole chain)")
    return 0
