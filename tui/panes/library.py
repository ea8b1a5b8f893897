"""Sample library: the sounds shipped in `sounds/`, the user's library and added folders,
indexed by the engine. Browse, filter, tag, preview (waveform + spectrogram), audition,
import, and send sounds to the latent mixer. Every engine call runs in a worker."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from engine import api
from tui.keys import pane_bindings
from tui.messages import SendToMix, transport_position
from tui.pane_state import LibraryState
from tui.panes.base import Pane
from tui.engine_link import Done
from tui.widgets.job_progress import JobProgress
from tui.widgets.problem_line import ProblemLine
from tui.widgets.prompt import AskText
from tui.widgets.waveform import WaveformView

MIX_SOURCES = 4
OVERVIEW_COLUMNS = 240
OVERVIEW_BANDS = 24
PREVIEW_DELAY_S = 0.12  # wait for the cursor to settle before asking for a preview
PLAYHEAD_TICK_S = 0.05  # the playhead moves on the local clock between transport events

# (key, label, width): a width of 0 shares what is left; FLEX_SHARES says how
COLUMNS = (("name", "sound", 0), ("source", "source", 0), ("duration", "duration", 8),
           ("rate", "rate", 8), ("ch", "ch", 2), ("tags", "tags", 0), ("status", "status", 10))
FLEX_SHARES = {"name": 4, "source": 3, "tags": 3}
FLEX_MIN = 6
CELL_PADDING = 2  # DataTable pads each cell by one column on either side
SCROLLBAR = 2

PROMPTS = {
    "filter": "filter (words, #tag)",
    "tag": "tags (+add -remove)",
    "folder": "add folder (full path)",
    "import": "import file (full path)",
}


def parse_filter(text: str) -> tuple[str, str]:
    """`kick #dry` -> text "kick", tag "dry" (one tag; the first wins)."""
    words, tag = [], ""
    for w in text.split():
        if w.startswith("#") and len(w) > 1:
            tag = tag or w[1:].lower()
        else:
            words.append(w)
    return " ".join(words), tag


def parse_tags(text: str) -> tuple[list[str], list[str]]:
    """`+kick -dry warm` -> add [kick, warm], remove [dry]."""
    add, remove = [], []
    for w in text.split():
        if w.startswith("-") and len(w) > 1:
            remove.append(w[1:])
        elif w.startswith("+") and len(w) > 1:
            add.append(w[1:])
        elif w not in "+-":
            add.append(w)
    return add, remove


def display_name(sound: dict[str, Any]) -> str:
    root, path = sound.get("root") or "", sound["path"]
    return path[len(root) + 1:] if root and path.startswith(root + "/") else sound["name"]


def folder_labels(folders: list[dict[str, Any]]) -> dict[str, str]:
    """A short name for each library folder: "shipped", "library", or as few of the last
    parts of its path as tell it apart from the other folders (`drums`, `old/drums`)."""
    labels = {}
    user = [f["path"] for f in folders if f.get("kind") not in ("shipped", "library")]
    for f in folders:
        kind, path = f.get("kind"), f["path"]
        if kind in ("shipped", "library"):
            labels[path] = kind
            continue
        parts = Path(path).parts
        for n in range(1, len(parts) + 1):
            tail = parts[-n:]
            if sum(1 for other in user if Path(other).parts[-n:] == tail) == 1:
                break
        labels[path] = "/".join(p for p in tail if p != "/") or path
    return labels


def sound_source(sound: dict[str, Any], labels: dict[str, str]) -> str:
    """Where a sound came from: its folder's short name and the sub-folder inside it
    (`library/batch-run/grid`), so two sounds with one name can be told apart."""
    root = sound.get("root") or ""
    parent = str(Path(sound["path"]).parent)
    label = labels.get(root) or (Path(root).name if root else parent)
    if root and parent.startswith(root + "/"):
        label += parent[len(root):]
    return label


def fit(text: str | Text, width: int) -> Text:
    """`text` cut to `width` cells, with an ellipsis where it was cut."""
    out = text.copy() if isinstance(text, Text) else Text(text)
    out.truncate(max(1, width), overflow="ellipsis")
    return out


def column_widths(total: int) -> dict[str, int]:
    """Each column's width for a table `total` cells wide (scroll bar and padding kept)."""
    fixed = sum(w for _, _, w in COLUMNS)
    left = total - SCROLLBAR - CELL_PADDING * len(COLUMNS) - fixed
    shares = sum(FLEX_SHARES.values())
    widths = {key: w for key, _, w in COLUMNS if w}
    flex = {key: max(FLEX_MIN, left * FLEX_SHARES[key] // shares) for key in FLEX_SHARES}
    return {**widths, **flex}


def sound_row(sound: dict[str, Any], source: str = "",
              widths: dict[str, int] | None = None) -> tuple[Any, ...]:
    ok = sound["status"] == "ok"
    rate = sound.get("rate")
    cells = {
        "name": sound["name"],
        "source": source,
        "duration": f"{sound['duration']:.2f} s" if sound.get("duration") is not None else "-",
        "rate": f"{rate / 1000:g} kHz" if rate else "-",
        "ch": str(sound["channels"]) if sound.get("channels") else "-",
        "tags": " ".join(sound.get("tags") or []),
        "status": Text("ok", style="green") if ok else Text(sound["status"].replace("_", " "),
                                                            style="bold red"),
    }
    if widths is None:
        return tuple(cells[key] for key, _, _ in COLUMNS)
    return tuple(fit(cells[key], widths[key]) for key, _, _ in COLUMNS)


class LibraryPane(Pane[LibraryState]):
    PANE_ID = "library"
    STATE = LibraryState
    TITLE = "Library"
    KEY = "1"
    BINDINGS = pane_bindings("library", [
        ("enter", "audition", "Audition the sound", "play", "play"),
        ("space", "audition", "Audition the sound", "audition"),
        ("slash", "prompt('filter')", "Filter (name, #tag)", "filter", "filter"),
        ("t", "prompt('tag')", "Tag (+add -remove)", "tag", "tag"),
        ("R", "rescan", "Rescan the folders", "rescan"),
        ("a", "prompt('folder')", "Add a folder", "add_folder"),
        ("o", "prompt('import')", "Open (import) a WAV/FLAC/MP3", "open"),
        ("x", "send_to_mix", "Send to the mixer", "send_to_mix", "→ mix"),
        ("up", "cursor(-1)", "Previous sound", "up"),
        ("down", "cursor(1)", "Next sound", "down"),
        ("pageup", "cursor(-10)", "Ten sounds up", "page_up"),
        ("pagedown", "cursor(10)", "Ten sounds down", "page_down"),
        ("escape", "escape", "Stop playing", "stop"),
    ])

    def compose(self) -> ComposeResult:
        yield Static("[b]Sample library[/b] · shipped sounds, your library and your folders",
                     classes="pane-title")
        yield Static("Waiting for the engine…", id="library-info")
        yield ProblemLine(id="library-problems")
        yield JobProgress(cancel_hint="", id="library-progress")
        table: DataTable[Any] = DataTable(id="library-table", cursor_type="row", zebra_stripes=True)
        table.can_focus = False  # the pane keeps focus and drives the cursor
        yield table
        yield WaveformView(id="library-preview")

    # -- state --------------------------------------------------------------------------
    def on_mount(self) -> None:
        self.mix_sources: list[str] = []  # the mixer's, as its MixSourcesChanged said
        self.mix_capacity = MIX_SOURCES
        self.sounds: dict[str, dict[str, Any]] = {}
        self.overviews: dict[tuple[str, str], dict[str, Any]] = {}
        self.prompt_mode = ""
        self.scanning = ""
        self.busy = ""
        self.loaded = False
        self.truncated = False
        self.last_audition: dict[str, Any] | None = None
        self.folder_labels: dict[str, str] = {}
        self.widths: dict[str, int] = {}
        self._auditioning = ""  # the path asked to play, until the player plays another
        self._transport: dict[str, Any] | None = None
        self._ticker = self.set_interval(PLAYHEAD_TICK_S, self._tick_playhead, pause=True)
        self._fill_table([])
        self._watch_engine()

    @property
    def table(self) -> DataTable:
        return self.query_one("#library-table", DataTable)

    @property
    def selected(self) -> dict[str, Any] | None:
        path = self.state.selected
        return self.sounds.get(path) if path else None

    def _info(self) -> None:
        if not self.loaded:
            text = "Waiting for the engine…" if self.mag.engine.client is None else "Loading…"
        else:
            bad = sum(1 for s in self.sounds.values() if s["status"] != "ok")
            text = f"{len(self.sounds)} sound{'' if len(self.sounds) == 1 else 's'}"
            if self.truncated:
                text += " (the first ones: filter to see others)"
            if bad:
                text += f" · [red]{bad} can't be used[/]"
            if self.state.filter:
                text += f" · filter [b]{self.state.filter}[/]"
            text += f" · mixer {len(self.mix_sources)}/{self.mix_capacity}"
        if self.scanning:
            text += f"  [yellow]{self.scanning}[/]"
        if self.busy:
            text += f"  [yellow]{self.busy}…[/]"
        for info in self.query("#library-info").results(Static):  # none while the app closes
            info.update(text)

    # -- engine -------------------------------------------------------------------------
    @work(group="library-engine")
    async def _watch_engine(self) -> None:
        """Load the list (and scan once) whenever a new engine connection comes up."""
        seen = None
        scanned = False
        while True:
            client = self.mag.engine.client
            if client is not None and client is not seen and client.connected:
                seen = client
                self._reload()
                if not scanned:
                    scanned = True
                    self.action_rescan()
            await asyncio.sleep(0.2)

    @work(exclusive=True, group="library-list")
    async def _reload(self, select: str | None = None) -> None:
        text, tag = parse_filter(self.state.filter)
        outcome = await self.run_job(api.library.List(text=text, tag=tag), "list")
        if not isinstance(outcome, Done):
            return
        res = outcome.result
        self.truncated = bool(res.get("truncated"))
        self.folder_labels = folder_labels(list(res.get("folders") or []))
        self._show(res["sounds"], select)

    def _show(self, sounds: list[dict[str, Any]], select: str | None = None) -> None:
        table = next(iter(self.query("#library-table").results(DataTable)), None)
        if table is None:  # an answer that came while the app was closing
            return
        self.sounds = {s["path"]: s for s in sounds}
        self.loaded = True
        want = select or self.state.selected
        self._fill_table(sounds, want)
        if not sounds:
            self._set(selected=None)
            self.query_one(WaveformView).show(None, message=f"No sounds here. Add a folder "
                                              f"({self.key('add_folder')}) or open a file "
                                              f"({self.key('open')}).")
        self._info()

    # -- the table: columns sized to the pane, the selection always on screen ---------
    def _table_width(self) -> int:
        return max(40, self.content_size.width or self.mag.size.width - 2)

    def _fill_table(self, sounds: list[dict[str, Any]], want: str | None = None) -> None:
        table = self.table
        self.widths = column_widths(self._table_width())
        table.clear(columns=True)
        for key, label, _ in COLUMNS:
            table.add_column(label, width=self.widths[key], key=key)
        for s in sounds:
            table.add_row(*sound_row(s, sound_source(s, self.folder_labels), self.widths),
                          key=s["path"])
        if want in self.sounds:
            table.move_cursor(row=table.get_row_index(want))
        elif sounds:
            table.move_cursor(row=0)
        self.call_after_refresh(self._scroll_to_cursor)

    def _scroll_to_cursor(self) -> None:
        """Bring the selected row on screen (the table may have had no size when the
        cursor was placed, e.g. a selection restored at start-up)."""
        table = next(iter(self.query("#library-table").results(DataTable)), None)
        if table is not None and table.row_count:
            table.move_cursor(row=table.cursor_row, animate=False, scroll=True)

    def on_resize(self) -> None:
        if self.widths and column_widths(self._table_width()) != self.widths:
            self._fill_table(list(self.sounds.values()), self.state.selected)
        else:
            self.call_after_refresh(self._scroll_to_cursor)

    def row_visible(self) -> bool:
        """Whether the selected row is inside the table's visible rows (tests, and a
        check of the scrolling)."""
        table = self.table
        if not table.row_count:
            return True
        region = table.scrollable_content_region
        top = table.scroll_offset.y
        header = table.header_height if table.show_header else 0
        return top <= table.cursor_row < top + region.height - header

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        path = event.row_key.value if event.row_key is not None else None
        if path != self.state.selected:
            self._set(selected=path)
        self._preview(path)

    @work(exclusive=True, group="library-preview")
    async def _preview(self, path: str | None) -> None:
        view = self.query_one(WaveformView)
        sound = self.sounds.get(path or "")
        if sound is None:
            return
        if sound["status"] != "ok":
            view.show(None, message=sound.get("error") or "This file can't be used.")
            return
        caption = f"{display_name(sound)} · {sound['duration']:.2f} s · {sound['format']} {sound['subtype']}"
        cached = self.overviews.get((sound["path"], sound["hash"]))
        if cached is None:
            await asyncio.sleep(PREVIEW_DELAY_S)  # a newer selection cancels this worker
            view.show(None, message="drawing…")
            outcome = await self.mag.engine.run_job(api.library.Overview(
                path=sound["path"], columns=OVERVIEW_COLUMNS, bands=OVERVIEW_BANDS))
            if not isinstance(outcome, Done):  # said in the preview, where the picture would be
                view.show(None, message=getattr(outcome, "message", "cancelled"))
                return
            cached = outcome.result
            self.overviews[(sound["path"], cached["hash"])] = cached
        view.show(cached, caption=f"{caption} · peak {cached['peak']:.2f}")
        self._tick_playhead()

    def show_filter(self, text: str) -> None:
        """Show only what `text` matches, e.g. `#batch:NAME` (a batch's set, from the job list)."""
        self._set(filter=text)
        self._reload()

    # -- actions ------------------------------------------------------------------------
    def action_cursor(self, delta: int) -> None:
        table = self.table
        if table.row_count:
            table.move_cursor(row=max(0, min(table.row_count - 1, table.cursor_row + delta)),
                              scroll=True, animate=False)

    @work(exclusive=True, group="library-scan")
    async def action_rescan(self) -> None:
        self.scanning = "scanning"
        self._info()
        outcome = await self.run_job(api.library.Scan(), "scan", self.query_one(JobProgress),
                                     label="scanning", fix=f"{self.key('rescan')} scans again")
        self.scanning = ""
        self._info()
        if not isinstance(outcome, Done):
            return
        res = self.last_scan = outcome.result
        note = f"scan: {res['files']} files, {res['indexed']} new or changed"
        if res["bad"]:
            note += f", {res['bad']} can't be used"
        if self.mag.current_pane is self:  # the start-up scan says nothing in other panes
            self.mag.notify(note, timeout=3)
        self._reload()

    @work(exclusive=True, group="library-audition")
    async def action_audition(self) -> None:
        sound = self.selected
        if sound is None:
            return
        if sound["status"] != "ok":
            self.mag.notify(sound.get("error") or "this file can't be used", severity="warning")
            return
        self._auditioning = sound["path"]  # its transport event may come before the answer
        outcome = await self.run_job(api.library.Audition(path=sound["path"]), "audition")
        if not isinstance(outcome, Done):
            return
        self.last_audition = outcome.result
        self.mag.notify(f"▶ {display_name(sound)}", timeout=2)

    # -- the playhead: moved by the engine's transport events, never by asking ---------
    def transport_changed(self, status: dict[str, Any]) -> None:
        ours = self._auditioning and status.get("label") == Path(self._auditioning).name
        if status.get("playing") and ours:
            self._transport = status
            self._ticker.resume()
        else:
            self._transport = None  # stopped, or another pane's sound took the player
            self._ticker.pause()
        self._tick_playhead()

    def engine_state_changed(self, state: str) -> None:
        if state != "ready" and self._transport is not None:
            self._transport = None  # a restarted engine plays nothing
            self._ticker.pause()
            self._tick_playhead()

    def playhead_seconds(self, now: float | None = None) -> float | None:
        """Where the audition is at `now` (wall clock), from the last transport event;
        None once a sound that does not loop has ended."""
        st = self._transport
        return None if st is None else transport_position(st, now or time.time())

    def _tick_playhead(self) -> None:
        view = next(iter(self.query(WaveformView).results(WaveformView)), None)
        if view is None:
            return
        pos = self.playhead_seconds()
        if pos is None and self._transport is not None:  # it ended on its own
            self._transport = None
            self._ticker.pause()
        shown = view.overview is not None and view.overview.get("path") == self._auditioning
        view.set_playhead(pos if shown else None)

    def action_send_to_mix(self) -> None:
        sound = self.selected
        if sound is None:
            return
        if sound["status"] != "ok":
            self.mag.notify(f"{display_name(sound)} can't be used: {sound.get('error')}",
                            severity="warning")
            return
        self.post_message(SendToMix(sound["path"], display_name(sound)))

    def mix_sources_changed(self, sources: list[str], capacity: int) -> None:
        self.mix_sources, self.mix_capacity = sources, capacity
        if self.is_mounted:
            self._info()

    # -- the prompt (filter, tag, add folder, import): the shared dialog ----------------
    def action_prompt(self, mode: str) -> None:
        if mode == "tag" and self.selected is None:
            self.mag.notify("select a sound to tag first", severity="warning")
            return
        value, placeholder = "", "/path/to/" + ("folder" if mode == "folder" else "sound.wav")
        if mode == "filter":
            value, placeholder = self.state.filter, "e.g. kick #dry"
        elif mode == "tag":
            placeholder = " ".join(self.selected["tags"]) or "e.g. kick dry"  # type: ignore[index]
        self.prompt_mode = mode
        self.mag.push_screen(
            AskText(PROMPTS[mode], value, placeholder, paths=mode in ("folder", "import"),
                    on_change=self._filter_typed if mode == "filter" else None),
            self._answered)

    async def action_escape(self) -> None:
        await self.mag.engine.run_job(api.audio.Stop())  # nothing plays when it fails

    def _filter_typed(self, text: str) -> None:
        if text != self.state.filter:
            self._set(filter=text)
            self._reload()

    def _answered(self, answer: str | None) -> None:
        """The prompt closed: `answer` is None when escape cancelled it (a filter stays as
        typed, since it applies as you type)."""
        mode, value = self.prompt_mode, (answer or "").strip()
        self.prompt_mode = ""
        if mode == "tag" and value and self.selected is not None:
            add, remove = parse_tags(value)
            self._tag(self.selected["path"], add, remove)
        elif mode == "folder" and value:
            self._add_folder(str(Path(value).expanduser().absolute()))
        elif mode == "import" and value:
            self._import(str(Path(value).expanduser().absolute()))

    @work(group="library-edit")
    async def _tag(self, path: str, add: list[str], remove: list[str]) -> None:
        outcome = await self.run_job(api.library.Tag_(path=path, add=add, remove=remove), "tag")
        if not isinstance(outcome, Done):
            return
        res = outcome.result
        if path in self.sounds:
            self.sounds[path]["tags"] = res["tags"]
            self.table.update_cell(path, "tags", fit(" ".join(res["tags"]), self.widths["tags"]))

    @work(group="library-edit")
    async def _add_folder(self, folder: str) -> None:
        outcome = await self.run_job(api.library.AddFolder(path=folder), "folder",
                                     fix=f"{self.key('add_folder')} adds another")
        if not isinstance(outcome, Done):
            return
        res = outcome.result
        self.mag.notify(f"added {res['folder']}; scanning it")
        self.action_rescan()

    @work(group="library-edit")
    async def _import(self, path: str) -> None:
        self.busy = f"importing {Path(path).name}"
        self._info()
        outcome = await self.run_job(api.library.Import(path=path), "import",
                                     fix=f"{self.key('open')} opens another file")
        self.busy = ""
        self._info()
        if not isinstance(outcome, Done):
            return
        sound = outcome.result["sound"]
        self.mag.notify(f"{sound['name']} is {'already ' if outcome.result['already'] else ''}in your library")
        self._reload(select=sound["path"])
