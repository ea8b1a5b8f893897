"""Arrangement timeline: a MIDI file rendered note by note with GANSynth (or the General
MIDI SoundFont), the instrument morphing between keyframes placed along time, and melody
continuations proposed over it.

Everything musical comes from the engine as JSON (`timeline.load_midi`, `gansynth.render`,
`soundfont.render`, `melody.continue`, `timeline.export`, `audio.*`), each through
`run_job`; this module never reads MIDI itself. The autosaved state is TimelineState
(tui/pane_state.py); the widgets that draw it are in tui/widgets/timeline_*.py, the
arithmetic in tui/timeline_arrangement.py, tui/timeline_continuation.py and
tui/timeline_render.py.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import msgspec
from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from engine import api, paths
from engine.words import counted
from tui.drum_pattern import EditHistory
from tui.engine_link import Cancelled, Done, Failed, JobControl
from tui.generate_source import PROMPT, parse_source, result_file
from tui.keys import pane_bindings
from tui.messages import transport_position
from tui.pane_state import Keyframe, TimelineSource, TimelineState
from tui.panes.base import Pane
from tui.timeline_arrangement import (ZOOMS, column, key_at, layout_keyframes, moved_time,
                                      new_seed, parse_secs, scroll_to_show, with_changed,
                                      with_key)
from tui.timeline_continuation import (CONTINUE_TEMPERATURE, ContinueJob, Proposal,
                                       continue_params, next_model, parse_bars, parse_primer,
                                       parse_temperature)
from tui.timeline_render import (export_params, gansynth_params, preview_params, render_record,
                                 rendered_text, save_params, short_path)
from tui.widgets.job_progress import JobProgress
from tui.widgets.model_line import ModelLine
from tui.widgets.problem_line import ProblemLine
from tui.widgets.prompt import AskText, Confirm
from tui.widgets.timeline_arrangement import (Arrangement, TimelineHeader, TimelineWarnings,
                                              TrackList)
from tui.widgets.timeline_continuation import ContinuationLine
from tui.widgets.timeline_keyframes import KeyframeStrip

MODELS = ("acoustic_only", "all_instruments")
SHIPPED_MIDI = paths.PROJECT_ROOT / "midi" / "cs1-1pre-short.mid"
PLAYHEAD_TICK_S = 0.05  # the playhead moves on the local clock between transport events
PLAY_LABEL = "timeline"  # the player's label for our renders
MODELS_FIX = "M opens the Models screen"


class TimelinePane(Pane[TimelineState]):
    PANE_ID = "timeline"
    STATE = TimelineState
    TITLE = "Timeline"
    KEY = "3"
    _reopen = False  # set on mount: the saved file waits for the engine
    _transport: dict[str, Any] | None = None  # the engine's player, while it plays ours
    playhead: float | None = None
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
        with Vertical(id="timeline-info"):
            yield TimelineHeader(id="timeline-head")
            yield ContinuationLine(id="timeline-continue")
        yield ModelLine(id="timeline-model-line")
        yield TrackList(id="timeline-tracks")
        yield Arrangement(id="timeline-roll")
        yield KeyframeStrip(id="timeline-key")
        yield JobProgress(cancel_hint="escape", id="timeline-progress")
        yield JobProgress(cancel_hint="escape", id="timeline-continue-progress")
        yield Static(id="timeline-status")
        yield ProblemLine(id="timeline-problems")
        yield TimelineWarnings(id="timeline-warnings")

    def on_mount(self) -> None:
        self.proposal: Proposal | None = None  # continuation notes not yet accepted
        self.song: dict[str, Any] | None = None  # timeline.load_midi's answer
        self.edits: EditHistory[dict[str, list[Any]]] = EditHistory()
        self.track_sel = 0
        self.selected_key: int | None = 0 if self.state.keyframes else None
        self.clipboard: Keyframe | None = None  # a copied instrument (its seed and name)
        self.mark: float | None = None
        self.playhead: float | None = None
        self.play_end: float | None = None
        self.scroll = 0
        self.busy = ""
        self.status = ""
        self.rendering: JobControl | None = None  # the render running, to cancel it
        self.continuing: JobControl | None = None  # the continuation running
        self._transport: dict[str, Any] | None = None  # the engine's player, while it plays ours
        self._ticker = self.set_interval(PLAYHEAD_TICK_S, self._tick_playhead, pause=True)
        self.query_one(TimelineHeader).shipped_midi = str(SHIPPED_MIDI)
        # the saved file is opened again once the engine is up (engine_state_changed)
        self._reopen = bool(self.state.midi and self.mag.connect_engine)
        self.engine_state_changed(self.mag.engine.state)
        self._redraw()

    # -- state ------------------------------------------------------------------------
    def _snapshot(self) -> dict[str, list[Any]]:
        """What undo restores: the keyframes and the accepted notes (never changed in place)."""
        return {"keyframes": list(self.state.keyframes), "added": list(self.state.added)}

    def _edit(self, keys: list[Keyframe]) -> None:
        """New keyframes, kept undoably if they differ."""
        before = self._snapshot()
        if keys != before["keyframes"]:
            self.edits.record(before)
            self._set(keyframes=sorted(keys, key=lambda k: k.time))

    def all_notes(self) -> list[list[float]]:
        """The file's notes and the accepted ones: [start, end, pitch, velocity, track]."""
        return (self.song["notes"] if self.song else []) + [list(n) for n in self.state.added]

    @property
    def secs_per_col(self) -> float:
        return ZOOMS[self.state.zoom]

    @property
    def qpm(self) -> float:
        return self.song["qpm"] if self.song else 120.0

    # -- drawing: the widgets get the state; they draw themselves ----------------------
    def _redraw(self) -> None:
        if self.closing_down:  # a worker finished as the app closed
            return
        st, song, marks = self.state, self.song, self.mag.models.mark
        head = self.query_one(TimelineHeader)
        head.song, head.midi, head.cursor, head.source = song, st.midi, st.cursor, st.source
        head.renderer, head.soundfont, head.checkpoint = st.renderer, st.soundfont, st.checkpoint
        head.model, head.model_mark = st.model, marks(st.model)
        head.secs_per_instrument, head.secs_per_col = st.secs_per_instrument, self.secs_per_col
        head.busy = self.busy
        cont = self.query_one(ContinuationLine)
        cont.model, cont.checkpoint = st.continue_model, st.continue_checkpoint
        cont.model_mark = marks(st.continue_model)
        cont.bars, cont.temperature, cont.proposal = (st.continue_bars, st.continue_temperature,
                                                      self.proposal)
        self.query_one(ModelLine).show([
            ("GANSynth model", None if st.checkpoint or st.renderer == "soundfont" else st.model),
            ("continuation model", None if st.continue_checkpoint else st.continue_model)])
        tracks = self.query_one(TrackList)
        tracks.tracks = list(song["tracks"]) if song else []
        tracks.enabled, tracks.pointer = frozenset(st.tracks), self.track_sel
        roll = self.query_one(Arrangement)
        if roll.size.width:  # laid out: keep the cursor and the playhead on screen
            self.scroll = scroll_to_show(self.scroll, roll.columns, st.cursor, self.playhead,
                                         self.secs_per_col)
        roll.notes, roll.enabled = self.all_notes(), frozenset(st.tracks)
        roll.proposed = list(self.proposal.notes) if self.proposal else []
        roll.keyframes, roll.selected_key = list(st.keyframes), self.selected_key
        roll.cursor, roll.mark, roll.playhead = st.cursor, self.mark, self.playhead
        roll.secs_per_col, roll.scroll = self.secs_per_col, self.scroll
        roll.bar_seconds = song["bar_seconds"] if song else 2.0
        roll.total_time = song["total_time"] if song else 0.0
        strip = self.query_one(KeyframeStrip)
        strip.keyframes, strip.selected = list(st.keyframes), self.selected_key
        strip.clipboard_seed = self.clipboard.seed if self.clipboard else None
        strip.insert_key, strip.sample_key = self.key("insert_key"), self.key("sample")
        self.query_one("#timeline-status", Static).update(self.status)
        render_warnings = (st.render.warnings if st.render else None) or []
        self.query_one(TimelineWarnings).warnings = (
            (self.proposal.warnings if self.proposal else []) + list(render_warnings))

    # -- prompts ----------------------------------------------------------------------
    def _prompt(self, kind: str, question: str, value: str, then: Callable[[str], None]) -> None:
        """Ask in the shared dialog; `then` gets the answer (not called on escape)."""
        def answered(text: str | None) -> None:
            if text is not None:
                then(text.strip())
        self.mag.push_screen(AskText(question, value, paths=kind in ("open", "export")), answered)

    def _ask(self, kind: str, question: str, value: str, parse: Callable[[str], Any],
             then: Callable[[Any], None]) -> None:
        """Ask; `parse` makes the answer a value (its ValueError is shown, not `then`'s)."""
        def done(text: str) -> None:
            try:
                parsed = parse(text)
            except ValueError as e:
                self.mag.notify(escape(str(e)), severity="error")
                return
            then(parsed)
        self._prompt(kind, question, value, done)

    def _need_song(self) -> bool:
        if self.song is None:
            self.mag.notify(f"open a MIDI file first: {self.key('open')} (or "
                            f"{self.key('generate')} generates one)", severity="warning")
            return False
        return True

    # -- files --------------------------------------------------------------------------
    def action_open(self) -> None:
        current = self.state.midi
        default = short_path(current) if current else short_path(str(SHIPPED_MIDI))
        self._prompt("open", "MIDI file to open:", default,
                     lambda v: self._load(str(Path(v).expanduser().resolve())) if v else None)

    @work(exclusive=True, group="timeline-load")
    async def _load(self, path: str, restore: bool = False) -> None:
        self.busy, self.status = "loading", f"opening {escape(short_path(path))}"
        self._redraw()
        outcome = await self.run_job(api.timeline.LoadMidi(path=path), "open",
                                     fix=f"{self.key('open')} opens another file")
        self.busy = ""
        if not isinstance(outcome, Done):
            self.status = ""
            self._redraw()
            return
        song = outcome.result
        st = self.state
        same = restore or song["path"] == st.midi
        self.song = song
        known = {t["index"] for t in song["tracks"]}
        tracks = list(st.tracks)
        if not same or not tracks:
            tracks = [t["index"] for t in song["tracks"] if not t["is_drum"]]
        changes: dict[str, Any] = {"tracks": [t for t in tracks if t in known]}
        if not same:
            self.edits = EditHistory()
            self.proposal = None
            self.selected_key = 0
            changes.update(midi=song["path"], render=None, cursor=0.0, added=[],
                           keyframes=layout_keyframes(song["total_time"], st.secs_per_instrument))
        self.track_sel = min(self.track_sel, max(0, len(song["tracks"]) - 1))
        self.status = "" if restore else f"opened {short_path(song['path'])}"
        self._set(**changes)

    # -- cursor, zoom, tracks ---------------------------------------------------------
    def _set_cursor(self, t: float) -> None:
        end = self.song["total_time"] if self.song else 0.0
        cursor = round(min(max(0.0, t), max(end, 0.0)), 6)
        landed = key_at(self.state.keyframes, cursor, self.secs_per_col)
        if landed is not None:  # landing on a keyframe selects it
            self.selected_key = landed
        self._set(cursor=cursor)

    def action_move(self, cols: int) -> None:
        self._set_cursor((column(self.state.cursor, self.secs_per_col) + cols) * self.secs_per_col)

    def action_bar(self, direction: int) -> None:
        bar = self.song["bar_seconds"] if self.song else 2.0
        self._set_cursor((int(self.state.cursor // bar + 1e-9) + direction) * bar)

    def action_page(self, direction: int) -> None:
        cols = self.query_one(Arrangement).columns
        self.scroll = max(0, self.scroll + direction * cols)
        self.action_move(direction * cols)

    def action_home(self) -> None:
        self._set_cursor(0.0)

    def action_zoom(self, direction: int) -> None:
        zoom = min(len(ZOOMS) - 1, max(0, self.state.zoom + direction))
        cols = self.query_one(Arrangement).columns
        self.scroll = max(0, int(self.state.cursor / ZOOMS[zoom]) - cols // 2)
        self._set(zoom=zoom)

    def action_track(self, delta: int) -> None:
        if self.song and self.song["tracks"]:
            self.track_sel = (self.track_sel + delta) % len(self.song["tracks"])
            self._redraw()

    def action_toggle_track(self) -> None:
        if not self.song or not self.song["tracks"]:
            return
        t = self.song["tracks"][self.track_sel]
        tracks = set(self.state.tracks) ^ {t["index"]}
        if t["is_drum"] and t["index"] in tracks and self.state.renderer == "gansynth":
            self.mag.notify("GANSynth plays pitched notes: it skips drum tracks",
                            severity="warning")
        self._set(tracks=sorted(tracks))

    def action_mark(self) -> None:
        self.mark = None if self.mark is not None else self.state.cursor
        self._redraw()

    # -- keyframes ----------------------------------------------------------------------
    def _add_key(self, seed: int, name: str) -> None:
        t = round(self.state.cursor, 6)
        self._edit(with_key(self.state.keyframes, t, seed, name, self.secs_per_col))
        self.selected_key = key_at(self.state.keyframes, t, self.secs_per_col)
        self._redraw()

    def action_add_key(self) -> None:
        if self._need_song():
            self._add_key(new_seed(), "")

    def action_select_key(self, delta: int) -> None:
        keys = self.state.keyframes
        if keys:
            i = 0 if self.selected_key is None else (self.selected_key + delta) % len(keys)
            self.selected_key = i
            self._set(cursor=keys[i].time)

    def _selected(self) -> int | None:
        if self.selected_key is None or self.selected_key >= len(self.state.keyframes):
            self.mag.notify(f"no keyframe selected: {self.key('previous_key')} and "
                            f"{self.key('next_key')} pick one, {self.key('insert_key')} "
                            "inserts one",
                            severity="warning")
            return None
        return self.selected_key

    def _change_key(self, i: int, **changes: Any) -> None:
        self._edit(with_changed(self.state.keyframes, i, **changes))

    def action_move_key(self, cols: int) -> None:
        if (i := self._selected()) is None:
            return
        t = moved_time(self.state.keyframes, i, cols, self.secs_per_col)
        if t is None:
            self.mag.notify("a keyframe cannot pass its neighbour or the start", timeout=2)
            return
        self._change_key(i, time=t)
        self.selected_key = i
        self._set(cursor=t)

    def action_delete_key(self) -> None:
        if (i := self._selected()) is None:
            return
        self._edit([k for j, k in enumerate(self.state.keyframes) if j != i])
        n = len(self.state.keyframes)
        self.selected_key = min(i, n - 1) if n else None
        self._redraw()

    def action_name_key(self) -> None:
        if (i := self._selected()) is not None:
            self._prompt("name", "Keyframe name:", self.state.keyframes[i].name,
                         lambda name: self._change_key(i, name=name[:40]))

    def action_reroll_key(self) -> None:
        if (i := self._selected()) is not None:
            self._change_key(i, seed=new_seed())

    def action_copy_key(self) -> None:
        if (i := self._selected()) is None:
            return
        self.clipboard = self.state.keyframes[i]
        self.mag.notify(f"copied instrument seed {self.clipboard.seed}", timeout=2)
        self._redraw()

    def action_paste_key(self) -> None:
        if self.clipboard is None:
            self.mag.notify(f"nothing copied yet: {self.key('copy_key')} copies the selected "
                            "keyframe", severity="warning")
        elif self._need_song():
            self._add_key(self.clipboard.seed, self.clipboard.name)

    def action_secs_per_instrument(self) -> None:
        if not self._need_song():
            return

        def done(secs: float) -> None:
            assert self.song is not None
            self._set(secs_per_instrument=secs)
            self._edit(layout_keyframes(self.song["total_time"], secs))
            self.selected_key = 0
            self._redraw()
        self._ask("secs", "Seconds per instrument (new random keyframes every N seconds):",
                  f"{self.state.secs_per_instrument:g}", parse_secs, done)

    def action_undo(self) -> None:
        if (snap := self.edits.undo(self._snapshot())) is not None:
            self._restore(snap)

    def action_redo(self) -> None:
        if (snap := self.edits.redo(self._snapshot())) is not None:
            self._restore(snap)

    def _restore(self, snap: dict[str, list[Any]]) -> None:
        n = len(snap["keyframes"])
        if not n:
            self.selected_key = None
        elif self.selected_key is None or self.selected_key >= n:
            self.selected_key = n - 1
        self._set(keyframes=snap["keyframes"], added=snap["added"])

    # -- renderer and render ------------------------------------------------------------
    def action_model(self) -> None:
        """acoustic_only -> all_instruments -> the General MIDI SoundFont -> ..."""
        st = self.state
        if st.renderer == "soundfont":
            changes = {"renderer": "gansynth", "model": MODELS[0]}
        elif st.model == MODELS[-1]:
            changes = {"renderer": "soundfont"}
        else:
            changes = {"model": MODELS[MODELS.index(st.model) + 1 if st.model in MODELS else 0]}
        self._set(**changes)
        if self.state.checkpoint and self.state.renderer == "gansynth":
            self.mag.notify("a checkpoint folder is set for this session and wins over the "
                            "model name", severity="warning")

    def save_params(self) -> api.timeline.SaveMidi:
        return save_params(self.state)

    def action_render(self) -> None:
        if not self._need_song():
            return
        if not self.state.tracks:
            self.mag.notify(f"no track chosen: {self.key('toggle_track')} toggles the track "
                            "under ▶", severity="warning")
            return
        self._render_job()

    async def _soundfont(self, progress: JobProgress, control: JobControl) -> Any:
        proposed = self.proposal.rows if self.proposal else []
        return await self.run_job(preview_params(self.state, proposed), "render", progress,
                                  control, label="SoundFont",
                                  fix=f"{self.key('model')} switches the renderer")

    @work(exclusive=True, group="timeline-render")
    async def _render_job(self) -> None:
        st = self.state
        progress = self.query_one("#timeline-progress", JobProgress)
        self.rendering = control = JobControl()
        self.busy, self.status = "rendering", ""
        self._redraw()
        fix = f"{self.key('model')} switches the renderer (the SoundFont needs no model)"
        fallback = ""  # why GANSynth did not render, when the SoundFont stood in
        try:
            if st.renderer == "soundfont":
                outcome = await self._soundfont(progress, control)
            else:
                midi = None
                if st.added:  # render the arrangement as edited
                    saved = await self.run_job(save_params(st), "render", fix=fix)
                    if not isinstance(saved, Done):
                        return
                    midi = saved.result["path"]
                outcome = await self.run_job(gansynth_params(st, midi), "render", progress,
                                             control, label="GANSynth", fix=fix)
                if isinstance(outcome, Failed) and outcome.missing_model:
                    # no GANSynth yet: the file is still heard, through the SoundFont
                    fallback = outcome.message
                    outcome = await self._soundfont(progress, control)
        finally:
            if self.rendering is control:
                self.rendering = None
            self.busy = "continuing" if self.continuing is not None else ""
            self._redraw()
        if isinstance(outcome, Cancelled):
            self.status = "render cancelled (finished notes are kept for the next one)"
            self.mag.notify("render cancelled", timeout=3)
        if not isinstance(outcome, Done):
            self._redraw()
            return
        result = outcome.result
        self.status = rendered_text(result, fallback, {
            "play": self.key("audition"), "export": self.key("export"),
            "renderer": self.key("model")})
        self._set(render=render_record(result, st.keyframes))
        if result.get("warnings"):
            self.mag.notify(escape("\n".join(result["warnings"][:3])), severity="warning",
                            timeout=6)

    def action_cancel(self) -> None:
        """escape: the continuation first, then the render, then the audition."""
        control = self.continuing or self.rendering
        if control is not None:
            self.run_worker(control.cancel(), group="timeline-cancel")
            self.status = "cancelling…"
            self._redraw()
        elif self.playhead is not None:
            self._stop_playing()

    # -- audition and the playhead (moved by the engine's transport events) -------------
    def action_play(self) -> None:
        render = self.state.render
        if render is None or not render.path:
            self.mag.notify(f"nothing rendered yet: {self.key('render')} renders",
                            severity="warning")
            return
        if self.playhead is not None:
            self._stop_playing()
            return
        start, self.play_end = self.state.cursor, None
        if self.mark is not None:
            start, self.play_end = sorted((self.mark, self.state.cursor))
        self._play(render.path, start)

    @work(exclusive=True, group="timeline-play")
    async def _play(self, path: str, start: float) -> None:
        outcome = await self.run_job(api.audio.Play(path=path, start=start, label=PLAY_LABEL),
                                     "play", fix=f"{self.key('render')} renders again")
        if isinstance(outcome, Done):  # the pushed event says the same; whichever comes first
            self.transport_changed(outcome.result)

    def transport_changed(self, status: dict[str, Any]) -> None:
        if status.get("playing") and status.get("label") == PLAY_LABEL:
            self._transport = status
            self._ticker.resume()
            self._tick_playhead()
        elif self._transport is not None or self.playhead is not None:
            self._playhead_off()  # stopped, or another pane's sound took the player

    def engine_state_changed(self, state: str) -> None:
        if state == "ready" and self._reopen and self.state.midi:
            self._reopen = False
            self._load(self.state.midi, restore=True)
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
        elif self.play_end is not None and pos >= self.play_end:
            self._stop_playing()  # the marked range is done
        else:
            before, self.playhead = self.playhead, pos
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
        self.run_worker(self.run_job(api.audio.Stop(), "play"), group="timeline-stop",
                        exit_on_error=False)

    # -- export ---------------------------------------------------------------------------
    def action_export(self) -> None:
        render = self.state.render
        if render is None or not render.path:
            self.mag.notify(f"nothing rendered yet: {self.key('render')} renders",
                            severity="warning")
            return
        folder = self.state.export_dir or str(paths.home() / "exports")
        self._prompt("export", "Export WAV + MIDI into folder:", folder,
                     lambda folder: self._export(folder, False) if folder else None)

    @work(exclusive=True, group="timeline-export")
    async def _export(self, folder: str, overwrite: bool) -> None:
        self._set(export_dir=folder)
        outcome = await self.run_job(export_params(self.state, folder, overwrite), "export",
                                     fix=f"{self.key('export')} exports into another folder")
        if isinstance(outcome, Failed) and outcome.code == "output_exists":
            self.solved("export")  # asked here instead
            self.mag.push_screen(
                Confirm(f"{outcome.message}\nOverwrite?"),
                lambda yes: self._export(folder, True) if yes
                else self.mag.notify("export not written", timeout=3))
        elif isinstance(outcome, Done):
            self.status = escape("exported " + ", ".join(short_path(f)
                                                         for f in outcome.result["files"]))
            self.mag.notify(self.status, timeout=5)
            self._redraw()

    # -- melody continuation ------------------------------------------------------------
    def _target_track(self) -> int:
        """The track under ▶ (accepted notes go into it); 0 for an empty file."""
        tracks = self.song["tracks"] if self.song else []
        return tracks[self.track_sel]["index"] if tracks else 0

    def continue_params(self, primer: list[list[float]], seed: int) -> api.melody.Continue:
        return continue_params(self.state, primer, self.qpm, seed)

    def action_continue(self) -> None:
        if not self._need_song():
            return
        if self.mark is None:
            self.action_primer()
            return
        a, b = sorted((self.mark, self.state.cursor))
        track = self._target_track()
        notes = [n for n in self.all_notes() if int(n[4]) == track and a <= n[0] < b]
        if not notes:
            self.mag.notify(f"no notes of track {track} in the selection: ↑ ↓ pick the track",
                            severity="warning")
            return
        # the primer in seconds from the selection's start; the answer is moved back
        self._continue_job(ContinueJob.from_selection(notes, a, track), new_seed())

    def action_primer(self) -> None:
        if not self._need_song():
            return

        def done(typed: tuple[str, list[int | None]]) -> None:
            text, pitches = typed
            self._set(primer_text=text)
            self._continue_job(ContinueJob.from_typed(pitches, self.qpm, self.state.cursor,
                                                      self._target_track()), new_seed())
        self._ask("primer", "Primer at the cursor: MIDI numbers or note names, 8th notes, "
                  "_ a rest (e.g. 60 62 64 65 67)", self.state.primer_text,
                  lambda text: (text, parse_primer(text)), done)

    def action_continue_bars(self) -> None:
        self._ask("bars", "Bars to continue (1-64):", str(self.state.continue_bars), parse_bars,
                  lambda bars: self._set(continue_bars=bars))

    def action_continue_temperature(self) -> None:
        self._ask("temperature", "Continuation temperature (0.01-5):",
                  f"{self.state.continue_temperature:g}", parse_temperature,
                  lambda t: self._set(continue_temperature=t))

    def action_continue_temperature_step(self, direction: int) -> None:
        lo, hi = CONTINUE_TEMPERATURE
        t = round(self.state.continue_temperature + 0.1 * direction, 2)
        self._set(continue_temperature=min(hi, max(lo, t)))

    def action_continue_model(self) -> None:
        self._set(continue_model=next_model(self.state.continue_model))
        if self.state.continue_checkpoint:
            self.mag.notify("a continuation bundle is set for this session and wins over the "
                            "model name", severity="warning")

    @work(exclusive=True, group="timeline-continue")
    async def _continue_job(self, job: ContinueJob, seed: int) -> None:
        progress = self.query_one("#timeline-continue-progress", JobProgress)
        self.continuing = control = JobControl()
        self.busy, self.status = "continuing", ""
        self._redraw()
        try:
            outcome = await self.run_job(job.params(self.state, self.qpm, seed), "continue",
                                         progress, control, label="continuing", fix=MODELS_FIX)
        finally:
            if self.continuing is control:
                self.continuing = None
            self.busy = "rendering" if self.rendering is not None else ""
        if isinstance(outcome, Cancelled):
            self.status = "continuation cancelled"
            self.mag.notify("continuation cancelled", timeout=3)
        if isinstance(outcome, Done):
            self.proposal = Proposal.from_result(job, outcome.result)
            self.status = (f"{self.proposal.model} proposed {self.proposal.counts()}: "
                           "a accepts, R re-rolls, d discards")
        self._redraw()

    def _need_proposal(self) -> bool:
        if self.proposal is None:
            self.mag.notify(f"nothing proposed: {self.key('continue')} continues the selection, "
                            f"{self.key('primer')} a typed primer", severity="warning")
            return False
        return True

    def action_reroll(self) -> None:
        """R re-rolls what is new: the proposed notes while there are some, else the
        selected keyframe's instrument."""
        if self.proposal is not None:
            self._continue_job(self.proposal.job, new_seed())
        else:
            self.action_reroll_key()

    def action_discard(self) -> None:
        if self._need_proposal():
            self.proposal = None
            self.status = "proposal discarded"
            self._redraw()

    def action_accept(self) -> None:
        if not self._need_proposal():
            return
        assert self.proposal is not None
        proposal, self.proposal = self.proposal, None
        track = proposal.job.track
        before = self._snapshot()
        self.edits.record(before)
        self.status = (f"added {counted(len(proposal.notes), 'note')} to track {track} "
                       f"({self.key('undo')} undoes; {self.key('render')} renders them)")
        self._set(added=before["added"] + [tuple(n) for n in proposal.rows],
                  tracks=sorted({*self.state.tracks, track}))

    # -- generated sources --------------------------------------------------------------
    def action_generate(self) -> None:
        def done(typed: tuple[str, Any]) -> None:
            self._set(generate_text=typed[0])
            self._generate_job(typed[1])
        self._ask("generate", PROMPT, self.state.generate_text,
                  lambda text: (text, parse_source(text)), done)

    @work(exclusive=True, group="timeline-generate")
    async def _generate_job(self, spec) -> None:
        """Ask the engine for the source (one MIDI file in a fresh folder of its home),
        then open it like any MIDI file."""
        seed = spec.seed if spec.seed is not None else new_seed()
        folder = paths.home() / "timeline" / "sources" / datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        raw = spec.params(seed, str(folder), self.state.model_overrides.get(spec.kind))
        params = msgspec.convert(raw, api.DECLARED[spec.method].params)
        self.busy = "generating"
        self.status = f"generating a {escape(spec.describe())} (seed {seed})"
        self._redraw()
        outcome = await self.run_job(params, "generate", self.query_one("#timeline-progress",
                                                                        JobProgress),
                                     label=f"generating a {spec.kind}", fix=MODELS_FIX)
        self.busy = ""
        if not isinstance(outcome, Done):
            self.status = ""
            self._redraw()
            return
        result = outcome.result
        self._set(source=TimelineSource(path=result_file(result), model=result["model"],
                                        seed=result["seed"], what=spec.describe()))
        self.mag.notify(escape(f"{result['model']} made a {spec.describe()} (seed "
                               f"{result['seed']})"), timeout=4)
        self._load(result_file(result))
