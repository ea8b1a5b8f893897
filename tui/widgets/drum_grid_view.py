"""Draws a drum pattern: one row per drum class, two characters per 16th step.

The first character of a cell shows micro-timing (‹ early, › late), the second the
velocity (▂▄▆█). Beats are separated by a thin space, bars by a bar line. The step
playing is a yellow column under a ▼.
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from engine.music.drums import DRUM_CLASS_SHORT
from tui.drum_pattern import STEPS_PER_BAR, Pattern

VELOCITY_GLYPHS = "▂▄▆█"
TIMING_THRESHOLD = 0.1  # offsets smaller than this fraction of a step draw as on-grid


def velocity_glyph(v: int) -> str:
    if v <= 0:
        return "·"
    return VELOCITY_GLYPHS[min(len(VELOCITY_GLYPHS) - 1, (v - 1) * len(VELOCITY_GLYPHS) // 127)]


def timing_glyph(offset: float, hit: bool) -> str:
    if not hit or abs(offset) < TIMING_THRESHOLD:
        return " "
    return "‹" if offset > 0 else "›"


class DrumGridView(Widget):
    DEFAULT_CSS = "DrumGridView { height: auto; }"

    def __init__(self, pattern: Pattern, **kw) -> None:
        super().__init__(**kw)
        self.pattern = pattern
        self.cursor = (0, 0)  # (class row, step)
        self.playhead: int | None = None

    def show(self, pattern: Pattern, cursor: tuple[int, int], playhead: int | None = None) -> None:
        self.pattern, self.cursor, self.playhead = pattern, cursor, playhead
        self.refresh(layout=True)

    def get_content_height(self, container, viewport, width) -> int:
        return len(self.pattern.velocities) + 1

    def render(self) -> Text:
        p = self.pattern
        out = Text()
        out.append("     ")
        for s in range(p.steps):
            if s and s % STEPS_PER_BAR == 0:
                out.append("│")
            elif s and s % 4 == 0:
                out.append(" ")
            label = str(s // STEPS_PER_BAR + 1) if s % STEPS_PER_BAR == 0 else ("." if s % 4 == 0 else " ")
            if s == self.playhead:
                out.append("▼ ", style="bold yellow")
            else:
                out.append(f"{label:<2}", style="dim")
        out.append("\n")
        for c, row in enumerate(p.velocities):
            out.append(f"{DRUM_CLASS_SHORT[c]:>3}  ", style="bold")
            for s, v in enumerate(row):
                if s and s % STEPS_PER_BAR == 0:
                    out.append("│", style="dim")
                elif s and s % 4 == 0:
                    out.append(" ")
                cell = timing_glyph(p.offsets[c][s], v > 0) + velocity_glyph(v)
                if s == self.playhead:  # a bright column, seen at a glance
                    style = "bold black on yellow" if v > 0 else "black on #8a7a00"
                else:
                    style = "cyan" if v > 0 else "grey50"
                if (c, s) == self.cursor:
                    style = "reverse " + style
                out.append(cell, style=style)
            if c < len(p.velocities) - 1:
                out.append("\n")
        return out
