"""What the timeline's `G` (generate a source) asks for, as text, and the engine request
it becomes. No engine or model imports: the TUI stays light.

    parse_source("trio chain t=0.8 seed=42 steps=3")
    -> SourceSpec(kind="trio", chain=True, temperature=0.8, seed=42, steps=3)

The first word picks what to make (or its number, 1-4, as the prompt lists them):
`melody` (a 2-bar melody, MusicVAE cat-mel_2bar_big or what the engine resolves for
melodies), `melody chain` (an interpolation between two random melodies, played one
after another), `trio` (16 bars of melody, bass and drums, hierdec-trio_16bar) and
`trio chain`. Then, in any order: `t=0.8` (temperature), `seed=42`, `steps=4` (chains),
and for a chain between two files of yours instead of two random ends, the two MIDI
files (`a.mid b.mid`; paths without spaces, `~` allowed).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHOICES = (  # (number, words, what the prompt shows)
    ("1", "melody", "a 2-bar melody"),
    ("2", "melody chain", "2-bar melodies morphing from one random melody to another"),
    ("3", "trio", "16 bars of melody, bass and drums"),
    ("4", "trio chain", "16-bar trios morphing from one to another"),
)
PROMPT = ("generate a source: " + " · ".join(f"{n} {w}" for n, w, _ in CHOICES)
          + "; then t=TEMPERATURE seed=N steps=N [a.mid b.mid] (e.g. 3 t=0.8 seed=7)")
DEFAULT_TEXT = "melody t=1"
TEMPERATURE = (0.0, 2.0)  # the engine's bounds (engine/api/base.py Temperature)
STEPS = (2, 16)
SEED_MAX = 2**32 - 1
MODEL_OF = {"melody": "cat-mel_2bar_big", "trio": "hierdec-trio_16bar"}  # what is named when missing
DEFAULT_TEMPERATURE = {("melody", False): 1.0, ("melody", True): 0.5,
                       ("trio", False): 0.5, ("trio", True): 0.5}  # the methods' defaults
DEFAULT_STEPS = {"melody": 6, "trio": 3}


@dataclass(frozen=True)
class SourceSpec:
    kind: str  # "melody" | "trio"
    chain: bool  # interpolate between two random ends, joined into one file
    temperature: float
    seed: int | None = None
    steps: int | None = None
    ends: tuple[str, str] | None = None  # a chain's two MIDI files (absolute paths)

    @property
    def method(self) -> str:
        return f"{self.kind}.{'interpolate' if self.chain else 'sample'}"

    def describe(self) -> str:
        what = f"{self.kind} chain of {self.steps_or_default}" if self.chain else self.kind
        if self.ends:
            what += f" from {Path(self.ends[0]).name} to {Path(self.ends[1]).name}"
        return f"{what} · temperature {self.temperature:g}"

    @property
    def steps_or_default(self) -> int:
        return self.steps or DEFAULT_STEPS[self.kind]

    def params(self, seed: int, folder: str, override: dict[str, Any] | None = None,
               qpm: float = 120.0) -> dict[str, Any]:
        """The engine request's params: one file (a sample, or the joined chain) into
        `folder`; the model is the engine's default for the kind unless `override`
        names a checkpoint ({"checkpoint", "config"}) or a model."""
        p: dict[str, Any] = {"temperature": self.temperature, "seed": seed, "folder": folder,
                             **(override or {})}
        if not self.ends:  # between files, the chain keeps the tempo of the first
            p["qpm"] = qpm
        if self.chain:
            p.update(steps=self.steps_or_default, join=True)
            if self.ends:
                p.update(a=self.ends[0], b=self.ends[1])
        else:
            p["n"] = 1
        return p


def parse_source(text: str) -> SourceSpec:
    """A SourceSpec from what was typed; ValueError saying what to type instead."""
    words = text.replace(",", " ").split()
    if not words:
        raise ValueError(f"type what to generate: {PROMPT}")
    first = words.pop(0).lower()
    numbers = {n: w for n, w, _ in CHOICES}
    if first in numbers:
        kind, chain = numbers[first].split()[0], numbers[first].endswith("chain")
    elif first in ("melody", "trio"):
        kind = first
        chain = bool(words) and words[0].lower() in ("chain", "interpolate")
        if chain:
            words.pop(0)
    else:
        raise ValueError(f"cannot generate {first!r}: choose 1 melody, 2 melody chain, "
                         "3 trio or 4 trio chain")
    temperature, seed, steps = DEFAULT_TEMPERATURE[(kind, chain)], None, None
    files: list[str] = []
    for w in words:
        if chain and w.lower().endswith((".mid", ".midi")):
            files.append(str(Path(w).expanduser().resolve()))
            continue
        key, sep, value = w.lower().partition("=")
        if sep and key in ("t", "temp", "temperature"):
            temperature = _number(w, value, float, *TEMPERATURE, "temperature")
        elif sep and key == "seed":
            seed = int(_number(w, value, int, 0, SEED_MAX, "the seed"))
        elif sep and key == "steps" and chain:
            steps = int(_number(w, value, int, *STEPS, "steps"))
        elif w.lower().endswith((".mid", ".midi")):
            raise ValueError(f"{w!r}: MIDI files are the two ends of a chain, e.g. "
                             f"{'2' if kind == 'melody' else '4'} a.mid b.mid")
        else:
            raise ValueError(f"cannot read {w!r}: use t=0.8 (temperature), seed=42"
                             + (", steps=4" if chain else " (steps= is for chains)"))
    if len(files) not in (0, 2):
        raise ValueError(f"a chain runs between two MIDI files (a.mid b.mid) or two random "
                         f"ends (no files); {len(files)} given")
    return SourceSpec(kind, chain, temperature, seed, steps,
                      (files[0], files[1]) if files else None)


def _number(word: str, value: str, kind: type, lo: float, hi: float, what: str) -> float:
    try:
        x = kind(value)
    except ValueError:
        x = None
    if x is None or not lo <= x <= hi:
        whole, a, b = (("a whole number", int(lo), int(hi)) if kind is int
                       else ("a number", f"{lo:g}", f"{hi:g}"))
        raise ValueError(f"{word!r}: {what} must be {whole} from {a} to {b}")
    return x


def result_file(result: dict[str, Any]) -> str:
    """The one MIDI file a source job made: the joined chain, else the sample."""
    return (result.get("joined") or result["files"][0])["path"]
