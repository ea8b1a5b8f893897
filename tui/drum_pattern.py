"""A drum pattern as the drum grid edits it: velocities and micro-timing per class and step,
with undo. Plain lists (no numpy, no note_seq) so the TUI stays light; the wire form is
`to_dict()`, the same dict the engine's drum jobs take and return."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

NUM_CLASSES = 9
STEPS_PER_BAR = 16
DEFAULT_VELOCITY = 80
VELOCITY_STEP = 16

# engine/api/drums.py Provenance: what a pattern may say about where it came from
_PROVENANCE_TYPES: dict[str, tuple[type, ...]] = {
    "method": (str,), "model": (str,), "seed": (int,), "temperature": (int, float),
    "mode": (str,), "sources": (list,), "index": (int,), "of": (int,), "edited": (bool,)}


def clean_provenance(prov: Any) -> dict[str, Any] | None:
    """The provenance keys the engine accepts, with the right types (a hand-edited session
    must not make every engine call fail); None when there is nothing usable."""
    if not isinstance(prov, dict) or not isinstance(prov.get("method"), str):
        return None
    out = {k: v for k, v in prov.items()
           if k in _PROVENANCE_TYPES and isinstance(v, _PROVENANCE_TYPES[k])
           and not (isinstance(v, bool) and k != "edited")}
    if "sources" in out:
        out["sources"] = [str(x)[:300] for x in out["sources"][:16]]
    return out


def describe(prov: dict[str, Any] | None) -> str:
    """One line on where a pattern came from, for the header and the history."""
    if not prov:
        return "drawn by hand"
    method = prov["method"].removeprefix("drums.")
    if method == "file":
        text = "from " + (prov.get("sources") or ["a file"])[0]
    elif method == "given":
        text = "your pattern"
    else:
        mode = {"keep-hits": " (keeps hits)", "free": " (free)",
                "reconstruction": " (model's reconstruction)", "between": ""}.get(prov.get("mode"), "")
        text = method + mode
        if prov.get("of"):
            text += f" {prov.get('index', 0) + 1}/{prov['of']}"
        if prov.get("seed") is not None:
            text += f" · seed {prov['seed']}"
        if prov.get("temperature") is not None:
            text += f" · T {prov['temperature']:.1f}"
        if prov.get("model"):
            text += f" · {prov['model']}"
        if method in ("humanize", "tap") and prov.get("sources"):
            text += f" · of {prov['sources'][0]}"
    return text + (" · edited" if prov.get("edited") else "")


@dataclass
class Pattern:
    velocities: list[list[int]]  # [class][step]; 0 means no hit
    offsets: list[list[float]]  # [class][step]; fraction of a step, positive = early (GrooVAE's sign)
    qpm: float = 120.0
    provenance: dict[str, Any] | None = None  # where it came from (engine Provenance)

    @classmethod
    def empty(cls, bars: int = 2, qpm: float = 120.0) -> "Pattern":
        steps = bars * STEPS_PER_BAR
        return cls([[0] * steps for _ in range(NUM_CLASSES)],
                    [[0.0] * steps for _ in range(NUM_CLASSES)], qpm)

    @property
    def steps(self) -> int:
        return len(self.velocities[0])

    def hit_count(self) -> int:
        return sum(1 for row in self.velocities for v in row if v > 0)

    def to_dict(self) -> dict[str, Any]:
        d = {"velocities": self.velocities, "offsets": self.offsets, "qpm": self.qpm}
        if self.provenance:
            d["provenance"] = self.provenance
        return d

    def mark_edited(self) -> None:
        """A hand edit: the pattern is no longer exactly what its source made."""
        if self.provenance and not self.provenance.get("edited"):
            self.provenance = {**self.provenance, "edited": True}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Pattern":
        vel = [[max(0, min(127, int(v))) for v in row] for row in d["velocities"]]
        if len(vel) != NUM_CLASSES or len({len(r) for r in vel}) != 1:
            raise ValueError(f"a pattern needs {NUM_CLASSES} rows of equal length")
        offs = d.get("offsets") or [[0.0] * len(vel[0]) for _ in vel]
        return cls(vel, [[float(o) for o in row] for row in offs], float(d.get("qpm", 120.0)),
                   clean_provenance(d.get("provenance")))


S = TypeVar("S")


@dataclass
class EditHistory(Generic[S]):
    """Undo/redo of whole snapshots (the drum grid's: the pattern with its tempo, and the
    swing; patterns are small: 9 × 32 cells)."""

    undo_stack: list[S] = field(default_factory=list)
    redo_stack: list[S] = field(default_factory=list)
    limit: int = 200

    def record(self, before: S) -> None:
        self.undo_stack.append(copy.deepcopy(before))
        del self.undo_stack[:-self.limit]
        self.redo_stack.clear()

    def undo(self, current: S) -> S | None:
        if not self.undo_stack:
            return None
        self.redo_stack.append(copy.deepcopy(current))
        return self.undo_stack.pop()

    def redo(self, current: S) -> S | None:
        if not self.redo_stack:
            return None
        self.undo_stack.append(copy.deepcopy(current))
        return self.redo_stack.pop()
