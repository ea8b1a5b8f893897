"""Latent mix: 2–4 sources blended by weight (NSynth)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from tui.panes.base import Pane

SOURCES = 4
WEIGHT_STEP = 0.05


def weight_bar(w: float, width: int = 30) -> str:
    fill = round(w * width)
    return "█" * fill + "·" * (width - fill)


class LatentMixPane(Pane):
    PANE_ID = "mix"
    TITLE = "Latent mix"
    KEY = "2"
    BINDINGS = [
        ("up", "select(-1)", "Previous source"),
        ("down", "select(1)", "Next source"),
        ("left", "weight(-1)", "Lower the weight"),
        ("right", "weight(1)", "Raise the weight"),
    ]

    def compose(self) -> ComposeResult:
        yield Static("[b]Latent mix[/b] · blend NSynth encodings of up to four sounds",
                     classes="pane-title")
        yield Static(id="mix-sources")

    def on_mount(self) -> None:
        self.state.setdefault("weights", [0.5, 0.5, 0.0, 0.0])
        self.state.setdefault("selected", 0)
        self._render_sources()

    def _render_sources(self) -> None:
        weights, sel = self.state["weights"], self.state["selected"]
        lines = []
        for i, w in enumerate(weights):
            mark = "▶" if i == sel else " "
            lines.append(f"{mark} source {'ABCD'[i]}  {weight_bar(w)}  {w:4.2f}")
        self.query_one("#mix-sources", Static).update("\n".join(lines))

    def action_select(self, delta: int) -> None:
        self.state["selected"] = (self.state["selected"] + delta) % SOURCES
        self.saved()
        self._render_sources()

    def action_weight(self, direction: int) -> None:
        i = self.state["selected"]
        w = self.state["weights"][i] + direction * WEIGHT_STEP
        self.state["weights"][i] = round(min(1.0, max(0.0, w)), 4)
        self.saved()
        self._render_sources()
