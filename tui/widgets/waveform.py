"""A sound at a glance: its waveform (min/max envelope in half-block characters) over a
small log-frequency spectrogram (two bands per text row: ▀ with the upper band as the
foreground colour and the lower band as the background). Data comes from the engine's
`library.overview`; this widget only draws it, at whatever width it is given."""

from __future__ import annotations

from typing import Any, Sequence

from rich.text import Text
from textual.widget import Widget

# dark -> bright, loosely after the "magma" colour map
SPECTRUM_COLOURS = ("#000004", "#1c1044", "#4f127b", "#812581", "#b5367a", "#e55064",
                    "#fb8761", "#fec287", "#fcfdbf")
WAVE_ROWS = 4


def fit_envelope(mins: Sequence[float], maxs: Sequence[float], width: int) -> list[tuple[float, float]]:
    """The envelope re-sliced to `width` columns (min of mins, max of maxs per column)."""
    n = len(mins)
    if n == 0 or width <= 0:
        return []
    out = []
    for x in range(width):
        a = x * n // width
        b = max(a + 1, (x + 1) * n // width)
        out.append((min(mins[a:b]), max(maxs[a:b])))
    return out


def waveform_lines(mins: Sequence[float], maxs: Sequence[float], width: int,
                   rows: int = WAVE_ROWS) -> list[str]:
    """`rows` lines of █ ▀ ▄ drawing the envelope; amplitude +1 at the top, -1 at the bottom."""
    cols = fit_envelope(mins, maxs, width)
    halves = 2 * rows
    lines = []
    for r in range(rows):
        chars = []
        for lo, hi in cols:
            filled = []
            for i in (2 * r, 2 * r + 1):
                top = 1.0 - 2.0 * i / halves
                bottom = 1.0 - 2.0 * (i + 1) / halves
                filled.append(hi >= bottom and lo <= top)
            chars.append("█" if all(filled) else "▀" if filled[0] else "▄" if filled[1] else " ")
        lines.append("".join(chars))
    return lines


def fit_spectrogram(spec: Sequence[Sequence[float]], width: int) -> list[list[float]]:
    """Each band re-sliced to `width` columns by taking the loudest frame in each."""
    out = []
    for band in spec:
        n = len(band)
        row = []
        for x in range(width):
            a = x * n // width
            b = max(a + 1, (x + 1) * n // width)
            row.append(max(band[a:b]) if n else 0.0)
        out.append(row)
    return out


def colour(v: float) -> str:
    v = min(1.0, max(0.0, v))
    return SPECTRUM_COLOURS[round(v * (len(SPECTRUM_COLOURS) - 1))]


class WaveformView(Widget):
    DEFAULT_CSS = "WaveformView { height: auto; }"

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.overview: dict[str, Any] | None = None
        self.caption = ""
        self.message = "No sound selected."
        self.bands = 12

    def show(self, overview: dict[str, Any] | None, caption: str = "", message: str = "") -> None:
        """Draw `overview`, or with None show `message` in its place."""
        self.overview, self.caption, self.message = overview, caption, message
        if overview is not None:
            self.bands = len(overview.get("spectrogram") or []) or self.bands
        self.refresh(layout=True)

    def get_content_height(self, container, viewport, width) -> int:
        return WAVE_ROWS + 1 + (self.bands + 1) // 2

    def render(self) -> Text:
        width = max(1, self.size.width)
        height = WAVE_ROWS + 1 + (self.bands + 1) // 2
        o = self.overview
        out = Text(no_wrap=True, overflow="crop")
        if o is None:
            lines = ["" for _ in range(height)]
            lines[height // 2] = self.message
            out.append("\n".join(lines), style="dim")
            return out
        for line in waveform_lines(o["min"], o["max"], width):
            out.append(line + "\n", style="cyan")
        out.append(self.caption[:width].ljust(width) + "\n", style="bold")
        spec = fit_spectrogram(o.get("spectrogram") or [], width)
        bands = list(reversed(spec))  # high bands on top
        if len(bands) % 2:
            bands.append([0.0] * width)
        for r in range(0, len(bands), 2):
            upper, lower = bands[r], bands[r + 1]
            for x in range(width):
                out.append("▀", style=f"{colour(upper[x])} on {colour(lower[x])}")
            if r + 2 < len(bands):
                out.append("\n")
        return out
