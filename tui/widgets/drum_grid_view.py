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

from rich.segment import Segment
from rich.text import Text
from textual.content import Content
from textual.geometry import Region
from textual.strip import Strip
from textual.style import Style as VisualStyle
from textual.visual import Visual, visualize
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


LineKey = tuple  # everything one text line of the grid is drawn from (see DrumGridView._line_key)


class DrumGridView(Widget):
    """Draws one text line at a time (Textual's line API) and keeps each line it drew with
    what it was drawn from: an arrow key redraws the two drum classes the cursor left and
    entered, and a playhead step the lines that changed, not the whole grid (which took
    most of a keypress's CPU time while the engine rendered)."""

    DEFAULT_CSS = "DrumGridView { height: 1fr; }"

    def __init__(self, pattern: Pattern, **kw) -> None:
        super().__init__(**kw)
        self.pattern = pattern
        self.cursor = (0, 0)  # (class row, step)
        self.playhead: int | None = None
        self._shown: list[LineKey] = []  # the key of each line as last asked to show
        self._strips: dict[int, tuple[LineKey, Strip]] = {}  # y -> (its key, the line drawn)
        self._styles: dict[tuple[VisualStyle, str], VisualStyle] = {}

    def show(self, pattern: Pattern, cursor: tuple[int, int], playhead: int | None = None) -> None:
        resized = len(pattern.velocities) != len(self.pattern.velocities)
        self.pattern, self.cursor, self.playhead = pattern, cursor, playhead
        if resized:
            self.styles.min_height = len(pattern.velocities) + 1
        keys = self._line_keys()
        if resized or len(keys) != len(self._shown):
            self.refresh()
        else:
            width = self.size.width
            changed = [Region(0, y, width, 1) for y, (old, new) in enumerate(zip(self._shown, keys))
                       if old != new]
            if changed:
                self.refresh(*changed)
        self._shown = keys

    def on_mount(self) -> None:
        self.styles.min_height = len(self.pattern.velocities) + 1

    def refresh(self, *regions: Region, repaint: bool = True, layout: bool = False,
                recompose: bool = False) -> "DrumGridView":
        if repaint and not regions:
            # Everything is drawn again (a new size, theme or style): nothing kept is used.
            self._strips.clear()
            self._styles.clear()
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def on_resize(self) -> None:
        self._shown = self._line_keys()

    def cell_size(self) -> tuple[int, int]:
        p = self.pattern
        return cell_size(p.steps, len(p.velocities), self.size.width, self.size.height)

    # -- what each line is drawn from ---------------------------------------------------
    def _line_keys(self) -> list[LineKey]:
        rows = len(self.pattern.velocities)
        _, row_h = self.cell_size()
        return [self._line_key(y, row_h) for y in range(1 + rows * row_h)]

    def _line_key(self, y: int, row_h: int) -> LineKey:
        p, (cur_c, cur_s) = self.pattern, self.cursor
        if y == 0:
            return (p.steps, self.playhead)
        c, k = divmod(y - 1, row_h)
        return (p.steps, row_h, k, tuple(p.velocities[c]),
                tuple(p.offsets[c]) if k == row_h - 1 else None,
                self.playhead, cur_s if c == cur_c else None)

    # -- drawing ------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.size.width
        cell_w, row_h = self.cell_size()
        base = self.visual_style  # the theme and focus draw in too
        if y > len(self.pattern.velocities) * row_h:
            return Strip.blank(width, base.rich_style)
        selection = self.text_selection
        key = (width, cell_w, base, selection, self._line_key(y, row_h))
        cached = self._strips.get(y)
        if cached is not None and cached[0] == key:
            return cached[1]
        parts = self._line_parts(y, cell_w, row_h)
        if selection is None:
            segments, x = [], 0
            for text, style in parts:
                # what Textual's text rendering makes of it, down to the offsets that text
                # selection reads
                segments.append(Segment(text, self._style(base, style).rich_style_with_offset(x, y)))
                x += len(text)
            strip = Strip(segments, x).crop(0, width)
        else:  # Textual's own way, which draws the selection
            text = Text(no_wrap=True, overflow="crop")
            for part in parts:
                text.append(*part)
            strip = Visual.to_strips(self, visualize(self, text), width, 1, base)[0]
        self._strips[y] = (key, strip)
        return strip

    def _style(self, base: VisualStyle, style: str) -> VisualStyle:
        """Text in `style` (markup) on this widget, as Textual draws it (once per style)."""
        found = self._styles.get((base, style))
        if found is None:
            content = visualize(self, Text().append("x", style))
            assert isinstance(content, Content)
            (_, drawn), = content.render(base, end="")
            found = self._styles[(base, style)] = base + drawn
        return found

    def render(self) -> Text:
        """The whole grid as one Text (what the lines show, for tests and copying)."""
        cell_w, row_h = self.cell_size()
        out = Text(no_wrap=True, overflow="crop")
        for y in range(1 + len(self.pattern.velocities) * row_h):
            if y:
                out.append("\n")
            for part in self._line_parts(y, cell_w, row_h):
                out.append(*part)
        return out

    def _line_parts(self, y: int, cell_w: int, row_h: int) -> list[tuple[str, str]]:
        """Line `y` of the grid as (text, style) pieces: the header, then `row_h` lines per
        drum class."""
        p = self.pattern
        out: list[tuple[str, str]] = []
        if y == 0:
            out.append((" " * LABEL_W, ""))
            for s in range(p.steps):
                if s and s % STEPS_PER_BAR == 0:
                    out.append(("│", ""))
                elif s and s % 4 == 0:
                    out.append((" ", ""))
                label = str(s // STEPS_PER_BAR + 1) if s % STEPS_PER_BAR == 0 else ("." if s % 4 == 0 else " ")
                if s == self.playhead:
                    out.append(("▼".ljust(cell_w), "bold yellow"))
                else:
                    out.append((label.ljust(cell_w), "dim"))
            return out
        c, k = divmod(y - 1, row_h)
        from_bottom = row_h - 1 - k
        label = DRUM_CLASS_SHORT[c] if from_bottom == 0 else ""
        out.append((f"{label:>3}  ", "bold"))
        for s, v in enumerate(p.velocities[c]):
            if s and s % STEPS_PER_BAR == 0:
                out.append(("│", "dim"))
            elif s and s % 4 == 0:
                out.append((" ", ""))
            first = timing_glyph(p.offsets[c][s], v > 0) if from_bottom == 0 else " "
            body = velocity_glyph(v) if row_h == 1 else bar_glyph(v, from_bottom, row_h)
            cell = first + (body * (cell_w - 1) if v > 0 else body.ljust(cell_w - 1))
            if s == self.playhead:  # a bright column, seen at a glance
                style = "bold black on yellow" if v > 0 else "black on #8a7a00"
            else:
                style = "cyan" if v > 0 else "grey50"
            if (c, s) == self.cursor:
                style = "reverse " + style
            out.append((cell, style))
        return out
