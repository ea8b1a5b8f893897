"""Sample library: the sounds shipped in `sounds/` and the user's folders."""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from engine import paths
from tui.panes.base import Pane

AUDIO_SUFFIXES = {".wav", ".flac", ".mp3", ".ogg", ".aiff", ".aif"}


def scan_folder(folder: Path) -> list[tuple[str, str, str, str]]:
    """Rows (name, duration, rate, channels) for the audio files under `folder`.
    A file that can't be read shows why instead of stopping the scan."""
    import soundfile as sf

    rows = []
    for f in sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES):
        try:
            info = sf.info(str(f))
            rows.append((str(f.relative_to(folder)), f"{info.duration:6.2f} s",
                         f"{info.samplerate} Hz", str(info.channels)))
        except Exception as e:  # noqa: BLE001 - any unreadable file is reported in its row
            rows.append((str(f.relative_to(folder)), "unreadable", type(e).__name__, "-"))
    return rows


class LibraryPane(Pane):
    PANE_ID = "library"
    TITLE = "Library"
    KEY = "1"
    BINDINGS = [("r", "rescan", "Rescan the sound folders")]

    def compose(self) -> ComposeResult:
        yield Static("[b]Sample library[/b] · sounds in [i]sounds/[/i]", classes="pane-title")
        table: DataTable[str] = DataTable(id="library-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("sound", "duration", "rate", "ch")
        yield table

    def on_mount(self) -> None:
        self.action_rescan()

    @work(thread=True, exclusive=True, group="library-scan")
    def action_rescan(self) -> None:
        rows = scan_folder(paths.PROJECT_ROOT / "sounds")
        self.app.call_from_thread(self._show, rows)

    def _show(self, rows: list[tuple[str, str, str, str]]) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for row in rows:
            table.add_row(*row)
