"""Drum grid: 9 drum classes × 16 steps per bar. Sample, interpolate and humanize patterns
with MusicVAE/GrooVAE in the engine, edit them by keyboard with undo, loop them with a
playhead, and export MIDI and WAV. Everything is autosaved in the session."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from engine.music.drums import DRUM_CLASS_NAMES
from engine import api
from tui.drum_pattern import DEFAULT_VELOCITY, STEPS_PER_BAR, VELOCITY_STEP, EditHistory, Pattern
from tui.panes.base import Pane
from tui.widgets.drum_grid_view import DrumGridView
from tui.widgets.prompt import AskText, Choose, Confirm

TEMPERATURE_RANGE = (0.1, 2.0)
GENERATORS = {"sample": api.drums.Sample, "interpolate": api.drums.Interpolate,
              "humanize": api.drums.Humanize, "tap": api.drums.Tap}
TEMPERATURE_STEP = 0.1
INTERP_RANGE = (2, 16)
TEMPO_RANGE = (40.0, 240.0)
SWING_MAX = 0.45
# None = the best installed: official lokl/hikl, else the shipped starter model.
MODEL_CHOICES = [None, "cat-drums_2bar_small.lokl", "cat-drums_2bar_small.hikl", "starter-drums_2bar"]
TAP_HIT, TAP_ACCENT = "x", "X"
PLAYHEAD_POLL_S = 0.05


def parse_taps(text: str, steps: int) -> list[int]:
    """A typed rhythm, one character per 16th: x hit, X accent, anything else a rest
    (spaces and bar lines are ignored)."""
    chars = [ch for ch in text if ch not in " |"]
    return [(110 if ch == TAP_ACCENT else 80 if ch == TAP_HIT else 0) for ch in chars[:steps]] + \
        [0] * max(0, steps - len(chars))


class DrumGridPane(Pane):
    PANE_ID = "drums"
    TITLE = "Drums"
    KEY = "4"
    BINDINGS = [
        Binding("up", "move(-1, 0)", "Cursor up"),
        Binding("down", "move(1, 0)", "Cursor down"),
        Binding("left", "move(0, -1)", "Cursor left"),
        Binding("right", "move(0, 1)", "Cursor right"),
        Binding("space", "toggle", "Toggle the cell"),
        Binding("plus,equals_sign", "velocity(1)", "Louder cell"),
        Binding("minus", "velocity(-1)", "Softer cell"),
        Binding("ctrl+z,u", "undo", "Undo"),
        Binding("ctrl+y,U", "redo", "Redo"),
        Binding("c", "clear", "Clear the pattern"),
        Binding("s", "sample", "Sample a new pattern"),
        Binding("left_square_bracket", "temperature(-1)", "Temperature down"),
        Binding("right_square_bracket", "temperature(1)", "Temperature up"),
        Binding("k", "lock_seed", "Lock/unlock the seed"),
        Binding("S", "set_seed", "Type a seed (and lock it)"),
        Binding("m", "next_model", "Choose the model (auto, lokl, hikl, starter)"),
        Binding("a", "store('A')", "Keep pattern in slot A"),
        Binding("b", "store('B')", "Keep pattern in slot B"),
        Binding("A", "recall('A')", "Bring back slot A"),
        Binding("B", "recall('B')", "Bring back slot B"),
        Binding("i", "interpolate", "Interpolate A→B"),
        Binding("comma", "steps(-1)", "Fewer interpolation steps"),
        Binding("full_stop", "steps(1)", "More interpolation steps"),
        Binding("n", "chain(1)", "Next pattern in the chain"),
        Binding("p", "chain(-1)", "Previous pattern in the chain"),
        Binding("h", "humanize(False)", "Humanize the pattern (GrooVAE)"),
        Binding("H", "humanize(True)", "Humanize the whole chain"),
        Binding("t", "tap", "Tap a rhythm → drums (GrooVAE)"),
        Binding("enter", "play", "Play/stop the loop"),
        Binding("L", "play_chain", "Play the whole chain"),
        Binding("left_curly_bracket", "tempo(-5)", "Tempo down"),
        Binding("right_curly_bracket", "tempo(5)", "Tempo up"),
        Binding("semicolon", "swing(-0.05)", "Less swing"),
        Binding("apostrophe", "swing(0.05)", "More swing"),
        Binding("y", "history", "History of generations"),
        Binding("F", "soundfont", "Drum sounds from a SoundFont (.sf2)"),
        Binding("o", "open_midi", "Open a drum MIDI file"),
        Binding("e", "export(False)", "Export pattern (MIDI + WAV)"),
        Binding("E", "export(True)", "Export the chain (MIDI + WAV)"),
    ]

    def compose(self) -> ComposeResult:
        yield Static("[b]Drum grid[/b] · sample, interpolate and humanize patterns with MusicVAE",
                     classes="pane-title")
        yield Static(id="drum-params")
        yield DrumGridView(Pattern.empty(), id="drum-grid")
        yield Static(id="drum-chain")
        yield Static(id="drum-cell")

    # -- state (autosaved) ----------------------------------------------------------
    def on_mount(self) -> None:
        defaults = {"pattern": Pattern.empty().to_dict(), "temperature": 1.0, "seed": 1,
                    "seed_locked": False, "interp_steps": 6, "slots": {}, "chain": [],
                    "chain_index": 0, "history": [], "swing": 0.0, "model": None,
                    "export_folder": str(Path.cwd() / "exports")}
        for k, v in defaults.items():
            self.state.setdefault(k, v)
        try:
            self.pattern = Pattern.from_dict(self.state["pattern"])
        except (KeyError, ValueError, TypeError):
            self.pattern = Pattern.empty()
        self.cursor = (0, 0)
        self.edits = EditHistory()
        self.busy = ""
        self.playing = False
        self.playhead: int | None = None
        self._play_offset_steps = 0
        self._poll = self.set_interval(PLAYHEAD_POLL_S, self._poll_playhead, pause=True)
        self._redraw()

    def _commit(self, reaudition: bool = True) -> None:
        self.state["pattern"] = self.pattern.to_dict()
        self.saved()
        self._redraw()
        if reaudition and self.playing:
            self._audition([self.pattern.to_dict()], update=True)

    def _redraw(self) -> None:
        st = self.state
        lock = "🔒" if st["seed_locked"] else "  "
        slots = " ".join(f"{k}:{'✓' if k in st['slots'] else '-'}" for k in "AB")
        busy = f"  [yellow]{self.busy}…[/]" if self.busy else ""
        model = st["model"] or "auto" + (f" → {st['last_model']}" if st.get("last_model") else "")
        self.query_one("#drum-params", Static).update(
            f"T [b]{st['temperature']:.1f}[/]  seed [b]{st['seed']}[/]{lock}  A→B [b]{st['interp_steps']}[/]"
            f"  {slots}  [b]{self.pattern.qpm:g}[/] bpm  swing [b]{st['swing']:.2f}[/]"
            f"  model [b]{model}[/]{busy}")
        self.query_one(DrumGridView).show(self.pattern, self.cursor, self.playhead)
        chain = st["chain"]
        if chain:
            marks = "".join("◆" if i == st["chain_index"] else "◇" for i in range(len(chain)))
            self.query_one("#drum-chain", Static).update(
                f"chain {st['chain_index'] + 1}/{len(chain)} {marks}   (n/p step · L plays it all)")
        else:
            self.query_one("#drum-chain", Static).update("")
        c, s = self.cursor
        v = self.pattern.velocities[c][s]
        timing = self.pattern.offsets[c][s]
        cell = f"velocity {v}" + (f", {timing:+.2f} step" if v and abs(timing) >= 0.01 else "") if v else "rest"
        play = "  ▶ looping" if self.playing else ""
        self.query_one("#drum-cell", Static).update(
            f"{DRUM_CLASS_NAMES[c]} · step {s + 1} · {cell}{play}")

    # -- editing --------------------------------------------------------------------
    def action_move(self, dr: int, ds: int) -> None:
        c, s = self.cursor
        self.cursor = ((c + dr) % len(self.pattern.velocities), (s + ds) % self.pattern.steps)
        self._redraw()

    def _edit(self, change) -> None:
        before = copy.deepcopy(self.pattern)
        change()
        if self.pattern != before:
            self.edits.record(before)
            self._commit()

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
        lo, hi = TEMPO_RANGE
        self._edit(lambda: setattr(self.pattern, "qpm", min(hi, max(lo, self.pattern.qpm + delta))))

    def action_undo(self) -> None:
        if (p := self.edits.undo(self.pattern)) is not None:
            self.pattern = p
            self._commit()

    def action_redo(self) -> None:
        if (p := self.edits.redo(self.pattern)) is not None:
            self.pattern = p
            self._commit()

    def _replace(self, pattern: Pattern) -> None:
        """A generated or recalled pattern replaces the current one as one undoable edit."""
        self.edits.record(self.pattern)
        self.pattern = pattern
        self._commit()

    # -- parameters -----------------------------------------------------------------
    def action_temperature(self, direction: int) -> None:
        lo, hi = TEMPERATURE_RANGE
        t = round(self.state["temperature"] + direction * TEMPERATURE_STEP, 1)
        self._set(temperature=min(hi, max(lo, t)))

    def action_steps(self, direction: int) -> None:
        lo, hi = INTERP_RANGE
        self._set(interp_steps=min(hi, max(lo, self.state["interp_steps"] + direction)))

    def action_swing(self, delta: float) -> None:
        self._set(swing=round(min(SWING_MAX, max(0.0, self.state["swing"] + delta)), 2))
        if self.playing:
            self._audition([self.pattern.to_dict()], update=True)

    def action_next_model(self) -> None:
        i = MODEL_CHOICES.index(self.state["model"]) if self.state["model"] in MODEL_CHOICES else 0
        self._set(model=MODEL_CHOICES[(i + 1) % len(MODEL_CHOICES)])

    def action_store(self, slot: str) -> None:
        self.state["slots"][slot] = self.pattern.to_dict()
        self._set()
        self.mag.notify(f"pattern kept in slot {slot}")

    def action_recall(self, slot: str) -> None:
        if slot not in self.state["slots"]:
            self.mag.notify(f"slot {slot} is empty: press {slot.lower()} to keep a pattern there",
                            severity="warning")
            return
        self._replace(Pattern.from_dict(self.state["slots"][slot]))

    def action_chain(self, direction: int) -> None:
        chain = self.state["chain"]
        if not chain:
            return
        i = (self.state["chain_index"] + direction) % len(chain)
        self.state["chain_index"] = i
        self._replace(Pattern.from_dict(chain[i]))

    # -- generation (in the engine; the TUI never waits on it) ------------------------
    def _model_params(self, kind: str) -> dict[str, Any]:
        """Which model: the chosen name (sampling/interpolation), or per-kind overrides in
        the session (`model_overrides`: {"sample": {"checkpoint", "config"}, ...}) for
        custom checkpoints."""
        params = dict(self.state.get("model_overrides", {}).get(kind, {}))
        if kind in ("sample", "interpolate") and self.state["model"] and "checkpoint" not in params:
            params["model"] = self.state["model"]
        return params

    @work(exclusive=True, group="drum-generate")
    async def _generate(self, kind: str, params: dict[str, Any], label: str) -> None:
        self.busy = label
        self._redraw()
        try:
            typed = GENERATORS[kind](**params, **self._model_params(kind))
            result = await self.mag.engine.call(typed)
        except Exception as e:  # noqa: BLE001 - every engine error is shown to the user
            self.mag.notify(f"{label} failed: {getattr(e, 'message', e)}", severity="error", timeout=8)
            return
        finally:
            self.busy = ""
            self._redraw()
        entry = {"method": f"drums.{kind}", "seed": result.get("seed"), "model": result.get("model"),
                 "temperature": result.get("temperature"), "patterns": result["patterns"],
                 "time": time.time()}
        self.state["history"] = (self.state["history"] + [entry])[-100:]
        self.state["seed"] = result.get("seed", self.state["seed"])
        if kind in ("sample", "interpolate"):
            self.state["last_model"] = result.get("model")
        self._show_result(result["patterns"])
        self.mag.notify(f"{label}: seed {result.get('seed')} · {result.get('model')}", timeout=3)

    def _show_result(self, patterns: list[dict[str, Any]]) -> None:
        if len(patterns) > 1:
            self.state["chain"] = patterns
            self.state["chain_index"] = 0
        self._replace(Pattern.from_dict(patterns[0]))

    def action_sample(self) -> None:
        st = self.state
        self._generate("sample", {"n": 1, "temperature": st["temperature"], "seed": self.locked_seed(),
                                  "qpm": self.pattern.qpm}, "sample")

    def action_interpolate(self) -> None:
        slots = self.state["slots"]
        if "A" not in slots or "B" not in slots:
            self.mag.notify("keep two patterns first: `a` stores slot A, `b` slot B", severity="warning")
            return
        st = self.state
        self._generate("interpolate", {"a": slots["A"], "b": slots["B"], "steps": st["interp_steps"],
                                       "temperature": st["temperature"], "seed": self.locked_seed()},
                       "interpolate")

    def action_humanize(self, whole_chain: bool) -> None:
        patterns = self.state["chain"] if whole_chain and self.state["chain"] else [self.pattern.to_dict()]
        if not any(Pattern.from_dict(p).hit_count() for p in patterns):
            self.mag.notify("the pattern is empty: sample or draw one first", severity="warning")
            return
        self._generate("humanize", {"patterns": patterns, "temperature": self.state["temperature"],
                                    "seed": self.locked_seed()}, "humanize")

    def action_tap(self) -> None:
        def answer(text: str | None) -> None:
            if not text:
                return
            vel = parse_taps(text, self.pattern.steps)
            if not any(vel):
                self.mag.notify("no taps: type x for a hit, X for an accent", severity="warning")
                return
            taps = Pattern.empty(self.pattern.steps // STEPS_PER_BAR, self.pattern.qpm)
            taps.velocities[2] = vel
            self._generate("tap", {"pattern": taps.to_dict(), "temperature": self.state["temperature"],
                                   "seed": self.locked_seed()}, "tap → drums")
        self.mag.push_screen(AskText("Tap a rhythm, one character per 16th (x hit, X accent, . rest):",
                                     placeholder="x...x...x.x.x... x...x...x.x.x..."), answer)

    # -- audition -------------------------------------------------------------------
    def action_play(self) -> None:
        if self.playing:
            self._stop()
        else:
            self._play_offset_steps = 0
            self._audition([self.pattern.to_dict()])

    def action_play_chain(self) -> None:
        chain = self.state["chain"] or [self.pattern.to_dict()]
        self._play_offset_steps = 0
        self._audition(chain)

    @work(exclusive=True, group="drum-audition")
    async def _audition(self, patterns: list[dict[str, Any]], update: bool = False) -> None:
        try:
            await self.mag.engine.call(api.drums.Audition(
                patterns=patterns, swing=self.state["swing"], loop=True, update=update,
                label="drum grid", soundfont=self.state.get("soundfont")))
        except Exception as e:  # noqa: BLE001
            self.mag.notify(f"audition failed: {getattr(e, 'message', e)}", severity="error")
            return
        self.playing = True
        self._poll.resume()
        self._redraw()

    @work(exclusive=True, group="drum-audition")
    async def _stop(self) -> None:
        self.playing = False
        self.playhead = None
        self._poll.pause()
        self._redraw()
        try:
            await self.mag.engine.call(api.audio.Stop())
        except Exception:  # noqa: BLE001 - nothing to stop when the engine is gone
            pass

    async def _poll_playhead(self) -> None:
        try:
            st = await self.mag.engine.call(api.audio.Status())
        except Exception:  # noqa: BLE001
            return
        if not st.get("playing"):
            self.playing, self.playhead = False, None
            self._poll.pause()
        else:
            step_s = 60.0 / self.pattern.qpm / 4
            self.playhead = int(st["position_s"] / step_s) % self.pattern.steps
        self.query_one(DrumGridView).show(self.pattern, self.cursor, self.playhead)

    # -- history, files ---------------------------------------------------------------
    def action_history(self) -> None:
        entries = self.state["history"]
        if not entries:
            self.mag.notify("nothing generated yet: press s to sample", severity="warning")
            return

        def label(e: dict[str, Any]) -> str:
            return (f"{time.strftime('%H:%M:%S', time.localtime(e.get('time', 0)))}  "
                    f"{e['method'].split('.')[-1]:<11} seed {e.get('seed')}  T {e.get('temperature')}  "
                    f"{e.get('model') or ''}  ({len(e.get('patterns') or [])} pattern(s))")

        def chosen(index: int | None) -> None:
            if index is not None:
                e = entries[index]
                self._set(seed=e.get("seed", self.state["seed"]))
                self._show_result(e["patterns"])
        self.mag.push_screen(Choose("History (enter recalls):", [label(e) for e in entries]), chosen)

    def action_soundfont(self) -> None:
        def answer(path: str | None) -> None:
            if path is None:
                return
            self._set(soundfont=path.strip() or None)
            self.mag.notify(f"drums now sound from {path.strip()}" if path.strip()
                            else "drums sound from the shipped kit again")
        self.mag.push_screen(AskText("SoundFont (.sf2) for the drums (empty: the shipped kit):",
                                     self.state.get("soundfont") or ""), answer)

    def action_open_midi(self) -> None:
        def answer(path: str | None) -> None:
            if path:
                self._open(path.strip())
        self.mag.push_screen(AskText("Drum MIDI file to open (GM drums, channel 10):"), answer)

    @work(exclusive=True, group="drum-generate")
    async def _open(self, path: str) -> None:
        try:
            result = await self.mag.engine.call(api.drums.ImportMidi(path=path))
        except Exception as e:  # noqa: BLE001
            self.mag.notify(f"could not open it: {getattr(e, 'message', e)}", severity="error", timeout=8)
            return
        self._show_result(result["patterns"])
        self.mag.notify(f"opened {Path(path).name}: {len(result['patterns'])} pattern(s) at "
                        f"{result['qpm']:g} bpm · a/b keep them in slots")

    def action_export(self, chain: bool) -> None:
        patterns = self.state["chain"] if chain and self.state["chain"] else [self.pattern.to_dict()]

        def answer(folder: str | None) -> None:
            if folder:
                self._set(export_folder=folder.strip())
                self._export(patterns, folder.strip(), overwrite=False)
        self.mag.push_screen(AskText("Export MIDI + WAV into folder:", self.state["export_folder"]), answer)

    @work(group="drum-export")
    async def _export(self, patterns: list[dict[str, Any]], folder: str, overwrite: bool) -> None:
        last = self.state["history"][-1] if self.state["history"] else {}
        params = api.drums.Export(patterns=patterns, folder=folder, swing=self.state["swing"],
                                  wav=True, model=last.get("model") or "drums",
                                  seed=last.get("seed"), overwrite=overwrite,
                                  soundfont=self.state.get("soundfont"))
        try:
            result = await self.mag.engine.call(params)
        except Exception as e:  # noqa: BLE001
            if getattr(e, "code", "") == "output_exists":
                def confirm(yes: bool | None) -> None:
                    if yes:
                        self._export(patterns, folder, overwrite=True)
                self.mag.push_screen(Confirm(f"{e.message}\nOverwrite?"), confirm)
                return
            self.mag.notify(f"export failed: {getattr(e, 'message', e)}", severity="error", timeout=8)
            return
        self.mag.notify("exported " + ", ".join(Path(f).name for f in result["files"]), timeout=6)
