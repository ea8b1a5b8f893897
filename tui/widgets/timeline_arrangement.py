"""The timeline's arrangement: the header (the file, the renderer, the zoom), the track
list and the piano roll with its keyframe lane, cursor, selection and playhead. Each
draws itself from reactive attributes that the pane sets from its state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.markup import escape
from textual.reactive import reactive

from engine.words import counted
from tui.pane_state import Keyframe, TimelineSource
from tui.timeline_render import short_path
from tui.widgets.piano_roll import TRACK_STYLES, PianoRoll, RollView
from tui.widgets.timeline_text import TimelineText

GM_NAME = "General MIDI SoundFont"
SOUNDFONT_SHIPPED = "TimGM6mb"


class TimelineHeader(TimelineText):
    """Two lines: the open file (tempo, length, cursor, what generated it) and the
    renderer with the seconds per instrument and the zoom."""

    song: reactive[dict[str, Any] | None] = reactive(None, layout=True)
    midi: reactive[str | None] = reactive(None)
    cursor: reactive[float] = reactive(0.0)
    source: reactive[TimelineSource | None] = reactive(None, layout=True)
    renderer: reactive[str] = reactive("gansynth")
    soundfont: reactive[str | None] = reactive(None)
    checkpoint: reactive[str | None] = reactive(None)
    model: reactive[str] = reactive("")
    model_mark: reactive[str] = reactive("")  # the models book's mark for `model`
    secs_per_instrument: reactive[float] = reactive(6.0)
    secs_per_col: reactive[float] = reactive(0.125)
    busy: reactive[str] = reactive("")
    shipped_midi: str = ""

    def _head(self) -> str:
        song = self.song
        if song is None:
            if self.midi:
                return f"loading {short_path(self.midi)}"
            return ("No MIDI loaded: [b]o[/] opens a file "
                    f"(try {short_path(self.shipped_midi)}), [b]G[/] generates a melody or "
                    "a trio")
        num, den = song["time_signature"]
        bar = int(self.cursor // song["bar_seconds"]) + 1 if song["bar_seconds"] > 0 else 1
        return (f"[b]{escape(Path(song['path']).name)}[/] · {song['qpm']:g} bpm {num}/{den} · "
                f"{song['total_time']:.1f} s · cursor {self.cursor:.3f} s (bar {bar})"
                + self._source())

    def _source(self) -> str:
        """What made the open file, when `G` generated it."""
        src = self.source
        if src is None or self.song is None or src.path != self.song["path"]:
            return ""
        return (f"\ngenerated: {escape(src.what)} by [b]{escape(src.model)}[/] "
                f"(seed {src.seed}) · G generates another")

    def _renderer(self) -> str:
        if self.renderer == "soundfont":
            font = escape(Path(self.soundfont).name) if self.soundfont else SOUNDFONT_SHIPPED
            return f"renderer [b]{GM_NAME}[/] ({font}, no model needed; proposals play too)"
        return (f"checkpoint {short_path(self.checkpoint)}" if self.checkpoint
                else f"model [b]{self.model}[/]{self.model_mark}")

    def markup(self) -> str:
        busy = f"  [yellow]{self.busy}…[/]" if self.busy else ""
        return (f"{self._head()}\n{self._renderer()} · {self.secs_per_instrument:g} s per "
                f"instrument · zoom {self.secs_per_col:g} s/column{busy}")


class TrackList(TimelineText):
    """The file's tracks: ▶ the one the track keys act on, ☑ the ones rendered."""

    tracks: reactive[list[dict[str, Any]]] = reactive(list, layout=True)
    enabled: reactive[frozenset[int]] = reactive(frozenset())
    pointer: reactive[int] = reactive(0)

    def markup(self) -> str:
        lines = []
        for i, t in enumerate(self.tracks):
            color = TRACK_STYLES[t["index"] % len(TRACK_STYLES)]
            pointer = "▶" if i == self.pointer else " "
            box = "☑" if t["index"] in self.enabled else "☐"
            kind = "drums" if t["is_drum"] else f"program {t['program']}"
            lines.append(f"{pointer} {box} [{color}]■[/] {t['index']} {escape(t['name'])} · "
                         f"{kind} · {counted(t['notes'], 'note')}")
        return "\n".join(lines)


class Arrangement(PianoRoll):
    """The piano roll of the arrangement: the file's notes and the accepted ones, the
    proposal over them, the keyframe lane, the cursor, a selection and the playhead."""

    notes: reactive[list[list[float]]] = reactive(list)
    enabled: reactive[frozenset[int]] = reactive(frozenset())
    proposed: reactive[list[list[float]]] = reactive(list)
    keyframes: reactive[list[Keyframe]] = reactive(list)
    selected_key: reactive[int | None] = reactive(None)
    cursor: reactive[float] = reactive(0.0)
    mark: reactive[float | None] = reactive(None)
    playhead: reactive[float | None] = reactive(None)
    secs_per_col: reactive[float] = reactive(0.125)
    scroll: reactive[int] = reactive(0)
    bar_seconds: reactive[float] = reactive(2.0)
    total_time: reactive[float] = reactive(0.0)

    def render(self):  # type: ignore[override]
        self.view = RollView(
            notes=self.notes, enabled=set(self.enabled), proposed=self.proposed,
            keyframes=[{"time": k.time, "seed": k.seed, "name": k.name} for k in self.keyframes],
            selected_key=self.selected_key, cursor=self.cursor, mark=self.mark,
            playhead=self.playhead, secs_per_col=self.secs_per_col, scroll=self.scroll,
            bar_seconds=self.bar_seconds, total_time=self.total_time)
        return super().render()


class TimelineWarnings(TimelineText):
    """What the last render and the proposal warned about (four at most)."""

    warnings: reactive[list[str]] = reactive(list, layout=True)

    def markup(self) -> str:
        return "\n".join(f"[yellow]⚠ {escape(w)}[/]" for w in self.warnings[:4])
