"""A drum pattern as the drum grid edits it: velocities and micro-timing per class and step,
with undo. Plain lists (no numpy, no note_seq) so the TUI stays light; the wire form is
`to_dict()`, the same dict the engine's drum jobs take and return."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

NUM_CLASSES = 9
STEPS_PER_BAR = 16
DEFAULT_VELOCITY = 80
VELOCITY_STEP = 16


@dataclass
class Pattern:
    velocities: list[list[int]]  # [class][step]; 0 means no hit
    offsets: list[list[float]]  # [class][step]; fraction of a step, positive = early (GrooVAE's sign)
    qpm: float = 120.0

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
        return {"velocities": self.velocities, "offsets": self.offsets, "qpm": self.qpm}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Pattern":
        vel = [[max(0, min(127, int(v))) for v in row] for row in d["velocities"]]
        if len(vel) != NUM_CLASSES or len({len(r) for r in vel}) != 1:
            raise ValueError(f"a pattern needs {NUM_CLASSES} rows of equal length")
        offs = d.get("offsets") or [[0.0] * len(vel[0]) for _ in vel]
        return cls(vel, [[float(o) for o in row] for row in offs], float(d.get("qpm", 120.0)))


@dataclass
class EditHistory:
    """Undo/redo of whole-pattern snapshots (patterns are small: 9 × 32 cells)."""

    undo_stack: list[Pattern] = field(default_factory=list)
    redo_stack: list[Pattern] = field(default_factory=list)
    limit: int = 200

    def record(self, before: Pattern) -> None:
        self.undo_stack.append(copy.deepcopy(before))
        del self.undo_stack[:-self.limit]
        self.redo_stack.clear()

    def undo(self, current: Pattern) -> Pattern | None:
        if not self.undo_stack:
            return None
        self.redo_stack.append(copy.deepcopy(current))
        return self.undo_stack.pop()

    def redo(self, current: Pattern) -> Pattern | None:
        if not self.redo_stack:
            return None
        self.undo_stack.append(copy.deepcopy(current))
        return self.redo_stack.pop()
