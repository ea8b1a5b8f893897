"""Arrangement timeline: a MIDI file rendered note by note with GANSynth, the instrument
morphing between keyframes placed along time.

Everything musical comes from the engine as JSON (`timeline.load_midi`,
`gansynth.render`, `timeline.export`, `audio.*`); this module never reads MIDI itself.

Autosaved state (the session's "timeline" entry): midi (absolute path), tracks (the
track numbers rendered), keyframes [{time, seed, name}], secs_per_instrument, zoom,
cursor, renderer ("gansynth" | "soundfont": GANSynth, or a General MIDI SoundFont that
needs no model; `soundfont` is its .sf2 file, unset: the one that ships),
model ("acoustic_only" | "all_instruments"), checkpoint (a checkpoint folder;
when set it wins over `model`: tests and people with unpacked checkpoints use it),
export_dir, render (the last render's result); for melody continuation (`melody.continue`):
added (accepted notes [start, end, pitch, velocity, track] laid over the MIDI file),
continue_bars, continue_temperature, continue_model, primer_text, and optionally
continue_checkpoint (a .mag bundle that wins over continue_model, as `checkpoint` does);
for generated sources (`G`, tui/generate_source.py): generate_text (what was last asked
for), and optionally model_overrides {"melody"|"trio": {"checkpoint", "config"}} (else the
engine picks its default model for melodies and for trios).
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any, Callable

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.widgets import ProgressBar, Static

from engine import paths
from engine.client import EngineUnavailable
from tui.drum_pattern import EditHistory
from tui.generate_source import DEFAULT_TEXT, MODEL_OF, PROMPT, parse_source, result_file
from tui.keys import pane_bindings
from tui.messages import transport_position
from tui.panes.base import Pane
from tui.widgets.model_line import ModelLine
from tui.widgets.piano_roll import TRACK_STYLES, PianoRoll, RollView
from tui.widgets.prompt import AskText, Confirm

ZOOMS = (0.025, 0.05, 0.0625, 0.125, 0.25, 0.5, 1.0)  # seconds per column
DEFAULT_ZOOM = 3
MODELS = ("acoustic_only", "all_instruments")
SHIPPED_MIDI = paths.PROJECT_ROOT / "midi" / "cs1-1pre-short.mid"
DEFAULT_SECS_PER_INSTRUMENT = 6.0  # Magenta's gansynth_generate.py default
SECS_RANGE = (0.5, 120.0)
PLAYHEAD_TICK_S = 0.05  # the playhead moves on the local clock between transport events
PLAY_LABEL = "timeline"  # the player's label for our renders
ENGINE_WAIT_S = 60.0
RENDER_NAME = "timeline.wav"
PREVIEW_NAME = "timeline_soundfont.wav"
RENDERERS = ("gansynth", "soundfont")
GM_NAME = "General MIDI SoundFont"
# None = auto: the first installed official MelodyRNN, else the shipped starter model.
CONTINUE_MODELS = (None, "attention_rnn", "basic_rnn", "lookback_rnn", "starter-attention_rnn",
                   "performance_with_dynamics")
CONTINUE_BARS = (1, 64)
CONTINUE_TEMPERATURE = (0.01, 5.0)
DEFAULT_PRIMER = "60 62 64 65 67"
NOTE_STEPS = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}


def parse_primer(text: str) -> list[int | None]:
    """A typed primer: one 8th note per token, a MIDI number (60) or a note name (C4, F#3,
    Bb3; C4 = 60), `_` or `.` a rest. ValueError names the token it cannot read."""
    out: list[int | None] = []
    for tok in text.replace(",", " ").split():
        if tok in ("_", "."):
            out.append(None)
            continue
        if tok.isdigit():
            pitch = int(tok)
        else:
            name = tok[0].lower()
            rest = tok[1:]
            shift = 0
            while rest[:1] in ("#", "b") and name in NOTE_STEPS:
                shift += 1 if rest[0] == "#" else -1
                rest = rest[1:]
            if name not in NOTE_STEPS or not rest.lstrip("-").isdigit():
                raise ValueError(f"cannot read the note {tok!r}: use 60 or C4, F#3, Bb3")
            pitch = (int(rest) + 1) * 12 + NOTE_STEPS[name] + shift
        if not 0 <= pitch <= 127:
            raise ValueError(f"the note {tok!r} is outside MIDI's 0-127")
        out.append(pitch)
    if not any(p is not None for p in out):
        raise ValueError("the primer needs at least one note, e.g. 60 62 64 65 67")
    return out


def new_seed() -> int:
    return random.randrange(2**31)


def layout_keyframes(total_time: float, secs: float) -> list[dict[str, Any]]:
    """Magenta's layout: max(2, total // secs) random instruments spread evenly over the
    piece, first at 0 and last at the end."""
    n = max(2, int(total_time / secs))
    step = total_time / (n - 1) if n > 1 else 0.0
    return [{"time": round(i * step, 4), "seed": new_seed(), "name": ""} for i in range(n)]


def short_path(p: str) -> str:
    try:
        return str(Path(p).relative_to(Path.cwd()))
    except ValueError:
        return p.replace(str(Path.home()), "~", 1)


class TimelinePane(Pane):
    PANE_ID = "timeline"
    TITLE = "Timeline"
    KEY = "3"
    BINDINGS = pane_bindings("timeline", [
        ("o", "open", "Open a MIDI file", "open", "open"),
        ("G", "generate", "Generate a source: a melody or a 16-bar trio (instead of a file)",
         "generate"),
        ("left", "move(-1)", "Cursor left", "left"),
        ("right", "move(1)", "Cursor right", "right"),
        ("ctrl+left", "bar(-1)", "Previous bar", "previous_bar"),
        ("ctrl+right", "bar(1)", "Next bar", "next_bar"),
        ("home", "home", "Cursor to the start", "home"),
        ("pageup", "page(-1)", "Scroll a screen back", "page_back"),
        ("pagedown", "page(1)", "Scroll a screen on", "page_on"),
        ("plus,equals_sign", "zoom(-1)", "Zoom in", "zoom_in"),
        ("minus", "zoom(1)", "Zoom out", "zoom_out"),
        ("up", "track(-1)", "Previous track", "up"),
        ("down", "track(1)", "Next track", "down"),
        ("t", "toggle_track", "Render the track or not", "toggle_track"),
        ("i", "add_key", "Insert a keyframe at the cursor", "insert_key"),
        ("comma", "select_key(-1)", "Previous keyframe", "previous_key"),
        ("full_stop", "select_key(1)", "Next keyframe", "next_key"),
        ("shift+left", "move_key(-1)", "Move the keyframe earlier", "key_earlier"),
        ("shift+right", "move_key(1)", "Move the keyframe later", "key_later"),
        ("x", "delete_key", "Delete the keyframe", "delete_key"),
        ("N", "name_key", "Name the keyframe", "name_key"),
        ("c", "copy_key", "Copy the keyframe's instrument", "copy_key"),
        ("v", "paste_key", "Paste the instrument at the cursor", "paste_key"),
        ("s", "secs_per_instrument", "Sample random keyframes every N seconds", "sample"),
        ("ctrl+z,u", "undo", "Undo a keyframe edit", "undo"),
        ("ctrl+y,U", "redo", "Redo a keyframe edit", "redo"),
        ("m", "model", "Switch the renderer: GANSynth models, General MIDI SoundFont", "model"),
        ("b", "mark", "Mark a selection (again: clear)", "mark"),
        ("r", "render", "Render (GANSynth, or the SoundFont: no model needed)", "render",
         "render"),
        ("escape", "cancel", "Cancel the render / stop playing", "stop"),
        ("enter", "play", "Play/stop from the cursor or the selection", "play", "play"),
        ("space", "play", "Play/stop from the cursor or the selection", "audition"),
        ("e", "export", "Export WAV and MIDI", "export", "export"),
        ("C", "continue", "Continue the selection's notes (no selection: a typed primer)",
         "continue", "continue"),
        ("p", "primer", "Type a primer melody and continue it", "primer"),
        ("l", "continue_bars", "Length of the continuation (bars)", "continue_bars"),
        ("left_square_bracket", "continue_temperature_step(-1)", "Continuation temperature down",
         "temperature_down"),
        ("right_square_bracket", "continue_temperature_step(1)", "Continuation temperature up",
         "temperature_up"),
        ("T", "continue_temperature", "Type the continuation temperature", "type_temperature"),
        ("g", "continue_model", "Switch the continuation model (the melody generator)",
         "continue_model"),
        ("a", "accept", "Accept the proposed notes", "accept"),
        ("R", "reroll", "Re-roll: the proposed notes, else the keyframe's instrument", "reroll"),
        ("d", "discard", "Discard the proposed notes", "discard"),
    ])

    def compose(self) -> ComposeResult:
        yield Static("[b]Arrangement timeline[/b] · render a MIDI file with GANSynth instruments "
                     "that morph along time", classes="pane-title")
        yield Static(id="timeline-info")
        yield ModelLine(id="timeline-model-line")
        yield Static(id="timeline-tracks")
        yield PianoRoll(id="timeline-roll")
        yield Static(id="timeline-key")
        yield ProgressBar(total=None, show_eta=True, id="timeline-progress")
        yield Static(id="timeline-status")
        yield Static(id="timeline-warnings")

    # -- state (autosaved) ----------------------------------------------------------
    def on_mount(self) -> None:
        st = self.state
        st.setdefault("midi", None)
        st.setdefault("tracks", [])
        st.setdefault("keyframes", [])
        st.setdefault("secs_per_instrument", DEFAULT_SECS_PER_INSTRUMENT)
        st.setdefault("zoom", DEFAULT_ZOOM)
        st.setdefault("cursor", 0.0)
        st.setdefault("model", MODELS[0])
        st.setdefault("renderer", RENDERERS[0])
        st.setdefault("export_dir", str(paths.home() / "exports"))
        st.setdefault("render", None)
        st.setdefault("added", [])
        st.setdefault("continue_bars", 2)
        st.setdefault("continue_temperature", 1.0)
        st.setdefault("continue_model", CONTINUE_MODELS[0])
        st.setdefault("primer_text", DEFAULT_PRIMER)
        st.setdefault("generate_text", DEFAULT_TEXT)
        self.proposal: dict[str, Any] | None = None  # continuation notes not yet accepted
        self._continue_req = None
        self.song: dict[str, Any] | None = None  # timeline.load_midi's answer
        self.edits = EditHistory()
        self.track_sel = 0
        self.selected_key: int | None = 0 if st["keyframes"] else None
        self.clipboard: dict[str, Any] | None = None
        self.mark: float | None = None
        self.playhead: float | None = None
        self.play_end: float | None = None
        self.scroll = 0
        self.busy = ""
        self.status = ""
        self._render_req = None
        self._transport: dict[str, Any] | None = None  # the engine's player, while it plays ours
        self._ticker = self.set_interval(PLAYHEAD_TICK_S, self._tick_playhead, pause=True)
        self.query_one("#timeline-progress", ProgressBar).display = False
        if st["midi"] and self.mag.connect_engine:
            self._load(st["midi"], restore=True)
        self._redraw()

    def _keys_changed(self) -> None:
        self.state["keyframes"].sort(key=lambda k: k["time"])
        self.saved()
        self._redraw()

    def _snapshot(self) -> dict[str, Any]:
        """What undo restores: the keyframes and the accepted notes."""
        return {"keyframes": [dict(k) for k in self.state["keyframes"]],
                "added": [list(n) for n in self.state["added"]]}

    def _edit(self, change: Callable[[list[dict[str, Any]]], bool | None]) -> None:
        """Apply `change` to a copy of the keyframes; keep it (undoably) if it changed."""
        before = self._snapshot()
        after = [dict(k) for k in before["keyframes"]]
        change(after)
        if after != before["keyframes"]:
            self.edits.record(before)
            self.state["keyframes"] = after
            self._keys_changed()

    def all_notes(self) -> list[list[float]]:
        """The file's notes and the accepted ones: [start, end, pitch, velocity, track]."""
        return (self.song["notes"] if self.song else []) + [list(n) for n in self.state["added"]]

    # -- drawing --------------------------------------------------------------------
    @property
    def secs_per_col(self) -> float:
        return ZOOMS[self.state["zoom"]]

    def _follow_cursor(self) -> None:
        roll = self.query_one(PianoRoll)
        if roll.size.width == 0:  # not laid out yet
            return
        cols = roll.columns
        col = int(self.state["cursor"] / self.secs_per_col + 1e-9)
        if col < self.scroll:
            self.scroll = col
        elif col >= self.scroll + cols:
            self.scroll = col - cols + 1
        if self.playhead is not None:
            pcol = int(self.playhead / self.secs_per_col)
            if not self.scroll <= pcol < self.scroll + cols:
                self.scroll = max(0, pcol - cols // 4)

    def _redraw(self) -> None:
        st = self.state
        song = self.song
        marks = self.mag.models.mark
        model = self._renderer_text()
        busy = f"  [yellow]{self.busy}…[/]" if self.busy else ""
        cursor = st["cursor"]
        if song is None:
            head = ("No MIDI loaded: [b]o[/] opens a file "
                    f"(try {short_path(str(SHIPPED_MIDI))}), [b]G[/] generates a melody or "
                    "a trio" if not st["midi"]
                    else f"loading {short_path(st['midi'])}")
        else:
            num, den = song["time_signature"]
            bar = int(cursor // song["bar_seconds"]) + 1 if song["bar_seconds"] > 0 else 1
            head = (f"[b]{escape(Path(song['path']).name)}[/] · {song['qpm']:g} bpm {num}/{den} · "
                    f"{song['total_time']:.1f} s · cursor {cursor:.3f} s (bar {bar})"
                    + self._source_text())
        last = (self.proposal or {}).get("model")
        if st.get("continue_checkpoint"):
            cmodel = f"bundle {short_path(st['continue_checkpoint'])}"
        elif st["continue_model"] is None:
            cmodel = "auto" + (f" → {last}" if last else "")
        else:
            cmodel = f"{st['continue_model']}{marks(st['continue_model'])}"
        self.query_one(ModelLine).show([
            ("GANSynth model", None if st.get("checkpoint") or st["renderer"] == "soundfont"
             else st["model"]),
            ("continuation model", None if st.get("continue_checkpoint") else st["continue_model"])])
        self.query_one("#timeline-info", Static).update(
            f"{head}\n{model} · {st['secs_per_instrument']:g} s per instrument · "
            f"zoom {self.secs_per_col:g} s/column{busy}\n"
            f"continue: {cmodel} · {st['continue_bars']} bars · temperature "
            f"{st['continue_temperature']:g}{self._proposal_text()}")
        self.query_one("#timeline-tracks", Static).update(self._tracks_text())
        roll = self.query_one(PianoRoll)
        self._follow_cursor()
        roll.show(RollView(
            notes=self.all_notes(), enabled=set(st["tracks"]),
            proposed=self.proposal["notes"] if self.proposal else [],
            keyframes=st["keyframes"], selected_key=self.selected_key, cursor=cursor,
            mark=self.mark, playhead=self.playhead, secs_per_col=self.secs_per_col,
            scroll=self.scroll, bar_seconds=song["bar_seconds"] if song else 2.0,
            total_time=song["total_time"] if song else 0.0))
        self.query_one("#timeline-key", Static).update(self._key_text())
        self.query_one("#timeline-status", Static).update(self.status)
        render = st.get("render") or {}
        warnings = (self.proposal or {}).get("warnings", []) + (render.get("warnings") or [])
        self.query_one("#timeline-warnings", Static).update(
            "\n".join(f"[yellow]⚠ {escape(w)}[/]" for w in warnings[:4]))

    def _renderer_text(self) -> str:
        st = self.state
        if st["renderer"] == "soundfont":
            font = escape(Path(st["soundfont"]).name) if st.get("soundfont") else "TimGM6mb"
            return f"renderer [b]{GM_NAME}[/] ({font}, no model needed; proposals play too)"
        return (f"checkpoint {short_path(st['checkpoint'])}" if st.get("checkpoint")
                else f"model [b]{st['model']}[/]{self.mag.models.mark(st['model'])}")

    def _proposal_text(self) -> str:
        if not self.proposal:
            return ""
        return (f" · [b]{len(self.proposal['notes'])} proposed notes[/] (seed "
                f"{self.proposal['seed']}): [b]a[/] accepts, [b]R[/] re-rolls, [b]d[/] discards")

    def _tracks_text(self) -> str:
        if not self.song:
            return ""
        lines = []
        for i, t in enumerate(self.song["tracks"]):
            on = t["index"] in self.state["tracks"]
            color = TRACK_STYLES[t["index"] % len(TRACK_STYLES)]
            pointer = "▶" if i == self.track_sel else " "
            box = "☑" if on else "☐"
            kind = "drums" if t["is_drum"] else f"program {t['program']}"
            lines.append(f"{pointer} {box} [{color}]■[/] {t['index']} {escape(t['name'])} · {kind} · "
                         f"{t['notes']} notes")
        return "\n".join(lines)

    def _key_text(self) -> str:
        keys = self.state["keyframes"]
        clip = f" · clipboard seed {self.clipboard['seed']}" if self.clipboard else ""
        if self.selected_key is None or not keys:
            return (f"no keyframes: [b]{escape(self.key('insert_key'))}[/] inserts one at the cursor, "
                    f"[b]{escape(self.key('sample'))}[/] lays them out{clip}")
        k = keys[self.selected_key]
        name = f" “{escape(k['name'])}”" if k.get("name") else ""
        return (f"keyframe {self.selected_key + 1}/{len(keys)}{name} at {k['time']:.3f} s · "
                f"instrument seed {k['seed']}{clip}")

    # -- prompts --------------------------------------------------------------------
    def _prompt(self, kind: str, question: str, value: str, then: Callable[[str], None]) -> None:
        """Ask in the shared dialog; `then` gets the answer (not called on escape)."""
        def answered(text: str | None) -> None:
            if text is not None:
                then(text.strip())
        self.mag.push_screen(AskText(question, value, paths=kind in ("open", "export")), answered)

    # -- files ----------------------------------------------------------------------
    def action_open(self) -> None:
        current = self.state["midi"]
        default = short_path(current) if current else short_path(str(SHIPPED_MIDI))
        self._prompt("open", "MIDI file to open:", default,
                     lambda v: self._load(str(Path(v).expanduser().resolve())) if v else None)

    async def _engine_ready(self) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + ENGINE_WAIT_S
        link = self.mag.engine
        while link.client is None or not link.client.connected:
            if not self.mag.connect_engine or loop.time() > end:
                raise EngineUnavailable("the engine is not connected: it is starting, or see "
                                        "the status bar")
            await asyncio.sleep(0.1)

    async def _call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        await self._engine_ready()
        return await self.mag.engine.call(method, params)

    def _error(self, what: str, e: Exception) -> None:
        msg = escape(f"{what}: {getattr(e, 'message', None) or e}")
        self.status = f"[red]{msg}[/]"
        self.mag.notify(msg, severity="error", timeout=10)
        self._redraw()

    @work(exclusive=True, group="timeline-load")
    async def _load(self, path: str, restore: bool = False) -> None:
        self.busy = "loading"
        self.status = f"opening {escape(short_path(path))}"
        self._redraw()
        try:
            song = await self._call("timeline.load_midi", {"path": path})
        except Exception as e:  # noqa: BLE001 - every engine error is shown to the user
            self._error(f"could not open {short_path(path)}", e)
            return
        finally:
            self.busy = ""
        st = self.state
        same = restore or song["path"] == st["midi"]
        self.song = song
        known = {t["index"] for t in song["tracks"]}
        if not same or not st["tracks"]:
            st["tracks"] = [t["index"] for t in song["tracks"] if not t["is_drum"]]
        st["tracks"] = [t for t in st["tracks"] if t in known]
        if not same:
            st["midi"] = song["path"]
            st["render"] = None
            st["cursor"] = 0.0
            self.edits = EditHistory()
            st["added"] = []
            self.proposal = None
            st["keyframes"] = layout_keyframes(song["total_time"], st["secs_per_instrument"])
            self.selected_key = 0
        self.track_sel = min(self.track_sel, max(0, len(song["tracks"]) - 1))
        self.status = "" if restore else f"opened {short_path(song['path'])}"
        self.saved()
        self._redraw()

    # -- cursor, zoom, tracks -------------------------------------------------------
    def _set_cursor(self, t: float) -> None:
        end = self.song["total_time"] if self.song else 0.0
        self.state["cursor"] = round(min(max(0.0, t), max(end, 0.0)), 6)
        # landing on a keyframe selects it
        col = int(self.state["cursor"] / self.secs_per_col + 1e-9)
        for i, k in enumerate(self.state["keyframes"]):
            if int(k["time"] / self.secs_per_col + 1e-9) == col:
                self.selected_key = i
                break
        self.saved()
        self._redraw()

    def action_move(self, cols: int) -> None:
        col = int(self.state["cursor"] / self.secs_per_col + 1e-9) + cols
        self._set_cursor(col * self.secs_per_col)

    def action_bar(self, direction: int) -> None:
        bar = self.song["bar_seconds"] if self.song else 2.0
        n = int(self.state["cursor"] // bar + 1e-9) + direction
        self._set_cursor(n * bar)

    def action_page(self, direction: int) -> None:
        cols = self.query_one(PianoRoll).columns
        self.scroll = max(0, self.scroll + direction * cols)
        self.action_move(direction * cols)

    def action_home(self) -> None:
        self._set_cursor(0.0)

    def action_zoom(self, direction: int) -> None:
        self.state["zoom"] = min(len(ZOOMS) - 1, max(0, self.state["zoom"] + direction))
        cols = self.query_one(PianoRoll).columns
        self.scroll = max(0, int(self.state["cursor"] / self.secs_per_col) - cols // 2)
        self.saved()
        self._redraw()

    def action_track(self, delta: int) -> None:
        if self.song and self.song["tracks"]:
            self.track_sel = (self.track_sel + delta) % len(self.song["tracks"])
            self._redraw()

    def action_toggle_track(self) -> None:
        if not self.song or not self.song["tracks"]:
            return
        t = self.song["tracks"][self.track_sel]
        tracks = set(self.state["tracks"])
        tracks ^= {t["index"]}
        self.state["tracks"] = sorted(tracks)
        if t["is_drum"] and t["index"] in tracks and self.state["renderer"] == "gansynth":
            self.mag.notify("GANSynth plays pitched notes: it skips drum tracks",
                            severity="warning")
        self.saved()
        self._redraw()

    # -- keyframes ------------------------------------------------------------------
    def _need_song(self) -> bool:
        if self.song is None:
            self.mag.notify("open a MIDI file first: o (or G generates one)", severity="warning")
            return False
        return True

    def _key_at_cursor(self, keys: list[dict[str, Any]]) -> int | None:
        col = int(self.state["cursor"] / self.secs_per_col + 1e-9)
        for i, k in enumerate(keys):
            if int(k["time"] / self.secs_per_col + 1e-9) == col:
                return i
        return None

    def _select_time(self, t: float) -> None:
        keys = self.state["keyframes"]
        self.selected_key = next((i for i, k in enumerate(keys) if k["time"] == t), None)

    def _add_key(self, key: dict[str, Any]) -> None:
        t = round(self.state["cursor"], 6)

        def change(keys: list[dict[str, Any]]) -> None:
            i = self._key_at_cursor(keys)
            if i is not None:  # one keyframe per column: replace its instrument
                keys[i] = {**keys[i], "seed": key["seed"], "name": key.get("name", "")}
            else:
                keys.append({**key, "time": t})
        self._edit(change)
        i = self._key_at_cursor(self.state["keyframes"])
        self.selected_key = i
        self._redraw()

    def action_add_key(self) -> None:
        if self._need_song():
            self._add_key({"seed": new_seed(), "name": ""})

    def action_select_key(self, delta: int) -> None:
        keys = self.state["keyframes"]
        if not keys:
            return
        i = 0 if self.selected_key is None else (self.selected_key + delta) % len(keys)
        self.selected_key = i
        self.state["cursor"] = keys[i]["time"]
        self.saved()
        self._redraw()

    def _selected(self) -> int | None:
        if self.selected_key is None or self.selected_key >= len(self.state["keyframes"]):
            self.mag.notify(f"no keyframe selected: {self.key('previous_key')} and {self.key('next_key')} pick "
                            f"one, {self.key('insert_key')} inserts one",
                            severity="warning")
            return None
        return self.selected_key

    def action_move_key(self, cols: int) -> None:
        i = self._selected()
        if i is None:
            return
        keys = self.state["keyframes"]
        spc = self.secs_per_col
        t = round((int(keys[i]["time"] / spc + 1e-9) + cols) * spc, 6)
        lo = keys[i - 1]["time"] if i > 0 else None
        hi = keys[i + 1]["time"] if i + 1 < len(keys) else None
        if t < 0 or (lo is not None and t <= lo) or (hi is not None and t >= hi):
            self.mag.notify("a keyframe cannot pass its neighbour or the start", timeout=2)
            return

        def change(ks: list[dict[str, Any]]) -> None:
            ks[i]["time"] = t
        self._edit(change)
        self.state["cursor"] = t
        self.selected_key = i
        self._redraw()

    def action_delete_key(self) -> None:
        i = self._selected()
        if i is None:
            return
        self._edit(lambda ks: ks.pop(i))
        n = len(self.state["keyframes"])
        self.selected_key = min(i, n - 1) if n else None
        self._redraw()

    def action_name_key(self) -> None:
        i = self._selected()
        if i is None:
            return

        def done(name: str) -> None:
            def change(ks: list[dict[str, Any]]) -> None:
                ks[i]["name"] = name[:40]
            self._edit(change)
        self._prompt("name", "Keyframe name:",
                     self.state["keyframes"][i].get("name", ""), done)

    def action_reroll_key(self) -> None:
        i = self._selected()
        if i is None:
            return
        seed = new_seed()

        def change(ks: list[dict[str, Any]]) -> None:
            ks[i]["seed"] = seed
        self._edit(change)

    def action_copy_key(self) -> None:
        i = self._selected()
        if i is None:
            return
        k = self.state["keyframes"][i]
        self.clipboard = {"seed": k["seed"], "name": k.get("name", "")}
        self.mag.notify(f"copied instrument seed {k['seed']}", timeout=2)
        self._redraw()

    def action_paste_key(self) -> None:
        if self.clipboard is None:
            self.mag.notify("nothing copied yet: c copies the selected keyframe",
                            severity="warning")
            return
        if self._need_song():
            self._add_key(dict(self.clipboard))

    def action_secs_per_instrument(self) -> None:
        if not self._need_song():
            return

        def done(text: str) -> None:
            try:
                secs = float(text)
            except ValueError:
                secs = -1.0
            lo, hi = SECS_RANGE
            if not lo <= secs <= hi:
                self.mag.notify(f"seconds per instrument must be a number from {lo:g} to "
                                f"{hi:g}", severity="error")
                return
            self.state["secs_per_instrument"] = secs
            keys = layout_keyframes(self.song["total_time"], secs)

            def change(ks: list[dict[str, Any]]) -> None:
                ks[:] = keys
            self._edit(change)
            self.selected_key = 0
            self._redraw()
        self._prompt("secs", "Seconds per instrument (new random keyframes every N seconds):",
                     f"{self.state['secs_per_instrument']:g}", done)

    def action_undo(self) -> None:
        if (snap := self.edits.undo(self._snapshot())) is not None:
            self._restore(snap)

    def action_redo(self) -> None:
        if (snap := self.edits.redo(self._snapshot())) is not None:
            self._restore(snap)

    def _restore(self, snap: dict[str, Any]) -> None:
        self.state["keyframes"] = snap["keyframes"]
        self.state["added"] = snap["added"]
        self._fix_selection()
        self._keys_changed()

    def _fix_selection(self) -> None:
        n = len(self.state["keyframes"])
        if not n:
            self.selected_key = None
        elif self.selected_key is None or self.selected_key >= n:
            self.selected_key = n - 1

    # -- model ----------------------------------------------------------------------
    def action_model(self) -> None:
        """acoustic_only -> all_instruments -> the General MIDI SoundFont -> ..."""
        st = self.state
        if st["renderer"] == "soundfont":
            st["renderer"], st["model"] = "gansynth", MODELS[0]
        elif st["model"] == MODELS[-1]:
            st["renderer"] = "soundfont"
        else:
            st["model"] = MODELS[(MODELS.index(st["model"]) + 1) if st["model"] in MODELS
                                 else 0]
        if st.get("checkpoint") and st["renderer"] == "gansynth":
            self.mag.notify("a checkpoint folder is set for this session and wins over the "
                            "model name", severity="warning")
        self.saved()
        self._redraw()

    # -- render ---------------------------------------------------------------------
    def render_params(self) -> dict[str, Any]:
        st = self.state
        params: dict[str, Any] = {
            "midi": st["midi"], "tracks": list(st["tracks"]), "output": RENDER_NAME,
            "keyframes": [{"time": k["time"], "seed": k["seed"]} for k in st["keyframes"]],
            "secs_per_instrument": st["secs_per_instrument"]}
        if st.get("checkpoint"):
            params["checkpoint"] = st["checkpoint"]
        else:
            params["model"] = st["model"]
        return params

    def preview_params(self) -> dict[str, Any]:
        """soundfont.render's params: the chosen tracks, the accepted notes and the
        proposal not yet accepted (so a continuation is heard before it is kept)."""
        st = self.state
        add = [list(n) for n in st["added"]]
        if self.proposal:
            add += [[*n, self.proposal["track"]] for n in self.proposal["notes"]]
        params: dict[str, Any] = {"midi": st["midi"], "tracks": list(st["tracks"]),
                                  "add": add, "output": PREVIEW_NAME}
        if st.get("soundfont"):
            params["soundfont"] = st["soundfont"]
        return params

    def save_params(self) -> dict[str, Any]:
        """timeline.save_midi's params: the file plus the accepted notes, written to the
        pane's working copy under MAGSTATION_HOME/timeline/ (replaced on every save)."""
        st = self.state
        path = paths.home() / "timeline" / f"{Path(st['midi']).stem}_edited.mid"
        return {"midi": st["midi"], "add": [list(n) for n in st["added"]], "path": str(path),
                "overwrite": True}

    def action_render(self) -> None:
        if not self._need_song():
            return
        if not self.state["tracks"]:
            self.mag.notify("no track chosen: t toggles the track under ▶", severity="warning")
            return
        self._render_job(self.render_params())

    def _on_preview_progress(self, msg: dict[str, Any]) -> None:
        total = msg.get("total") or 0
        if total > 0:
            self.query_one("#timeline-progress", ProgressBar).update(
                total=total, progress=msg.get("done", 0))
        self.status = f"{escape(str(msg.get('message') or 'playing with the SoundFont'))}"
        self.query_one("#timeline-status", Static).update(self.status)

    async def _preview(self) -> dict[str, Any]:
        self._render_req = await self.mag.engine.start_request(
            "soundfont.render", self.preview_params(), self._on_preview_progress)
        return await self._render_req.result()

    def _on_progress(self, msg: dict[str, Any]) -> None:
        bar = self.query_one("#timeline-progress", ProgressBar)
        total = msg.get("total") or 0
        if total > 0:
            bar.update(total=total, progress=msg.get("done", 0))
        self.status = f"rendering notes {int(msg.get('done', 0))}/{int(total)}"
        self.query_one("#timeline-status", Static).update(self.status)

    @work(exclusive=True, group="timeline-render")
    async def _render_job(self, params: dict[str, Any]) -> None:
        bar = self.query_one("#timeline-progress", ProgressBar)
        bar.update(total=None, progress=0)
        bar.display = True
        self.busy = "rendering"
        self.status = "waiting for the engine"
        self._redraw()
        fallback = ""  # why GANSynth did not render, when the SoundFont stood in
        try:
            await self._engine_ready()
            if self.state["renderer"] == "soundfont":
                result = await self._preview()
            else:
                try:
                    result = await self._gansynth(params)
                except Exception as e:  # noqa: BLE001
                    if getattr(e, "code", "") != "model_not_installed":
                        raise
                    # no GANSynth yet: the file is still heard, through the SoundFont
                    fallback = str(getattr(e, "message", None) or e)
                    result = await self._preview()
        except Exception as e:  # noqa: BLE001 - every engine error is shown to the user
            if getattr(e, "code", "") == "cancelled":
                self.status = "render cancelled (finished notes are kept for the next one)"
                self.mag.notify("render cancelled", timeout=3)
                self._redraw()
            else:
                self._error("render failed", e)
            return
        finally:
            self._render_req = None
            self.busy = "continuing" if self._continue_req is not None else ""
            bar.display = self._continue_req is not None
        self.state["render"] = {k: result.get(k) for k in (
            "path", "midi_path", "duration", "notes", "notes_rendered", "notes_cached",
            "warnings", "tracks", "soundfont")}
        self.state["render"]["renderer"] = result.get("renderer", "gansynth")
        self.state["render"]["keyframes"] = params["keyframes"]
        self.saved()
        if result.get("renderer") == "soundfont":
            font = Path(result["soundfont"]).stem
            why = (f"[yellow]{escape(fallback)}[/]\n" if fallback else "")
            self.status = (f"{why}played {result['notes']} notes with the SoundFont "
                           f"[b]{escape(font)}[/] (not GANSynth) · {result['duration']:.1f} s · "
                           "space plays, e exports, m switches the renderer")
        else:
            self.status = (f"rendered {result['notes']} notes with GANSynth "
                           f"({result['notes_rendered']} new, {result['notes_cached']} cached) · "
                           f"{result['duration']:.1f} s · space plays, e exports")
        self._redraw()
        if result.get("warnings"):
            self.mag.notify(escape("\n".join(result["warnings"][:3])), severity="warning",
                            timeout=6)

    async def _gansynth(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.state["added"]:  # render the arrangement as edited
            saved = await self.mag.engine.call("timeline.save_midi", self.save_params())
            params = {**params, "midi": saved["path"]}
        self._render_req = await self.mag.engine.start_request(
            "gansynth.render", params, self._on_progress)
        return await self._render_req.result()

    def action_cancel(self) -> None:
        if self._continue_req is not None:
            self.run_worker(self._continue_req.cancel(), group="timeline-cancel")
            self.status = "cancelling…"
            self._redraw()
            return
        if self._render_req is not None:
            self.run_worker(self._render_req.cancel(), group="timeline-cancel")
            self.status = "cancelling…"
            self._redraw()
        elif self.playhead is not None:
            self._stop_playing()

    # -- audition -------------------------------------------------------------------
    def action_play(self) -> None:
        render = self.state.get("render")
        if not render or not render.get("path"):
            self.mag.notify(f"nothing rendered yet: {self.key('render')} renders", severity="warning")
            return
        if self.playhead is not None:
            self._stop_playing()
            return
        start = self.state["cursor"]
        self.play_end = None
        if self.mark is not None:
            start, self.play_end = sorted((self.mark, self.state["cursor"]))
        self._play(render["path"], start)

    @work(exclusive=True, group="timeline-play")
    async def _play(self, path: str, start: float) -> None:
        try:
            status = await self._call("audio.play", {"path": path, "start": start,
                                                     "label": PLAY_LABEL})
        except Exception as e:  # noqa: BLE001
            self._error("could not play", e)
            return
        self.transport_changed(status)  # the pushed event says the same; whichever comes first

    # -- the playhead: moved by the engine's transport events, never by asking --------
    def transport_changed(self, status: dict[str, Any]) -> None:
        if status.get("playing") and status.get("label") == PLAY_LABEL:
            self._transport = status
            self._ticker.resume()
            self._tick_playhead()
        elif self._transport is not None or self.playhead is not None:
            self._playhead_off()  # stopped, or another pane's sound took the player

    def engine_state_changed(self, state: str) -> None:
        if state != "ready" and (self._transport is not None or self.playhead is not None):
            self._playhead_off()  # a restarted engine plays nothing

    def playhead_seconds(self, now: float | None = None) -> float | None:
        """Where the render is playing at `now` (wall clock), from the last transport
        event; None once it has ended."""
        st = self._transport
        return None if st is None else transport_position(st, now or time.time())

    def _tick_playhead(self) -> None:
        pos = self.playhead_seconds()
        if pos is None:
            self._playhead_off()
            return
        if self.play_end is not None and pos >= self.play_end:
            self._stop_playing()  # the marked range is done
            return
        before = self.playhead
        self.playhead = pos
        if before is None or int(before / self.secs_per_col) != int(pos / self.secs_per_col):
            self._redraw()  # only when it moves a column

    def _playhead_off(self) -> None:
        self._ticker.pause()
        self._transport = None
        if self.playhead is not None:
            self.playhead = None
            self._redraw()

    def _stop_playing(self) -> None:
        self._playhead_off()
        self.run_worker(self._call("audio.stop", {}), group="timeline-stop", exit_on_error=False)

    def action_mark(self) -> None:
        self.mark = None if self.mark is not None else self.state["cursor"]
        self._redraw()

    # -- export ---------------------------------------------------------------------
    def action_export(self) -> None:
        render = self.state.get("render")
        if not render or not render.get("path"):
            self.mag.notify(f"nothing rendered yet: {self.key('render')} renders", severity="warning")
            return
        self._prompt("export", "Export WAV + MIDI into folder:", self.state["export_dir"],
                     lambda folder: self._export(folder, False) if folder else None)

    def export_name(self) -> str:
        st = self.state
        stem = Path(st["midi"]).stem if st["midi"] else "timeline"
        render = st.get("render") or {}
        if render.get("renderer") == "soundfont":
            return f"{stem}_soundfont-{Path(render.get('soundfont') or 'gm').stem}"
        model = Path(st["checkpoint"]).name if st.get("checkpoint") else st["model"]
        return f"{stem}_gansynth-{model}"

    @work(exclusive=True, group="timeline-export")
    async def _export(self, folder: str, overwrite: bool) -> None:
        render = self.state["render"]
        self.state["export_dir"] = folder
        self.saved()
        params = {"path": render["path"], "midi_path": render.get("midi_path"),
                  "folder": str(Path(folder).expanduser()), "name": self.export_name(),
                  "overwrite": overwrite}
        try:
            result = await self._call("timeline.export", params)
        except Exception as e:  # noqa: BLE001
            if getattr(e, "code", "") == "output_exists":
                self.mag.push_screen(
                    Confirm(f"{getattr(e, 'message', e)}\nOverwrite?"),
                    lambda yes: self._export(folder, True) if yes
                    else self.mag.notify("export not written", timeout=3))
                return
            self._error("export failed", e)
            return
        self.status = escape("exported " + ", ".join(short_path(f) for f in result["files"]))
        self.mag.notify(self.status, timeout=5)
        self._redraw()

    # -- melody continuation ---------------------------------------------------------
    def _target_track(self) -> int:
        """The track under ▶ (accepted notes go into it); 0 for an empty file."""
        tracks = self.song["tracks"] if self.song else []
        return tracks[self.track_sel]["index"] if tracks else 0

    def continue_params(self, primer: list[list[float]], seed: int) -> dict[str, Any]:
        st = self.state
        params: dict[str, Any] = {
            "primer": primer, "qpm": self.song["qpm"] if self.song else 120.0,
            "bars": st["continue_bars"], "temperature": st["continue_temperature"],
            "seed": seed}
        if st.get("continue_checkpoint"):
            params["checkpoint"] = st["continue_checkpoint"]
        elif st["continue_model"]:
            params["model"] = st["continue_model"]
        return params

    def action_continue(self) -> None:
        if not self._need_song():
            return
        if self.mark is None:
            self.action_primer()
            return
        a, b = sorted((self.mark, self.state["cursor"]))
        track = self._target_track()
        notes = [n for n in self.all_notes() if int(n[4]) == track and a <= n[0] < b]
        if not notes:
            self.mag.notify(f"no notes of track {track} in the selection: ↑ ↓ pick the track",
                            severity="warning")
            return
        # the primer in seconds from the selection's start; the answer is moved back
        primer = [[round(n[0] - a, 6), round(n[1] - a, 6), int(n[2]), int(n[3])] for n in notes]
        self._continue_job({"primer": primer, "offset": a, "track": track, "typed": []},
                           new_seed())

    def action_primer(self) -> None:
        if not self._need_song():
            return

        def done(text: str) -> None:
            try:
                pitches = parse_primer(text)
            except ValueError as e:
                self.mag.notify(str(e), severity="error")
                return
            self.state["primer_text"] = text
            eighth = 30.0 / self.song["qpm"]
            primer = [[round(i * eighth, 6), round((i + 1) * eighth, 6), p, 100]
                      for i, p in enumerate(pitches) if p is not None]
            t0 = self.state["cursor"]
            typed = [[round(s + t0, 6), round(e + t0, 6), p, v] for s, e, p, v in primer]
            self._continue_job({"primer": primer, "offset": t0, "track": self._target_track(),
                                "typed": typed}, new_seed())
        self._prompt("primer", "Primer at the cursor: MIDI numbers or note names, 8th notes, "
                     "_ a rest (e.g. 60 62 64 65 67)", self.state["primer_text"], done)

    def action_continue_bars(self) -> None:
        def done(text: str) -> None:
            lo, hi = CONTINUE_BARS
            if not text.isdigit() or not lo <= int(text) <= hi:
                self.mag.notify(f"bars must be a whole number from {lo} to {hi}",
                                severity="error")
                return
            self.state["continue_bars"] = int(text)
            self.saved()
            self._redraw()
        self._prompt("bars", "Bars to continue (1-64):", str(self.state["continue_bars"]), done)

    def action_continue_temperature(self) -> None:
        def done(text: str) -> None:
            lo, hi = CONTINUE_TEMPERATURE
            try:
                t = float(text)
            except ValueError:
                t = -1.0
            if not lo <= t <= hi:
                self.mag.notify(f"temperature must be a number from {lo:g} to {hi:g} "
                                "(1: as trained, lower: safer, higher: wilder)", severity="error")
                return
            self.state["continue_temperature"] = t
            self.saved()
            self._redraw()
        self._prompt("temperature", "Continuation temperature (0.01-5):",
                     f"{self.state['continue_temperature']:g}", done)

    def action_continue_temperature_step(self, direction: int) -> None:
        lo, hi = CONTINUE_TEMPERATURE
        t = round(self.state["continue_temperature"] + 0.1 * direction, 2)
        self.state["continue_temperature"] = min(hi, max(lo, t))
        self.saved()
        self._redraw()

    def action_continue_model(self) -> None:
        st = self.state
        cur = st["continue_model"]
        st["continue_model"] = CONTINUE_MODELS[(CONTINUE_MODELS.index(cur) + 1)
                                               % len(CONTINUE_MODELS) if cur in CONTINUE_MODELS
                                               else 0]
        if st.get("continue_checkpoint"):
            self.mag.notify("a continuation bundle is set for this session and wins over the "
                            "model name", severity="warning")
        self.saved()
        self._redraw()

    def _on_continue_progress(self, msg: dict[str, Any]) -> None:
        bar = self.query_one("#timeline-progress", ProgressBar)
        total = msg.get("total") or 0
        if total > 0:
            bar.update(total=total, progress=msg.get("done", 0))
        self.status = f"continuing: {escape(str(msg.get('message') or msg.get('msg') or ''))}"
        self.query_one("#timeline-status", Static).update(self.status)

    @work(exclusive=True, group="timeline-continue")
    async def _continue_job(self, job: dict[str, Any], seed: int) -> None:
        bar = self.query_one("#timeline-progress", ProgressBar)
        bar.update(total=None, progress=0)
        bar.display = True
        self.busy = "continuing"
        self.status = "waiting for the engine"
        self._redraw()
        try:
            await self._engine_ready()
            self._continue_req = await self.mag.engine.start_request(
                "melody.continue", self.continue_params(job["primer"], seed),
                self._on_continue_progress)
            result = await self._continue_req.result()
        except Exception as e:  # noqa: BLE001 - every engine error is shown to the user
            if getattr(e, "code", "") == "cancelled":
                self.status = "continuation cancelled"
                self.mag.notify("continuation cancelled", timeout=3)
                self._redraw()
            else:
                self._error("continuation failed", e)
            return
        finally:
            self._continue_req = None
            self.busy = "rendering" if self._render_req is not None else ""
            bar.display = self._render_req is not None
        off = job["offset"]
        notes = [list(n) for n in job["typed"]] + [
            [round(s + off, 6), round(e + off, 6), int(p), int(v)]
            for s, e, p, v in result["notes"]]
        self.proposal = {**job, "notes": notes, "seed": result["seed"],
                         "warnings": list(result.get("warnings") or []),
                         "model": result.get("model")}
        self.status = (f"{result.get('model')} proposed {len(result['notes'])} notes: "
                       "a accepts, R re-rolls, d discards")
        self._redraw()

    def _need_proposal(self) -> bool:
        if self.proposal is None:
            self.mag.notify("nothing proposed: C continues the selection, p a typed primer",
                            severity="warning")
            return False
        return True

    def action_reroll(self) -> None:
        """R re-rolls what is new: the proposed notes while there are some, else the
        selected keyframe's instrument."""
        if self.proposal is not None:
            self.action_reroll_continue()
        else:
            self.action_reroll_key()

    def action_reroll_continue(self) -> None:
        if self._need_proposal():
            assert self.proposal is not None
            job = {k: self.proposal[k] for k in ("primer", "offset", "track", "typed")}
            self._continue_job(job, new_seed())

    def action_discard(self) -> None:
        if self._need_proposal():
            self.proposal = None
            self.status = "proposal discarded"
            self._redraw()

    def action_accept(self) -> None:
        if not self._need_proposal():
            return
        assert self.proposal is not None
        track = self.proposal["track"]
        before = self._snapshot()
        self.edits.record(before)
        self.state["added"] = before["added"] + [[*n, track] for n in self.proposal["notes"]]
        if track not in self.state["tracks"]:
            self.state["tracks"] = sorted({*self.state["tracks"], track})
        self.status = (f"added {len(self.proposal['notes'])} notes to track {track} "
                       f"({self.key('undo')} undoes; {self.key('render')} renders them)")
        self.proposal = None
        self._keys_changed()

    # -- generated sources -------------------------------------------------------------
    def action_generate(self) -> None:
        def done(text: str) -> None:
            try:
                spec = parse_source(text)
            except ValueError as e:
                self.mag.notify(escape(str(e)), severity="error")
                return
            self.state["generate_text"] = text
            self.saved()
            self._generate_job(spec)
        self._prompt("generate", PROMPT, self.state["generate_text"], done)

    @work(exclusive=True, group="timeline-generate")
    async def _generate_job(self, spec) -> None:
        """Ask the engine for the source (one MIDI file in a fresh folder of its home),
        then open it like any MIDI file."""
        from datetime import datetime

        seed = spec.seed if spec.seed is not None else new_seed()
        folder = paths.home() / "timeline" / "sources" / datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        override = self.state.get("model_overrides", {}).get(spec.kind)
        params = spec.params(seed, str(folder), override)
        bar = self.query_one("#timeline-progress", ProgressBar)
        bar.update(total=None, progress=0)
        bar.display = True
        self.busy = "generating"
        self.status = f"generating a {escape(spec.describe())} (seed {seed})"
        self._redraw()
        try:
            await self._engine_ready()
            result = await self.mag.engine.call(spec.method, params, self._on_generate_progress)
        except Exception as e:  # noqa: BLE001 - every engine error is shown to the user
            if getattr(e, "code", "") == "model_not_installed":
                name = (getattr(e, "details", None) or {}).get("name") or MODEL_OF[spec.kind]
                e = RuntimeError(f"the {spec.kind} model {name} is not installed: M opens the "
                                 f"Models screen (or `magstation models pull {name}`)")
            self._error(f"could not generate a {spec.kind}", e)
            return
        finally:
            self.busy = ""
            bar.display = self._render_req is not None or self._continue_req is not None
        path = result_file(result)
        self.state["source"] = {"path": path, "model": result["model"], "seed": result["seed"],
                                "what": spec.describe()}
        self.mag.notify(escape(f"{result['model']} made a {spec.describe()} (seed "
                               f"{result['seed']})"), timeout=4)
        self._load(path)

    def _on_generate_progress(self, msg: dict[str, Any]) -> None:
        self.status = f"generating: {escape(str(msg.get('message') or ''))}"
        self.query_one("#timeline-status", Static).update(self.status)

    def _source_text(self) -> str:
        """What made the open file, when `G` generated it."""
        src = self.state.get("source") or {}
        if not self.song or src.get("path") != self.song["path"]:
            return ""
        return (f"\ngenerated: {escape(src['what'])} by [b]{escape(src['model'])}[/] "
                f"(seed {src['seed']}) · G generates another")
