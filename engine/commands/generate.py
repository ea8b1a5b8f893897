"""`magstation drums sample|interpolate|humanize|tap` and `magstation melody sample|interpolate`
(`melody continue`, MelodyRNN, lives in engine.commands.melody_rnn).

They run the same jobs as the workstation, in this process, write MIDI files into a
folder (drums on channel 10, tempo kept) and print the seed they used."""

from __future__ import annotations

import argparse
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
    p = _add(drums, "interpolate", api.drums.Interpolate, extra=("steps",), func=cmd_drums,
             help_text="interpolate between two 2-bar drum MIDI files", files="MIDI files")
    p.add_argument("a", type=Path, help="the first pattern (a drum MIDI file)")
    p.add_argument("b", type=Path, help="the last pattern (a drum MIDI file)")
    for name, cls, what in (("humanize", api.drums.Humanize, "give a quantized drum MIDI human timing and dynamics"),
                            ("tap", api.drums.Tap, "turn a tapped rhythm (MIDI, any pitch) into drums")):
        p = _add(drums, name, cls, extra=(), func=cmd_drums, help_text=what, files="MIDI files")
        p.add_argument("midi", type=Path, help="the MIDI file to read (its first 2 bars)")

    melody = sub.add_parser("melody", help="2-bar melodies with MusicVAE").add_subparsers(
        dest="melody_cmd", metavar="ACTION", required=True)
    _add(melody, "sample", api.melody.Sample, extra=("n", "qpm"), func=cmd_melody,
         help_text="sample new 2-bar melodies", files="MIDI files")
    p = _add(melody, "interpolate", api.melody.Interpolate, extra=("steps",), func=cmd_melody,
             help_text="interpolate between two melody MIDI files", files="MIDI files")
    p.add_argument("a", type=Path, help="the first melody (a MIDI file)")
    p.add_argument("b", type=Path, help="the last melody (a MIDI file)")
    from engine.commands.melody_rnn import add_continue

    add_continue(melody)


def _common(args: argparse.Namespace) -> dict[str, Any]:
    return params_from_args(args.params_cls, args)


def _drum_pattern(path: Path, tap: bool = False) -> dict[str, Any]:
    """A 2-bar pattern dict from a MIDI file (GM drums → 9 classes; a tapped rhythm of any
    pitch goes on the closed hi-hat row, where the tap converter reads it)."""
    import numpy as np

    from engine.music.grids import DrumGrid
    from engine.music.groove import taps_from_sequence
    from engine.music.midi_io import read_midi
    from engine.music.patterns import pattern_from_grid

    if tap:
        h, v, o, qpm = taps_from_sequence(read_midi(path), steps=32)
        hits = np.zeros((9, 32), bool)
        vel = np.zeros((9, 32), np.uint8)
        off = np.zeros((9, 32), np.float32)
        hits[2], vel[2], off[2] = h > 0, v, o
        return pattern_from_grid(DrumGrid(hits, vel, off, qpm))
    return pattern_from_grid(DrumGrid.from_sequence(read_midi(path, expect_drums=True), steps=32))


def cmd_drums(args: argparse.Namespace) -> int:
    from engine.local import run_method

    params = _common(args)
    if args.method == "drums.interpolate":
        params["a"], params["b"] = _drum_pattern(args.a), _drum_pattern(args.b)
    elif args.method in ("drums.humanize", "drums.tap"):
        params["pattern"] = _drum_pattern(args.midi, tap=args.method == "drums.tap")
    result = run_method(args.method, params)
    export = run_method("drums.export", {"patterns": result["patterns"], "folder": str(args.out),
                                         "per_pattern": True, "model": result["model"],
                                         "seed": result["seed"], "overwrite": args.overwrite},
                        quiet=True)
    print(f"seed: {result['seed']}   model: {result['model']}")
    for f in export["files"]:
        print(f)
    return 0


def cmd_melody(args: argparse.Namespace) -> int:
    from engine.local import run_method

    params = {**_common(args), "folder": str(args.out), "overwrite": args.overwrite}
    params.pop("a", None), params.pop("b", None)
    if args.method == "melody.interpolate":
        params["a"], params["b"] = str(args.a), str(args.b)
    result = run_method(args.method, params)
    print(f"seed: {result['seed']}   model: {result['model']}")
    for f in result["files"]:
        print(f["path"])
    return 0
