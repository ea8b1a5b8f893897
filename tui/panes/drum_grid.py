"""Drum grid: 9 drum classes × 16 steps per bar, sampled, interpolated and humanized."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from tui.panes.base import Pane


class DrumGridPane(Pane):
    PANE_ID = "drums"
    TITLE = "Drums"
    KEY = "4"
    BINDINGS: list = []

    def compose(self) -> ComposeResult:
        yield Static("[b]Drum grid[/b] · sample, interpolate and humanize patterns with MusicVAE",
                     classes="pane-title")
        yield Static(id="grid-body")
