"""`magstation drums sample|interpolate|humanize|tap` and `magstation melody sample|interpolate`
(`melody continue`, MelodyRNN, lives in engine.commands.melody_rnn).

They run the same jobs as the workstation, in this process, write MIDI files into a
folder (drums on channel 10, tempo kept) and print the seed they used."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def _model_args(p: argparse.ArgumentParser, default_hint: str) -> None:
    p.add_argument("--model", help=f"installed checkpoint name (default: {default_hint})")
    p.add_argument("--checkpoint", type=Path, help="a checkpoint path instead of --model")
    p.add_argument("--config", help="the MusicVAE config of --checkpoint")
    p.add_argument("--temperature", type=float, default=None)
    p.add_argument("--seed", type=int, default=None, help="same seed, same notes (default: random)")
    p.add_argument("-o", "--out", type=Path, default=Path("."), help="folder for the MIDI files")
    p.add_argument("--overwrite", action="store_true", help="replace files that exist")


def register(sub: argparse._SubParsersAction) -> None:
    drums = sub.add_parser("drums", help="drum patterns with MusicVAE/GrooVAE").add_subparsers(
        dest="drums_cmd", metavar="ACTION", required=True)
    p = drums.add_parser("sample", help="sample new 2-bar patterns")
    p.add_argument("-n", type=int, default=4)
    p.add_argument("--qpm", type=float, default=120.0)
    _model_args(p, "cat-drums_2bar_small.lokl, else the starter model")
    p.set_defaults(func=cmd_drums, method="drums.sample")
    p = drums.add_parser("interpolate", help="interpolate between two 2-bar drum MIDI files")
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    p.add_argument("--steps", type=int, default=6)
    _model_args(p, "cat-drums_2bar_small.hikl")
    p.set_defaults(func=cmd_drums, method="drums.interpolate")
    for name, what in (("humanize", "give a quantized drum MIDI human timing and dynamics"),
                       ("tap", "turn a tapped rhythm (MIDI, any pitch) into drums")):
        p = drums.add_parser(name, help=what)
        p.add_argument("midi", type=Path)
        _model_args(p, "groovae_2bar_humanize" if name == "humanize" else "groovae_2bar_tap_fixed_velocity")
        p.set_defaults(func=cmd_drums, method=f"drums.{name}")

    melody = sub.add_parser("melody", help="2-bar melodies with MusicVAE").add_subparsers(
        dest="melody_cmd", metavar="ACTION", required=True)
    p = melody.add_parser("sample", help="sample new 2-bar melodies")
    p.add_argument("-n", type=int, default=4)
    p.add_argument("--qpm", type=float, default=120.0)
    _model_args(p, "cat-mel_2bar_big")
    p.set_defaults(func=cmd_melody, method="melody.sample")
    p = melody.add_parser("interpolate", help="interpolate between two melody MIDI files")
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    p.add_argument("--steps", type=int, default=6)
    _model_args(p, "cat-mel_2bar_big")
    p.set_defaults(func=cmd_melody, method="melody.interpolate")
    from engine.commands.melody_rnn import add_continue

    add_continue(melody)


def _common(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {"seed": args.seed}
    if args.temperature is not None:
        params["temperature"] = args.temperature
    if args.model:
        params["model"] = args.model
    if args.checkpoint:
        params["checkpoint"] = str(args.checkpoint)
        params["config"] = args.config
    for key in ("n", "qpm", "steps"):
        if hasattr(args, key):
            params[key] = getattr(args, key)
    return params


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
    if args.method == "melody.interpolate":
        params["a"], params["b"] = str(args.a), str(args.b)
    result = run_method(args.method, params)
    print(f"seed: {result['seed']}   model: {result['model']}")
    for f in result["files"]:
        print(f["path"])
    return 0
