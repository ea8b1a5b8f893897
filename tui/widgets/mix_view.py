"""Drawings for the latent mix pane, as rich Text: NSynth encodings as heat strips (16
latent channels over time, two channels per text row with ▀), the 4-corner XY pad, and
bars. Pure functions of plain lists (the data comes from the engine), and EncodingView,
the widget that shows one strip. The other mix widgets: mix_controls.py, mix_renders.py."""

from __future__ import annotations

from typing import Sequence

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.widgets.waveform import colour

Plot = Sequence[Sequence[float]]  # channels × columns


def plot_range(plots: Sequence[Plot]) -> tuple[float, float]:
    """One value range for several plots, so their colours compare."""
    vals = [v for p in plots for row in p for v in row]
    if not vals:
        return 0.0, 1.0
    lo, hi = min(vals), max(vals)
    return (lo, hi) if hi > lo else (lo - 1.0, hi + 1.0)


def resample(row: Sequence[float], width: int, upto: float = 1.0) -> list[float]:
    """`width` values taken (nearest) over the first `upto` fraction of `row`."""
    n = len(row)
    if n == 0 or width <= 0:
        return [0.0] * max(0, width)
    span = max(1e-9, upto) * n
    return [row[min(n - 1, int((x + 0.5) * span / width))] for x in range(width)]


def blend(plots: Sequence[Plot], frames: Sequence[int], weights: Sequence[float],
          width: int) -> list[list[float]]:
    """The preview of a mix: the weighted sum of the plots, each cut to the shortest
    source as the engine does (an encoding is linear in time slices, so averaging first
    and mixing after gives the same picture)."""
    if not plots:
        return []
    shortest = min(frames)
    channels = min(len(p) for p in plots)
    out = [[0.0] * width for _ in range(channels)]
    for plot, n, w in zip(plots, frames, weights):
        if not w:
            continue
        for ch in range(channels):
            row = resample(plot[ch], width, shortest / max(1, n))
            for x in range(width):
                out[ch][x] += w * row[x]
    return out


def heat_strip(plot: Plot, width: int, lo: float, hi: float) -> Text:
    """len(plot)/2 rows of ▀: channel 2r in the foreground colour, 2r+1 in the background."""
    out = Text(no_wrap=True, overflow="crop")
    rows = [resample(r, width) for r in plot]
    if len(rows) % 2:
        rows.append([lo] * width)
    scale = 1.0 / (hi - lo) if hi > lo else 1.0
    for r in range(0, len(rows), 2):
        for x in range(width):
            top = (rows[r][x] - lo) * scale
            bottom = (rows[r + 1][x] - lo) * scale
            out.append("▀", style=f"{colour(top)} on {colour(bottom)}")
        if r + 2 < len(rows):
            out.append("\n")
    return out


def xy_pad(x: float, y: float, corners: Sequence[str], width: int = 23, height: int = 7,
           active: bool = True) -> Text:
    """The NSynth Super pad: a box whose corners are the sources (top-left A, top-right B,
    bottom-left C, bottom-right D) with the puck ● at (x, y), both 0..1."""
    inner_w, inner_h = width - 4, height - 2
    px = round(min(1.0, max(0.0, x)) * (inner_w - 1))
    py = round(min(1.0, max(0.0, y)) * (inner_h - 1))
    labels = [(c or "·")[:1] for c in (list(corners) + ["", "", "", ""])[:4]]
    edge = "bold" if active else "dim"
    out = Text(no_wrap=True, overflow="crop")
    out.append(labels[0], style="bold cyan")
    out.append("┌" + "─" * inner_w + "┐", style=edge)
    out.append(labels[1] + "\n", style="bold cyan")
    for row in range(inner_h):
        out.append(" │", style=edge)
        for col in range(inner_w):
            if (col, row) == (px, py):
                out.append("●", style="bold yellow" if active else "dim yellow")
            else:
                out.append("·" if (col % 4 == 0 and row % 2 == 0) else " ", style="dim")
        out.append("│\n", style=edge)
    out.append(labels[2], style="bold cyan")
    out.append("└" + "─" * inner_w + "┘", style=edge)
    out.append(labels[3], style="bold cyan")
    return out


def progress_bar(fraction: float, width: int = 12) -> str:
    fill = round(min(1.0, max(0.0, fraction)) * width)
    return "█" * fill + "░" * (width - fill)


def weight_bar(w: float, width: int = 20) -> str:
    fill = round(min(1.0, max(0.0, w)) * width)
    return "█" * fill + "·" * (width - fill)


class EncodingView(Widget):
    """One encoding as a heat strip under a caption, drawn at the widget's width from its
    reactive attributes (`show` sets them together)."""

    DEFAULT_CSS = "EncodingView { height: 9; width: 1fr; margin-right: 1; }"

    plot: reactive[Plot | None] = reactive(None)  # None: `message` instead of a picture
    caption: reactive[str] = reactive("")
    message: reactive[str] = reactive("")
    value_range: reactive[tuple[float, float]] = reactive((0.0, 1.0))  # shared by the strips
    selected: reactive[bool] = reactive(False)

    def show(self, plot: Plot | None, caption: str, lo: float, hi: float, *,
             selected: bool = False, message: str = "") -> None:
        self.plot, self.caption, self.value_range = plot, caption, (lo, hi)
        self.selected, self.message = selected, message

    def render(self) -> Text:
        width = max(1, self.size.width)
        out = Text(no_wrap=True, overflow="crop")
        out.append(self.caption[:width].ljust(width) + "\n",
                   style="bold reverse" if self.selected else "bold")
        if self.plot is None:
            out.append(f"\n\n\n{self.message[:width]}", style="dim")
            return out
        out.append_text(heat_strip(self.plot, width, *self.value_range))
        return out
