"""A piano roll along time: a bar ruler, a lane of instrument keyframes and the notes.

One column is `secs_per_col` seconds; `scroll` is the first column shown. Pitches run
from high (top) to low; when the file spans more pitches than there are rows, each row
holds several. Notes of tracks that will not be rendered are drawn faint; proposed notes (a melody
continuation not yet accepted) are drawn as bright ▓ over everything else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual.widget import Widget

GUTTER = 5  # the label column on the left
HEADER_ROWS = 2  # the bar ruler and the keyframe lane
TRACK_STYLES = ("cyan", "green", "magenta", "yellow", "bright_blue", "red", "bright_cyan",
                "bright_green")
PROPOSED = -1  # grid marker: a proposed (not yet accepted) note
PROPOSED_STYLE = "bold bright_white"
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def pitch_name(pitch: int) -> str:
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


@dataclass
class RollView:
    """Everything the roll draws; the pane owns it and calls `PianoRoll.show`."""

    notes: list[list[float]] = field(default_factory=list)  # [start, end, pitch, vel, track]
    enabled: set[int] = field(default_factory=set)
    keyframes: list[dict[str, Any]] = field(default_factory=list)  # {time, seed, name}
    selected_key: int | None = None
    cursor: float = 0.0
    mark: float | None = None  # the other end of a selection
    playhead: float | None = None
    secs_per_col: float = 0.125
    scroll: int = 0
    bar_seconds: float = 2.0
    total_time: float = 0.0
    proposed: list[list[float]] = field(default_factory=list)  # [start, end, pitch, vel]


class PianoRoll(Widget):
    DEFAULT_CSS = "PianoRoll { height: 1fr; min-height: 6; }"

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.view = RollView()

    def show(self, view: RollView) -> None:
        self.view = view
        self.refresh()

    @property
    def columns(self) -> int:
        return max(1, self.size.width - GUTTER)

    def col_of(self, t: float) -> int:
        """The absolute column of time `t` (seconds)."""
        return int(math.floor(t / self.view.secs_per_col + 1e-9))

    def _pitch_rows(self, rows: int) -> tuple[int, int]:
        """(highest pitch, pitches per row) so that the notes fit in `rows` rows."""
        pitches = [int(n[2]) for n in [*self.view.notes, *self.view.proposed]] or [60]
        lo, hi = min(pitches), max(pitches)
        per_row = max(1, math.ceil((hi - lo + 1) / max(1, rows)))
        return hi, per_row

    def render(self) -> Text:
        v = self.view
        cols = self.columns
        rows = max(1, self.size.height - HEADER_ROWS)
        first = v.scroll
        cursor_col = self.col_of(v.cursor) - first
        play_col = self.col_of(v.playhead) - first if v.playhead is not None else None
        sel = None
        if v.mark is not None:
            a, b = sorted((self.col_of(v.mark), self.col_of(v.cursor)))
            sel = (a - first, b - first)
        bar_cols = set()
        if v.bar_seconds > 0:
            b0 = int(first * v.secs_per_col // v.bar_seconds)
            while (c := self.col_of(b0 * v.bar_seconds) - first) < cols:
                if c >= 0:
                    bar_cols.add((c, b0 + 1))
                b0 += 1
        bars = dict(bar_cols)

        def bg(c: int) -> str:
            if c == play_col:
                return " on dark_orange3"
            if c == cursor_col:
                return " on grey35"
            if sel is not None and sel[0] <= c <= sel[1]:
                return " on grey19"
            return ""

        out = Text(no_wrap=True, overflow="crop")
        # ruler: bar numbers at bar lines
        out.append(" bar ", style="dim")
        ruler = [" "] * cols
        for c, n in sorted(bars.items()):
            for i, ch in enumerate(str(n)):
                if c + i < cols:
                    ruler[c + i] = ch
        for c, ch in enumerate(ruler):
            out.append(ch, style="dim" + bg(c))
        out.append("\n")
        # keyframe lane
        out.append(" key ", style="dim")
        lane: list[tuple[str, str]] = [("─" if c in bars else " ", "grey30") for c in range(cols)]
        for i, k in enumerate(v.keyframes):
            c = self.col_of(float(k["time"])) - first
            if not 0 <= c < cols:
                continue
            chosen = i == v.selected_key
            style = "bold black on yellow" if chosen else "bold yellow"
            lane[c] = ("◆", style)
            label = str(k.get("name") or i + 1)
            for j, ch in enumerate(label[:12]):
                if c + 1 + j < cols and lane[c + 1 + j][0] in (" ", "─"):
                    lane[c + 1 + j] = (ch, "yellow" if chosen else "dim yellow")
                else:
                    break
        for c, (ch, style) in enumerate(lane):
            out.append(ch, style=style + bg(c))
        if not v.notes and not v.proposed:
            return out
        # notes
        hi, per_row = self._pitch_rows(rows)
        grid: list[list[int | None]] = [[None] * cols for _ in range(rows)]
        strong: list[list[bool]] = [[False] * cols for _ in range(rows)]
        for start, end, pitch, _vel, track in v.notes:
            r = (hi - int(pitch)) // per_row
            if not 0 <= r < rows:
                continue
            c0 = self.col_of(start) - first
            c1 = max(c0 + 1, int(math.ceil(end / v.secs_per_col - 1e-9)) - first)
            on = int(track) in v.enabled
            for c in range(max(0, c0), min(cols, c1)):
                if grid[r][c] is None or (on and not strong[r][c]):
                    grid[r][c] = int(track)
                    strong[r][c] = on
        for start, end, pitch, _vel in v.proposed:  # drawn over the arrangement
            r = (hi - int(pitch)) // per_row
            if not 0 <= r < rows:
                continue
            c0 = self.col_of(start) - first
            c1 = max(c0 + 1, int(math.ceil(end / v.secs_per_col - 1e-9)) - first)
            for c in range(max(0, c0), min(cols, c1)):
                grid[r][c] = PROPOSED
                strong[r][c] = True
        end_col = self.col_of(v.total_time) - first if v.total_time else None
        for r in range(rows):
            out.append("\n")
            top = hi - r * per_row
            names = [p for p in range(top, top - per_row, -1) if p % 12 == 0]
            label = pitch_name(names[0]) if names else (pitch_name(top) if r == 0 else "")
            out.append(f"{label:>4} ", style="dim")
            for c in range(cols):
                track = grid[r][c]
                if track == PROPOSED:
                    ch, style = "▓", PROPOSED_STYLE
                elif track is not None:
                    color = TRACK_STYLES[track % len(TRACK_STYLES)]
                    ch, style = ("█", color) if strong[r][c] else ("░", "grey42")
                elif c in bars:
                    ch, style = "│", "grey30"
                elif end_col is not None and c == end_col:
                    ch, style = "┆", "grey30"
                else:
                    ch, style = " ", ""
                out.append(ch, style=(style + bg(c)).strip())
        return out
