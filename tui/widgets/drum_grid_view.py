"""Draws a drum pattern: one band of rows per drum class, a few characters per 16th step.

The grid grows with the space it is given: each step gets as many columns as fit (two at
80 columns), and each drum class as many rows as fit (one at 80x24), up to MAX_CELL_W x
MAX_ROW_H. The first character of a cell shows micro-timing (‹ early, › late), the rest
the velocity: ▂▄▆█ in a one-row grid, a bar of eighths (▁…█) rising through the rows in a
taller one. Beats are separated by a thin space, bars by a bar line. The step playing is a
yellow column under a ▼.
"""

from __future__ import annotations

import math

from rich.text import Text
from textual.widget import Widget

from engine.music.drums import DRUM_CLASS_SHORT
from tui.drum_pattern import STEPS_PER_BAR, Pattern

VELOCITY_GLYPHS = "▂▄▆█"
BAR_EIGHTHS = " ▁▂▃▄▅▆▇█"
TIMING_THRESHOLD = 0.1  # offsets smaller than this fraction of a step draw as on-grid
LABEL_W = 5  # "KIK  "
MAX_CELL_W = 8
MAX_ROW_H = 4


def velocity_glyph(v: int) -> str:
    if v <= 0:
        return "·"
    return VELOCITY_GLYPHS[min(len(VELOCITY_GLYPHS) - 1, (v - 1) * len(VELOCITY_GLYPHS) // 127)]


def bar_glyph(v: int, row_from_bottom: int, rows: int) -> str:
    """The part of a velocity bar `rows` tall that falls in one text row."""
    if v <= 0:
        return "·" if row_from_bottom == 0 else " "
    fill = math.ceil(min(127, v) * 8 * rows / 127)
    return BAR_EIGHTHS[max(0, min(8, fill - 8 * row_from_bottom))]


def timing_glyph(offset: float, hit: bool) -> str:
    if not hit or abs(offset) < TIMING_THRESHOLD:
        return " "
    return "‹" if offset > 0 else "›"


def separators(steps: int) -> int:
    """Columns taken by the beat gaps and bar lines between `steps` steps."""
    return sum(1 for s in range(1, steps) if s % 4 == 0)


def cell_size(steps: int, classes: int, width: int, height: int) -> tuple[int, int]:
    """(columns per step, rows per drum class) for a grid `width` x `height` (the header
    takes a row)."""
    cell_w = (width - LABEL_W - separators(steps)) // max(1, steps)
    row_h = (height - 1) // max(1, classes)
    return max(2, min(MAX_CELL_W, cell_w)), max(1, min(MAX_ROW_H, row_h))


class DrumGridView(Widget):
    DEFAULT_CSS = "DrumGridView { height: 1fr; }"

    def __init__(self, pattern: Pattern, **kw) -> None:
        super().__init__(**kw)
        self.pattern = pattern
        self.cursor = (0, 0)  # (class row, step)
        self.playhead: int | None = None

    def show(self, pattern: Pattern, cursor: tuple[int, int], playhead: int | None = None) -> None:
        resized = len(pattern.velocities) != len(self.pattern.velocities)
        self.pattern, self.cursor, self.playhead = pattern, cursor, playhead
        if resized:
            self.styles.min_height = len(pattern.velocities) + 1
        self.refresh()

    def on_mount(self) -> None:
        self.styles.min_height = len(self.pattern.velocities) + 1

    def cell_size(self) -> tuple[int, int]:
        p = self.pattern
        return cell_size(p.steps, len(p.velocities), self.size.width, self.size.height)

    def render(self) -> Text:
        p = self.pattern
        cell_w, row_h = self.cell_size()
        out = Text(no_wrap=True, overflow="crop")
        out.append(" " * LABEL_W)
        for s in range(p.steps):
            if s and s % STEPS_PER_BAR == 0:
                out.append("│")
            elif s and s % 4 == 0:
                out.append(" ")
            label = str(s // STEPS_PER_BAR + 1) if s % STEPS_PER_BAR == 0 else ("." if s % 4 == 0 else " ")
            if s == self.playhead:
                out.append("▼".ljust(cell_w), style="bold yellow")
            else:
                out.append(label.ljust(cell_w), style="dim")
        for c, row in enumerate(p.velocities):
            for k in range(row_h):
                from_bottom = row_h - 1 - k
                out.append("\n")
                label = DRUM_CLASS_SHORT[c] if from_bottom == 0 else ""
                out.append(f"{label:>3}  ", style="bold")
                for s, v in enumerate(row):
                    if s and s % STEPS_PER_BAR == 0:
                        out.append("│", style="dim")
                    elif s and s % 4 == 0:
                        out.append(" ")
                    first = timing_glyph(p.offsets[c][s], v > 0) if from_bottom == 0 else " "
                    body = velocity_glyph(v) if row_h == 1 else bar_glyph(v, from_bottom, row_h)
                    cell = first + (body * (cell_w - 1) if v > 0 else body.ljust(cell_w - 1))
                    if s == self.playhead:  # a bright column, seen at a glance
                        style = "bold black on yellow" if v > 0 else "black on #8a7a00"
                    else:
                        style = "cyan" if v > 0 else "grey50"
                    if (c, s) == self.cursor:
                        style = "reverse " + style
                    out.append(cell, style=style)
        return out
