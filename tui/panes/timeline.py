"""Arrangement timeline: a MIDI file rendered by GANSynth with instrument keyframes."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from tui.panes.base import Pane


class TimelinePane(Pane):
    PANE_ID = "timeline"
    TITLE = "Timeline"
    KEY = "3"
    BINDINGS: list = []

    def compose(self) -> ComposeResult:
        yield Static("[b]Arrangement timeline[/b] · render a MIDI file with GANSynth instruments "
                     "that morph along time", classes="pane-title")
        yield Static("No MIDI loaded.", id="timeline-body")
