"""The line under the drum grid: the cell under the cursor (drum class, step, velocity and
micro-timing, or a rest) and whether the loop plays. Drawn from reactive attributes the
pane sets."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widget import Widget

from engine.music.drums import DRUM_CLASS_NAMES

TIMING_SHOWN = 0.01  # offsets smaller than this (a fraction of a step) are on the grid


class DrumCell(Widget):
    DEFAULT_CSS = "DrumCell { height: auto; }"

    drum_class: reactive[int] = reactive(0)
    step: reactive[int] = reactive(0)
    velocity: reactive[int] = reactive(0)  # 0: a rest
    offset: reactive[float] = reactive(0.0)  # fraction of a step, positive = early
    playing: reactive[bool] = reactive(False)

    def render(self) -> str:
        v, timing = self.velocity, self.offset
        cell = (f"velocity {v}" + (f", {timing:+.2f} step" if abs(timing) >= TIMING_SHOWN else "")
                if v else "rest")
        play = "  ▶ looping" if self.playing else ""
        return f"{DRUM_CLASS_NAMES[self.drum_class]} · step {self.step + 1} · {cell}{play}"
