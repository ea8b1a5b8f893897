"""A sound at a glance: its waveform (min/max envelope in half-block characters) above a
time axis in seconds and a log-frequency spectrogram with a Hz axis (two bands per text
row: ▀ with the upper band as the foreground colour and the lower band as the
background). Everything grows with the space the widget is given: the rows are split
between the waveform and the spectrogram, the columns between the axis labels and the
picture. While the sound plays, a playhead column marks where it is.

Data comes from the engine's `library.overview`; this widget only draws it."""

from __future__ import annotations

from typing import Any, Sequence

from rich.text import Text
from textual.widget import Widget

# dark -> bright, loosely after the "magma" colour map
SPECTRUM_COLOURS = ("#000004", "#1c1044", "#4f127b", "#812581", "#b5367a", "#e55064",
                    "#fb8761", "#fec287", "#fcfdbf")
WAVE_ROWS = 4  # the least the waveform gets
GUTTER = 6  # columns on the left for the axis labels ("16k", "-1")
TIME_STEPS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300)
PLAYHEAD_STYLE = "bold black on yellow"


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


def fit_bands(spec: Sequence[Sequence[float]], edges: Sequence[float],
              count: int) -> tuple[list[list[float]], list[float]]:
    """`spec` (low band first) regrouped into `count` bands (the loudest of the bands each
    covers, or one band repeated when there are fewer), with their edges in Hz (count + 1,
    from `edges`, the n + 1 edges of the n bands of `spec`)."""
    n = len(spec)
    if n == 0 or count <= 0:
        return [], []
    rows, out_edges = [], []
    for t in range(count):
        a = t * n // count
        b = max(a + 1, (t + 1) * n // count)
        rows.append([max(col) for col in zip(*spec[a:b])])
        out_edges.append(float(edges[a]) if a < len(edges) else 0.0)
    out_edges.append(float(edges[n]) if n < len(edges) else 0.0)
    return rows, out_edges


def hz_label(hz: float) -> str:
    """440 -> "440", 1234 -> "1.2k", 8000 -> "8k"."""
    if hz < 1000:
        return f"{hz:.0f}"
    k = hz / 1000
    return f"{k:.0f}k" if k >= 10 or abs(k - round(k)) < 0.05 else f"{k:.1f}k"


def time_step(seconds: float, width: int, label_cols: int = 8) -> float:
    """The smallest round tick interval that leaves `label_cols` columns per label."""
    if seconds <= 0 or width <= 0:
        return TIME_STEPS[-1]
    for step in TIME_STEPS:
        if step / seconds * width >= label_cols:
            return step
    return TIME_STEPS[-1]


def time_axis(seconds: float, width: int) -> str:
    """A row of `width` characters: ╵ and a label at each tick (0, 0.5, 1.0 …) and the unit
    last, e.g. "╵0   ╵0.5 ╵1.0 s"."""
    row = [" "] * width
    if width <= 0:
        return ""
    step = time_step(seconds, width)
    decimals = 0 if step >= 1 else 1 if step >= 0.1 else 2
    k = 0
    while True:
        t = k * step
        x = int(t / seconds * width) if seconds > 0 else 0
        if x >= width or t > seconds + 1e-9:
            break
        label = "╵" + f"{t:.{decimals}f}"
        if x + len(label) <= width:
            row[x:x + len(label)] = label
        k += 1
    unit = " s"
    if width > len(unit):
        row[width - len(unit):] = unit
    return "".join(row)


def colour(v: float) -> str:
    v = min(1.0, max(0.0, v))
    return SPECTRUM_COLOURS[round(v * (len(SPECTRUM_COLOURS) - 1))]


class WaveformView(Widget):
    """Fills the height its container gives it (CSS), at least WAVE_ROWS + a few rows."""

    DEFAULT_CSS = "WaveformView { height: 1fr; min-height: 8; }"

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.overview: dict[str, Any] | None = None
        self.caption = ""
        self.message = "No sound selected."
        self.playhead_s: float | None = None

    def show(self, overview: dict[str, Any] | None, caption: str = "", message: str = "") -> None:
        """Draw `overview`, or with None show `message` in its place."""
        self.overview, self.caption, self.message = overview, caption, message
        self.playhead_s = None
        self.refresh()

    def set_playhead(self, seconds: float | None) -> None:
        """Mark `seconds` into the sound (None: no playhead)."""
        if seconds != self.playhead_s:
            self.playhead_s = seconds
            self.refresh()

    def layout_rows(self, height: int) -> tuple[int, int]:
        """(waveform rows, spectrogram rows) for `height` rows (a caption and the time
        axis take one each): the waveform gets three fifths."""
        body = max(1, height - 2)
        if body < WAVE_ROWS + 2:
            return body, 0
        spec = body * 2 // 5
        return body - spec, spec

    def playhead_column(self, width: int) -> int | None:
        o = self.overview
        if o is None or self.playhead_s is None or not o.get("seconds"):
            return None
        x = int(self.playhead_s / float(o["seconds"]) * width)
        return x if 0 <= x < width else None

    def render(self) -> Text:
        width, height = max(1, self.size.width), max(1, self.size.height)
        o = self.overview
        out = Text(no_wrap=True, overflow="crop")
        if o is None:
            lines = ["" for _ in range(height)]
            lines[height // 2] = self.message
            out.append("\n".join(lines), style="dim")
            return out
        plot = max(1, width - GUTTER)
        wave_rows, spec_rows = self.layout_rows(height)
        head = self.playhead_column(plot)
        out.append(self.caption[:width].ljust(width) + "\n", style="bold")
        for r, line in enumerate(waveform_lines(o["min"], o["max"], plot, rows=wave_rows)):
            label = "+1" if r == 0 else "-1" if r == wave_rows - 1 else "0" if r == wave_rows // 2 else ""
            out.append(f"{label:>{GUTTER - 1}} ", style="dim")
            self._append_row(out, line, head, "cyan")
            out.append("\n")
        axis = time_axis(float(o.get("seconds") or 0.0), plot)
        out.append(" " * GUTTER)
        self._append_row(out, axis, head, "dim", head_char="▲")
        if spec_rows:
            out.append("\n")
            self._append_spectrogram(out, o, plot, spec_rows, head)
        return out

    @staticmethod
    def _append_row(out: Text, line: str, head: int | None, style: str, head_char: str = "") -> None:
        if head is None:
            out.append(line, style=style)
            return
        out.append(line[:head], style=style)
        out.append(head_char or line[head], style=PLAYHEAD_STYLE)
        out.append(line[head + 1:], style=style)

    def _append_spectrogram(self, out: Text, o: dict[str, Any], plot: int, rows: int,
                            head: int | None) -> None:
        spec = o.get("spectrogram") or []
        edges = o.get("bands_hz") or []
        bands, band_edges = fit_bands(spec, edges, 2 * rows)
        bands = fit_spectrogram(bands, plot)
        # high bands on top: text row r shows bands 2(rows-r)-1 (upper) over 2(rows-r)-2
        for r in range(rows):
            upper_i, lower_i = 2 * (rows - r) - 1, 2 * (rows - r) - 2
            upper, lower = bands[upper_i], bands[lower_i]
            if r == 0:
                label = hz_label(band_edges[-1])  # the top of the picture
            else:
                label = hz_label(band_edges[lower_i]) if r == rows - 1 or r % 3 == 0 else ""
            if r == rows - 1 and len(label) + 2 < GUTTER:
                label += "Hz"  # the unit once, on the lowest row
            out.append(f"{label:>{GUTTER - 1}} ", style="dim")
            for x in range(plot):
                style = PLAYHEAD_STYLE if x == head else f"{colour(upper[x])} on {colour(lower[x])}"
                out.append("▀", style=style)
            if r < rows - 1:
                out.append("\n")
