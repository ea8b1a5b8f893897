"""The latent mix pane's controls, each drawn from its reactive attributes (the pane sets
them from its state): the line of settings (blend mode, model, seed, stretch, length),
the sources with their weight bars, and the 4-corner XY pad."""

from __future__ import annotations

from rich.text import Text
from textual.markup import escape
from textual.reactive import reactive
from textual.widget import Widget

from tui.widgets.mix_view import weight_bar, xy_pad

LETTERS = "ABCD"
SLOTS = 4
NAME_CELLS = 26
BAR_CELLS = 16


class MixParams(Widget):
    """`sliders (x)  model NAME✓  seed 7 🔒  stretch ×1.25 · 0.20 s → 0.25 s  encoding…`"""

    DEFAULT_CSS = "MixParams { height: auto; }"

    xy_mode: reactive[bool] = reactive(False)
    model: reactive[str] = reactive("")
    model_mark: reactive[str] = reactive("")  # the Models list's mark (installed or not)
    seed: reactive[int] = reactive(1)
    seed_locked: reactive[bool] = reactive(False)
    stretch: reactive[float] = reactive(1.0)
    seconds: reactive[float | None] = reactive(None)  # the shortest source, once all are encoded
    busy: reactive[str] = reactive("")

    def render(self) -> str:
        mode = "[b]XY pad[/]" if self.xy_mode else "[b]sliders[/]"
        seed = f"seed [b]{self.seed}[/]" + (" 🔒" if self.seed_locked else " (new each render)")
        busy = f"  [yellow]{self.busy}…[/]" if self.busy else ""
        length = ""
        if self.seconds is not None:
            length = f" · {self.seconds:.2f} s → [b]{self.seconds * self.stretch:.2f} s[/]"
        return (f"{mode} (x)  model [b]{self.model}[/]{self.model_mark}  {seed}  "
                f"stretch [b]×{self.stretch:g}[/]{length}{busy}")


class MixSources(Widget):
    """The four source slots A-D: the selected one marked ▶, each with its weight bar
    (the slider, or its share of the XY pad's blend) and its share of the mix."""

    DEFAULT_CSS = "MixSources { height: auto; }"

    names: reactive[tuple[str, ...]] = reactive(tuple)
    weights: reactive[tuple[float, ...]] = reactive(tuple)  # the sliders
    shares: reactive[tuple[float, ...]] = reactive(tuple)  # normalized: what each gives the mix
    encoded: reactive[tuple[bool, ...]] = reactive(tuple)
    selected: reactive[int] = reactive(0)
    xy_mode: reactive[bool] = reactive(False)

    def render(self) -> str:
        lines = []
        for i in range(SLOTS):
            if i < len(self.names):
                mark = "▶" if i == self.selected else " "
                name = escape(self.names[i][:NAME_CELLS].ljust(NAME_CELLS))
                share = self.shares[i] if i < len(self.shares) else 0.0
                weight = self.weights[i] if i < len(self.weights) else 0.0
                bar = weight_bar(share if self.xy_mode else weight, BAR_CELLS)
                enc = "" if i < len(self.encoded) and self.encoded[i] else " [dim](not encoded)[/]"
                lines.append(f"{mark} [b]{LETTERS[i]}[/] {name} {bar} {share:4.0%}{enc}")
            else:
                lines.append(f"  [dim]{LETTERS[i]} —[/]")
        hint = ("arrows move the puck" if self.xy_mode else "↑↓ select · ←→ weight") + \
            " · space plays · o adds · d removes"
        lines.append(f"[dim]{hint}[/]")
        return "\n".join(lines)


class MixPad(Widget):
    """The NSynth Super pad: the sources in its corners, the puck at (x, y)."""

    DEFAULT_CSS = "MixPad { height: auto; }"

    x: reactive[float] = reactive(0.5)
    y: reactive[float] = reactive(0.5)
    corners: reactive[tuple[str, ...]] = reactive(("", "", "", ""))  # the letters that hold a sound
    active: reactive[bool] = reactive(False)  # the pad (not the sliders) sets the blend

    def render(self) -> Text:
        return xy_pad(self.x, self.y, self.corners, active=self.active)
