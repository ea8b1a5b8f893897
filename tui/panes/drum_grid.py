"""Drum grid: 9 drum classes × 16 steps per bar. Sample, interpolate and humanize patterns
with MusicVAE/GrooVAE in the engine, edit them by keyboard with undo, loop them with a
playhead, and export MIDI and WAV. Everything is autosaved in the session (DrumsState in
tui/pane_state.py); the lines around the grid are widgets (tui/widgets/drum_*.py) the pane
sets from that state, and what the engine could not do stays on the pane's ProblemLine.

Every pattern carries its provenance (method, model, seed, temperature, sources); the
header, the history and the export names read it from the pattern on screen. Undo covers
the cells, the tempo and the swing alike."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any, Callable

import msgspec
from msgspec import UNSET
from textual import work
from textual.app import ComposeResult
from textual.widgets import Static

from engine import api
from engine.api.base import Params
from tui.drum_pattern import (DEFAULT_VELOCITY, STEPS_PER_BAR, VELOCITY_STEP, EditHistory, Pattern,
                              clean_provenance, describe)
from tui.engine_link import Cancelled, Done, Failed, JobControl
from tui.keys import pane_bindings
from tui.messages import transport_position
from tui.model_choice import next_choice
from tui.pane_state import DrumHistoryEntry, DrumPattern, DrumsState
from tui.panes.base import Pane
from tui.widgets.drum_cell import DrumCell
from tui.widgets.drum_chain import DrumChain
from tui.widgets.drum_grid_view import DrumGridView
from tui.widgets.drum_params import DrumParams
from tui.widgets.drum_source import DrumSource
from tui.widgets.job_progress import JobProgress
from tui.widgets.model_line import MODELS_KEY, ModelLine
from tui.widgets.problem_line import ProblemLine
from tui.widgets.prompt import AskText, Choose, Confirm

TEMPERATURE_RANGE = (0.1, 2.0)
GENERATORS = {"sample": api.drums.Sample, "interpolate": api.drums.Interpolate,
              "humanize": api.drums.Humanize, "tap": api.drums.Tap}
TEMPERATURE_STEP = 0.1
INTERP_RANGE = (2, 16)
TEMPO_RANGE = (40.0, 240.0)
SWING_MAX = 0.45
TAP_HIT, TAP_ACCENT = "x", "X"
PLAYHEAD_TICK_S = 0.03  # the playhead moves on the local clock between transport events
AUDITION_LABEL = "drum grid"
HISTORY_KEPT = 100  # generations in the history (y)


def parse_taps(text: str, steps: int) -> list[int]:
    """A typed rhythm, one character per 16th: x hit, X accent, anything else a rest
    (spaces and bar lines are ignored)."""
    chars = [ch for ch in text if ch not in " |"]
    return [(110 if ch == TAP_ACCENT else 80 if ch == TAP_HIT else 0) for ch in chars[:steps]] + \
        [0] * max(0, steps - len(chars))


def struct_of(pattern: Pattern | dict[str, Any]) -> DrumPattern:
    """A pattern as the session keeps it (a copy: later edits of `pattern` stay out)."""
    return msgspec.convert(pattern.to_dict() if isinstance(pattern, Pattern) else pattern,
                           DrumPattern)


def pattern_of(kept: DrumPattern) -> Pattern:
    """A kept pattern to edit and show (a copy)."""
    return Pattern.from_dict(msgspec.to_builtins(kept))


def wire(kept: DrumPattern) -> dict[str, Any]:
    """A kept pattern as the engine takes it (Pattern.to_dict: the one wire form)."""
    return pattern_of(kept).to_dict()


def entry_provenance(entry: DrumHistoryEntry) -> dict[str, Any] | None:
    """Where a history entry came from (older sessions kept only method, seed, T, model)."""
    prov = entry.provenance if entry.provenance is not UNSET else None
    return clean_provenance(prov or {"method": entry.method, "seed": entry.seed,
                                     "model": entry.model, "temperature": entry.temperature})


class DrumGridPane(Pane[DrumsState]):
    PANE_ID = "drums"
    STATE = DrumsState
    TITLE = "Drums"
    KEY = "4"
    BINDINGS = pane_bindings("drums", [
        ("up", "move(-1, 0)", "Cursor up", "up"),
        ("down", "move(1, 0)", "Cursor down", "down"),
        ("left", "move(0, -1)", "Cursor left", "left"),
        ("right", "move(0, 1)", "Cursor right", "right"),
        ("space", "toggle", "Toggle the cell", "toggle", "toggle"),
        ("plus,equals_sign", "velocity(1)", "Louder cell", "louder"),
        ("minus", "velocity(-1)", "Softer cell", "softer"),
        ("ctrl+z,u", "undo", "Undo", "undo"),
        ("ctrl+y,U", "redo", "Redo", "redo"),
        ("c", "clear", "Clear the pattern", "clear"),
        ("s", "sample", "Sample a new pattern", "sample", "sample"),
        ("left_square_bracket", "temperature(-1)", "Temperature down", "temperature_down"),
        ("right_square_bracket", "temperature(1)", "Temperature up", "temperature_up"),
        ("L", "lock_seed", "Lock/unlock the seed", "lock_seed"),
        ("S", "set_seed", "Type a seed (and lock it)", "set_seed"),
        ("m", "next_model", "Choose the model (auto, lokl, hikl, nade, starter)", "model"),
        ("a", "store('A')", "Keep pattern in slot A", "keep_a"),
        ("b", "store('B')", "Keep pattern in slot B", "keep_b"),
        ("A", "recall('A')", "Bring back slot A", "recall_a"),
        ("B", "recall('B')", "Bring back slot B", "recall_b"),
        ("i", "interpolate", "Interpolate A→B", "interpolate"),
        ("I", "toggle_ends", "A→B ends: yours / the model's reconstructions", "ends"),
        ("comma", "steps(-1)", "Fewer interpolation steps", "fewer_steps"),
        ("full_stop", "steps(1)", "More interpolation steps", "more_steps"),
        ("n", "chain(1)", "Next pattern in the chain", "next"),
        ("p", "chain(-1)", "Previous pattern in the chain", "previous"),
        ("h", "humanize(False)", "Humanize the pattern (GrooVAE)", "humanize"),
        ("H", "humanize(True)", "Humanize the whole chain", "humanize_chain"),
        ("g", "toggle_keep_hits", "Humanize/tap: keep your hits / free", "keep_hits"),
        ("t", "tap", "Tap a rhythm → drums (GrooVAE)", "tap"),
        ("enter", "play", "Play/stop the loop", "play", "play"),
        ("escape", "stop", "Cancel the generation, else stop playing", "stop"),
        ("P", "play_chain", "Play the whole chain", "play_chain"),
        ("left_curly_bracket", "tempo(-5)", "Tempo down", "tempo_down"),
        ("right_curly_bracket", "tempo(5)", "Tempo up", "tempo_up"),
        ("T", "type_tempo", "Type the tempo (bpm)", "type_tempo"),
        ("semicolon", "swing(-0.05)", "Less swing", "less_swing"),
        ("apostrophe", "swing(0.05)", "More swing", "more_swing"),
        ("y", "history", "History of generations", "history"),
        ("F", "soundfont", "Drum sounds: the General MIDI kit or a SoundFont (.sf2)", "soundfont"),
        ("o", "open_midi", "Open a drum MIDI file", "open"),
        ("e", "export(False)", "Export pattern (MIDI + WAV)", "export", "export"),
        ("E", "export(True)", "Export the chain (MIDI + WAV)", "export_chain"),
    ])

    def compose(self) -> ComposeResult:
        yield Static("[b]Drum grid[/b] · sample, interpolate and humanize patterns with MusicVAE",
                     classes="pane-title")
        yield DrumParams(id="drum-params")
        yield ModelLine(id="drum-model-line")
        yield ProblemLine(id="drum-problems")
        yield JobProgress(cancel_hint=self.key("stop"), id="drum-progress")
        yield DrumSource(id="drum-source")
        yield DrumGridView(Pattern.empty(), id="drum-grid")
        yield DrumChain(id="drum-chain")
        yield DrumCell(id="drum-cell")

    # -- state (autosaved) ----------------------------------------------------------
    def on_mount(self) -> None:
        self.pattern = pattern_of(self.state.pattern)  # the one edited; saved by _commit
        self.cursor = (0, 0)
        self.edits: EditHistory[tuple[Pattern, float]] = EditHistory()
        self.busy = ""
        self.generating: JobControl | None = None  # the running generation, escape cancels it
        self.playing = False
        self.playhead: int | None = None
        self._play_offset_steps = 0
        self._transport: dict[str, Any] | None = None  # the engine's player, while it plays ours
        self._ticker = self.set_interval(PLAYHEAD_TICK_S, self._tick_playhead, pause=True)
        self._redraw()

    def _commit(self, reaudition: bool = True, **changes: Any) -> None:
        """Save the pattern on screen (and `changes` to other fields) and show it."""
        self._set(pattern=struct_of(self.pattern), **changes)
        if reaudition and self.playing:
            self._audition([self.pattern.to_dict()], update=True)

    def _redraw(self) -> None:
        if self.closing_down:  # a worker finished as the app closed
            return
        st = self.state
        self.query_one(ModelLine).show([("drum model", st.model)])
        params = self.query_one(DrumParams)
        params.temperature, params.seed, params.seed_locked = st.temperature, st.seed, st.seed_locked
        params.interp_steps, params.ends, params.slots = st.interp_steps, st.ends, tuple(sorted(st.slots))
        params.qpm, params.swing, params.keep_hits = self.pattern.qpm, st.swing, st.keep_hits
        params.model, params.last_model = st.model, st.last_model
        params.model_mark = self.mag.models.mark(st.model)  # ✓ installed, ✗ not (M: Models)
        params.busy = self.busy
        self.query_one(DrumSource).provenance = self.pattern.provenance
        self.query_one(DrumGridView).show(self.pattern, self.cursor, self.playhead)
        chain = self.query_one(DrumChain)
        chain.length, chain.index, chain.provenance = len(st.chain), st.chain_index, st.chain_provenance
        chain.keys = (self.key("next"), self.key("previous"), self.key("play_chain"))
        cell = self.query_one(DrumCell)
        c, s = self.cursor
        cell.drum_class, cell.step = c, s
        cell.velocity, cell.offset = self.pattern.velocities[c][s], self.pattern.offsets[c][s]
        cell.playing = self.playing

    # -- editing --------------------------------------------------------------------
    def action_move(self, dr: int, ds: int) -> None:
        c, s = self.cursor
        self.cursor = ((c + dr) % len(self.pattern.velocities), (s + ds) % self.pattern.steps)
        self._redraw()

    def _snapshot(self) -> tuple[Pattern, float]:
        return copy.deepcopy(self.pattern), self.state.swing

    def _restore(self, snap: tuple[Pattern, float]) -> None:
        self.pattern, swing = snap
        self._commit(swing=swing, **self._seed_of_pattern())

    def _seed_of_pattern(self) -> dict[str, Any]:
        """The seed shown is the one of the pattern on screen (unless one is locked)."""
        prov = self.pattern.provenance or {}
        if not self.state.seed_locked and isinstance(prov.get("seed"), int):
            return {"seed": prov["seed"]}
        return {}

    def _edit(self, change: Callable[[], float | None], notes: bool = True) -> None:
        """One undoable change of the pattern, its tempo or the swing (`change` returns the
        new swing, or None); `notes`: the cells changed, so the pattern is no longer exactly
        what its source made."""
        before = self._snapshot()
        swing = change()
        swing = self.state.swing if swing is None else swing
        if (self.pattern, swing) != before:
            if notes:
                self.pattern.mark_edited()
            self.edits.record(before)
            self._commit(swing=swing)

    def action_toggle(self) -> None:
        c, s = self.cursor

        def change() -> None:
            row = self.pattern.velocities[c]
            row[s] = 0 if row[s] else DEFAULT_VELOCITY
            self.pattern.offsets[c][s] = 0.0
        self._edit(change)

    def action_velocity(self, direction: int) -> None:
        c, s = self.cursor

        def change() -> None:
            v = self.pattern.velocities[c][s]
            if v:
                self.pattern.velocities[c][s] = max(1, min(127, v + direction * VELOCITY_STEP))
        self._edit(change)

    def action_clear(self) -> None:
        bars = self.pattern.steps // STEPS_PER_BAR
        self._edit(lambda: setattr(self, "pattern", Pattern.empty(bars, self.pattern.qpm)))

    def action_tempo(self, delta: float) -> None:
        self._set_tempo(self.pattern.qpm + delta)

    def _set_tempo(self, qpm: float) -> None:
        lo, hi = TEMPO_RANGE
        self._edit(lambda: setattr(self.pattern, "qpm", round(min(hi, max(lo, qpm)), 2)),
                   notes=False)

    def action_type_tempo(self) -> None:
        lo, hi = TEMPO_RANGE

        def answer(text: str | None) -> None:
            if text is None or not text.strip():
                return
            try:
                qpm = float(text.strip().lower().removesuffix("bpm").strip())
            except ValueError:
                qpm = float("nan")
            if not lo <= qpm <= hi:  # NaN fails too
                self.mag.notify(f"tempo {text.strip()!r}: give a number of bpm from {lo:g} to {hi:g}",
                                severity="warning")
                return
            self._set_tempo(qpm)
        self.mag.push_screen(AskText(f"Tempo in bpm ({lo:g}-{hi:g}):", f"{self.pattern.qpm:g}"), answer)

    def action_undo(self) -> None:
        if (snap := self.edits.undo(self._snapshot())) is not None:
            self._restore(snap)

    def action_redo(self) -> None:
        if (snap := self.edits.redo(self._snapshot())) is not None:
            self._restore(snap)

    def _replace(self, pattern: Pattern, swing: float | None = None, **changes: Any) -> None:
        """A generated or recalled pattern (and, from the history, its swing) replaces the
        current one as one undoable edit; `changes`: other fields saved with it."""
        self.edits.record(self._snapshot())
        self.pattern = pattern
        if swing is not None:
            changes["swing"] = swing
        self._commit(**{**self._seed_of_pattern(), **changes})

    # -- parameters -----------------------------------------------------------------
    def action_temperature(self, direction: int) -> None:
        lo, hi = TEMPERATURE_RANGE
        t = round(self.state.temperature + direction * TEMPERATURE_STEP, 1)
        self._set(temperature=min(hi, max(lo, t)))

    def action_steps(self, direction: int) -> None:
        lo, hi = INTERP_RANGE
        self._set(interp_steps=min(hi, max(lo, self.state.interp_steps + direction)))

    def action_swing(self, delta: float) -> None:
        swing = round(min(SWING_MAX, max(0.0, self.state.swing + delta)), 2)
        self._edit(lambda: swing, notes=False)

    def action_toggle_ends(self) -> None:
        self._set(ends="model" if self.state.ends == "yours" else "yours")
        self.mag.notify("A→B now starts on A and ends on B as you made them"
                        if self.state.ends == "yours" else
                        "A→B now shows the model's reconstructions of A and B at its ends",
                        timeout=4)

    def action_toggle_keep_hits(self) -> None:
        self._set(keep_hits=not self.state.keep_hits)
        self.mag.notify("humanize and tap keep your hits: only velocity and timing change"
                        if self.state.keep_hits else
                        "humanize and tap are free: the model may add or drop hits", timeout=4)

    def action_next_model(self) -> None:
        # auto, then the drums.sample role's models (lokl, hikl, nade, the starter)
        self._set(model=next_choice("drums.sample", self.state.model))

    def action_store(self, slot: str) -> None:
        self._set(slots={**self.state.slots, slot: struct_of(self.pattern)})
        self.mag.notify(f"pattern kept in slot {slot}")

    def action_recall(self, slot: str) -> None:
        kept = self.state.slots.get(slot)
        if kept is None:
            self.mag.notify(f"slot {slot} is empty: press {self.key('keep_' + slot.lower())} to keep a pattern there",
                            severity="warning")
            return
        self._replace(pattern_of(kept))

    def action_chain(self, direction: int) -> None:
        chain = self.state.chain
        if not chain:
            return
        i = (self.state.chain_index + direction) % len(chain)
        self._replace(pattern_of(chain[i]), chain_index=i)

    # -- engine jobs: a failure stays on the problem line until that topic next works ------
    async def _job(self, params: Params, topic: str, failed: Callable[[str], str], fix: str,
                   progress: bool = False, label: str = "",
                   control: JobControl | None = None) -> dict[str, Any] | None:
        """The job's result, or None when it failed (said on the problem line as
        `failed(the engine's message)`, with `fix`, the key that helps) or was cancelled."""
        outcome = await self.run_job(params, topic, self.query_one(JobProgress) if progress else None,
                                     control, label=label or topic, fix=fix, says=failed)
        if isinstance(outcome, Cancelled):
            if progress:
                self.query_one(JobProgress).finish(outcome, "the grid is as it was")
            else:
                self.mag.notify(f"{label or topic} cancelled: the grid is as it was", timeout=3)
        return outcome.result if isinstance(outcome, Done) else None

    def _model_params(self, kind: str) -> dict[str, Any]:
        """Which model: the chosen name (sampling/interpolation), or per-kind overrides in
        the session (`model_overrides`: {"sample": {"checkpoint", "config"}, ...}) for
        custom checkpoints."""
        params = dict(self.state.model_overrides.get(kind, {}))
        if kind in ("sample", "interpolate") and self.state.model and "checkpoint" not in params:
            params["model"] = self.state.model
        return params

    # -- generation (in the engine; the TUI never waits on it) ------------------------
    @work(exclusive=True, group="drum-generate")
    async def _generate(self, kind: str, params: dict[str, Any], label: str,
                        long: bool = False) -> None:
        """`long`: a job that takes a while (an interpolation, a whole chain) shows its
        progress under the header."""
        self.busy = label
        self.generating = control = JobControl()
        self._redraw()
        try:
            fix = (f"{self.key('model')} chooses the model · {MODELS_KEY} opens Models"
                   if kind in ("sample", "interpolate") else f"{MODELS_KEY} opens Models")
            result = await self._job(GENERATORS[kind](**params, **self._model_params(kind)), kind,
                                     lambda message: f"{label} failed: {message}", fix,
                                     progress=long, label=label, control=control)
        finally:
            self.busy = ""
            if self.generating is control:
                self.generating = None
            self._redraw()
        if result is None:
            return
        mode = ({"keep_hits": "keep-hits" if result.get("keep_hits") else "free"}
                if "keep_hits" in result else {})
        if "ends" in result:
            mode = {"ends": result["ends"]}
        prov = clean_provenance({"method": f"drums.{kind}", "seed": result.get("seed"),
                                 "model": result.get("model"),
                                 "temperature": result.get("temperature"),
                                 "mode": next(iter(mode.values()), None)})
        entry = DrumHistoryEntry(method=f"drums.{kind}", seed=result.get("seed"),
                                 model=result.get("model"), temperature=result.get("temperature"),
                                 patterns=[struct_of(p) for p in result["patterns"]],
                                 time=time.time(), swing=self.state.swing, provenance=prov)
        changes: dict[str, Any] = {"history": [*self.state.history, entry][-HISTORY_KEPT:]}
        if kind in ("sample", "interpolate"):
            changes["last_model"] = result.get("model")
        if not self.state.seed_locked and result.get("seed") is not None:
            changes["seed"] = result["seed"]  # the generation's seed, to run it again
        self._show_result(result["patterns"], prov, **changes)
        self.mag.notify(f"{label}: seed {result.get('seed')} · {result.get('model')}", timeout=3)

    def _show_result(self, patterns: list[dict[str, Any]], source: dict[str, Any] | None,
                     swing: float | None = None, **changes: Any) -> None:
        """Show a result (a chain when several): `source` is where the whole of it came
        from (chain exports are named by it); `changes`: other fields saved with it."""
        if len(patterns) > 1:
            changes.update(chain=[struct_of(p) for p in patterns], chain_index=0,
                           chain_provenance=source)
        self._replace(Pattern.from_dict(patterns[0]), swing, **changes)

    def action_sample(self) -> None:
        st = self.state
        self._generate("sample", {"n": 1, "temperature": st.temperature, "seed": self.locked_seed(),
                                  "qpm": self.pattern.qpm}, "sample")

    def action_interpolate(self) -> None:
        st = self.state
        if "A" not in st.slots or "B" not in st.slots:
            self.mag.notify(f"keep two patterns first: {self.key('keep_a')} stores slot A, {self.key('keep_b')} slot B", severity="warning")
            return
        self._generate("interpolate", {"a": wire(st.slots["A"]), "b": wire(st.slots["B"]),
                                       "steps": st.interp_steps, "temperature": st.temperature,
                                       "seed": self.locked_seed(), "ends": st.ends},
                       "interpolate", long=True)

    def action_humanize(self, whole_chain: bool) -> None:
        st = self.state
        chain = whole_chain and bool(st.chain)
        patterns = [wire(p) for p in st.chain] if chain else [self.pattern.to_dict()]
        if not any(Pattern.from_dict(p).hit_count() for p in patterns):
            self.mag.notify("the pattern is empty: sample or draw one first", severity="warning")
            return
        self._generate("humanize", {"patterns": patterns, "temperature": st.temperature,
                                    "seed": self.locked_seed(), "keep_hits": st.keep_hits},
                       "humanize" + ("" if st.keep_hits else " (free)"), long=chain)

    def action_tap(self) -> None:
        self._tap()

    @work(exclusive=True, group="drum-generate")
    async def _tap(self) -> None:
        """Ask for a rhythm only when the tap model is there; what was typed is kept (the
        prompt comes back with it) whether or not the model run works."""
        check = api.drums.Check(action="tap", **self._model_params("tap"))
        if await self._job(check, "tap", lambda message: f"tap → drums needs its model: {message}",
                           f"{MODELS_KEY} opens Models") is None:
            return

        def answer(text: str | None) -> None:
            if not text:
                return
            self._set(last_taps=text)
            vel = parse_taps(text, self.pattern.steps)
            typed = len([ch for ch in text if ch not in " |"])
            if typed > self.pattern.steps:
                self.mag.notify(f"{typed - self.pattern.steps} step(s) typed past step "
                                f"{self.pattern.steps} left out: the pattern is "
                                f"{self.pattern.steps // STEPS_PER_BAR} bars", severity="warning")
            if not any(vel):
                self.mag.notify("no taps: type x for a hit, X for an accent", severity="warning")
                return
            taps = Pattern.empty(self.pattern.steps // STEPS_PER_BAR, self.pattern.qpm)
            taps.velocities[2] = vel
            self._generate("tap", {"pattern": taps.to_dict(), "temperature": self.state.temperature,
                                   "seed": self.locked_seed(), "keep_hits": self.state.keep_hits},
                           "tap → drums")
        self.mag.push_screen(AskText("Tap a rhythm, one character per 16th (x hit, X accent, . rest):",
                                     self.state.last_taps,
                                     placeholder="x...x...x.x.x... x...x...x.x.x..."), answer)

    # -- audition -------------------------------------------------------------------
    def action_play(self) -> None:
        if self.playing:
            self._stop()
        else:
            self._play_offset_steps = 0
            self._audition([self.pattern.to_dict()])

    def action_play_chain(self) -> None:
        chain = [wire(p) for p in self.state.chain] or [self.pattern.to_dict()]
        self._play_offset_steps = 0
        self._audition(chain)

    @work(exclusive=True, group="drum-audition")
    async def _audition(self, patterns: list[dict[str, Any]], update: bool = False) -> None:
        params = api.drums.Audition(patterns=patterns, swing=self.state.swing, loop=True,
                                    update=update, label=AUDITION_LABEL,
                                    soundfont=self.state.soundfont)
        if await self._job(params, "audition", lambda message: f"audition failed: {message}",
                           f"{self.key('soundfont')} chooses the drum sounds") is None:
            return
        self.playing = True
        self._redraw()

    def action_stop(self) -> None:
        """escape: cancel the running generation (a model job waiting behind a long render
        is the usual one), else stop playing."""
        control = self.generating
        if control is not None and not control.cancel_asked:
            self.mag.notify(f"cancelling {self.busy or 'the generation'}…", timeout=2)
            self.run_worker(control.cancel(), group="drum-cancel")
        elif self.playing:
            self._stop()

    @work(exclusive=True, group="drum-audition")
    async def _stop(self) -> None:
        self._stopped()
        await self.mag.engine.run_job(api.audio.Stop())  # nothing to stop when it fails

    def _stopped(self) -> None:
        self.playing, self.playhead, self._transport = False, None, None
        self._ticker.pause()
        self._redraw()

    # -- the playhead: moved by the engine's transport events, never by asking ---------
    def transport_changed(self, status: dict[str, Any]) -> None:
        if status.get("playing") and status.get("label") == AUDITION_LABEL:
            self._transport = status
            self.playing = True
            self._ticker.resume()
            self._tick_playhead()
            self._redraw()
        elif self.playing or self._transport is not None:
            self._stopped()  # stopped, or another sound took the player

    def engine_state_changed(self, state: str) -> None:
        if state != "ready" and (self.playing or self._transport is not None):
            self._stopped()  # a restarted engine plays nothing: `enter` starts the loop again

    def playhead_step(self, now: float | None = None) -> int | None:
        """The step playing at `now` (wall clock), from the last transport event."""
        st = self._transport
        pos = None if st is None else transport_position(st, now or time.time())
        if pos is None:
            return None
        step_s = 60.0 / self.pattern.qpm / 4
        return int(pos / step_s) % self.pattern.steps

    def _tick_playhead(self) -> None:
        step = self.playhead_step()
        if step != self.playhead:
            self.playhead = step
            self.query_one(DrumGridView).show(self.pattern, self.cursor, self.playhead)

    # -- history, files ---------------------------------------------------------------
    def action_history(self) -> None:
        entries = self.state.history
        if not entries:
            self.mag.notify(f"nothing generated yet: press {self.key('sample')} to sample", severity="warning")
            return

        def label(e: DrumHistoryEntry) -> str:
            swing = f"  swing {e.swing:.2f}" if e.swing is not UNSET else ""
            when = e.time if e.time is not UNSET else 0
            return (f"{time.strftime('%H:%M:%S', time.localtime(when))}  "
                    f"{describe(entry_provenance(e))}{swing}  ({len(e.patterns)} pattern(s))")

        def chosen(index: int | None) -> None:
            if index is not None:
                e = entries[index]
                seed = ({"seed": e.seed} if not self.state.seed_locked and isinstance(e.seed, int)
                        else {})
                self._show_result([wire(p) for p in e.patterns], entry_provenance(e),
                                  e.swing if e.swing is not UNSET else None, **seed)
        self.mag.push_screen(Choose("History (enter recalls):", [label(e) for e in entries]), chosen)

    def action_soundfont(self) -> None:
        def answer(path: str | None) -> None:
            if path is None:
                return
            if not path.strip():
                self._set(soundfont=None)
                self.solved("soundfont")
                self.mag.notify("drums sound from the shipped kit again")
                return
            self._use_soundfont(path.strip())
        # `gm` (offered first): the full General MIDI kit of the SoundFont that ships
        self.mag.push_screen(AskText("Drum sounds: gm (the General MIDI kit), a SoundFont "
                                     "(.sf2) path, or empty for the shipped kit:",
                                     self.state.soundfont or "gm"), answer)

    @work(exclusive=True, group="drum-soundfont")
    async def _use_soundfont(self, path: str) -> None:
        """Checked by the engine (where the audio is rendered) before it is kept."""
        keep = self.state.soundfont or "the shipped kit"
        if await self._job(api.drums.Check(soundfont=path), "soundfont",
                           lambda message: f"not using it: {message} (still {keep})",
                           f"{self.key('soundfont')} tries another") is None:
            return
        self._set(soundfont=path)
        self.mag.notify("drums now sound from the General MIDI kit (TimGM6mb)"
                        if path.lower() == "gm" else f"drums now sound from {path}")
        if self.playing:
            self._audition([self.pattern.to_dict()], update=True)

    def action_open_midi(self) -> None:
        def answer(path: str | None) -> None:
            if path:
                self._open(path.strip())
        self.mag.push_screen(AskText("Drum MIDI file to open (GM drums, channel 10):", paths=True), answer)

    @work(exclusive=True, group="drum-generate")
    async def _open(self, path: str) -> None:
        result = await self._job(api.drums.ImportMidi(path=path), "open",
                                 lambda message: f"could not open it: {message}",
                                 f"{self.key('open')} opens another")
        if result is None:
            return
        name = Path(path).name
        self._show_result(result["patterns"], {"method": "file", "sources": [name[:300]]})
        n = len(result["patterns"])
        self.mag.notify(f"opened {name}: {result.get('bars', 2 * n)} bars as {n} pattern(s) at "
                        f"{result['qpm']:g} bpm" + (" · n/p step, L plays it all" if n > 1 else "")
                        + " · a/b keep them in slots", timeout=6)
        for w in result.get("warnings") or []:
            self.mag.notify(f"{name}: {w}", severity="warning", timeout=12)

    def action_export(self, chain: bool) -> None:
        st = self.state
        whole = chain and bool(st.chain)
        patterns = [wire(p) for p in st.chain] if whole else [self.pattern.to_dict()]
        # named from where the exported thing came from: the chain's source, or the pattern
        # on screen (never the newest history entry)
        source = (st.chain_provenance if whole else self.pattern.provenance) or {}

        def answer(folder: str | None) -> None:
            if folder:
                self._set(export_folder=folder.strip())
                self._export(patterns, folder.strip(), overwrite=False, source=source)
        self.mag.push_screen(AskText("Export MIDI + WAV into folder:",
                                     st.export_folder or str(Path.cwd() / "exports"), paths=True),
                             answer)

    @work(group="drum-export")
    async def _export(self, patterns: list[dict[str, Any]], folder: str, overwrite: bool,
                      source: dict[str, Any]) -> None:
        method = str(source.get("method", "drums")).removeprefix("drums.")
        params = api.drums.Export(patterns=patterns, folder=folder, swing=self.state.swing,
                                  wav=True, model=source.get("model") or method,
                                  seed=source.get("seed"), overwrite=overwrite,
                                  soundfont=self.state.soundfont)
        outcome = await self.run_job(params, "export", fix=f"{self.key('export')} exports again",
                                     says=lambda message: f"export failed: {message}")
        if isinstance(outcome, Failed) and outcome.code == "output_exists":
            self.solved("export")  # not a failure: the files are there; asked instead

            def confirm(yes: bool | None) -> None:
                if yes:
                    self._export(patterns, folder, overwrite=True, source=source)
            self.mag.push_screen(Confirm(f"{outcome.message}\nOverwrite?"), confirm)
            return
        if isinstance(outcome, Done):
            self.mag.notify("exported " + ", ".join(Path(f).name for f in outcome.result["files"]),
                            timeout=6)
