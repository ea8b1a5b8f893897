"""Drum grid: 9 drum classes × 16 steps per bar, sampled, interpolated and humanized with
MusicVAE/GrooVAE in the engine, edited by keyboard with undo. State is autosaved."""

from __future__ import annotations

import copy
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.widgets import Static

from engine.music.drums import DRUM_CLASS_NAMES
from tui.drum_pattern import DEFAULT_VELOCITY, VELOCITY_STEP, EditHistory, Pattern
from tui.panes.base import Pane
from tui.widgets.drum_grid_view import DrumGridView

TEMPERATURE_RANGE = (0.1, 2.0)
TEMPERATURE_STEP = 0.1
INTERP_RANGE = (2, 16)


class DrumGridPane(Pane):
    PANE_ID = "drums"
    TITLE = "Drums"
    KEY = "4"
    BINDINGS = [
        ("up", "move(-1, 0)", "Cursor up"),
        ("down", "move(1, 0)", "Cursor down"),
        ("left", "move(0, -1)", "Cursor left"),
        ("right", "move(0, 1)", "Cursor right"),
        ("space", "toggle", "Toggle the cell"),
        ("plus,equals_sign", "velocity(1)", "Louder cell"),
        ("minus", "velocity(-1)", "Softer cell"),
        ("ctrl+z,u", "undo", "Undo"),
        ("ctrl+y,U", "redo", "Redo"),
        ("s", "sample", "Sample a new pattern"),
        ("left_square_bracket", "temperature(-1)", "Temperature down"),
        ("right_square_bracket", "temperature(1)", "Temperature up"),
        ("k", "lock_seed", "Lock/unlock the seed"),
        ("a", "store('A')", "Keep pattern in slot A"),
        ("b", "store('B')", "Keep pattern in slot B"),
        ("i", "interpolate", "Interpolate A→B"),
        ("comma", "steps(-1)", "Fewer interpolation steps"),
        ("full_stop", "steps(1)", "More interpolation steps"),
        ("n", "chain(1)", "Next pattern in the chain"),
        ("p", "chain(-1)", "Previous pattern in the chain"),
        ("h", "humanize", "Humanize (GrooVAE)"),
        ("c", "clear", "Clear the pattern"),
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
        st = self.state
        st.setdefault("pattern", Pattern.empty().to_dict())
        st.setdefault("temperature", 1.0)
        st.setdefault("seed", 1)
        st.setdefault("seed_locked", False)
        st.setdefault("interp_steps", 6)
        st.setdefault("slots", {})
        st.setdefault("chain", [])
        st.setdefault("chain_index", 0)
        st.setdefault("history", [])
        try:
            self.pattern = Pattern.from_dict(st["pattern"])
        except (KeyError, ValueError, TypeError):
            self.pattern = Pattern.empty()
        self.cursor = (0, 0)
        self.edits = EditHistory()
        self.busy = ""
        self._redraw()

    def _commit(self) -> None:
        self.state["pattern"] = self.pattern.to_dict()
        self.saved()
        self._redraw()

    def _redraw(self) -> None:
        st = self.state
        lock = "🔒" if st["seed_locked"] else "  "
        slots = " ".join(f"{k}:{'✓' if k in st['slots'] else '-'}" for k in "AB")
        busy = f"  [yellow]{self.busy}…[/]" if self.busy else ""
        self.query_one("#drum-params", Static).update(
            f"temperature [b]{st['temperature']:.1f}[/]   seed [b]{st['seed']}[/] {lock}   "
            f"steps A→B [b]{st['interp_steps']}[/]   slots {slots}   {self.pattern.qpm:g} bpm{busy}")
        self.query_one(DrumGridView).show(self.pattern, self.cursor)
        chain = st["chain"]
        if chain:
            marks = "".join("◆" if i == st["chain_index"] else "◇" for i in range(len(chain)))
            self.query_one("#drum-chain", Static).update(f"chain {st['chain_index'] + 1}/{len(chain)} {marks}")
        else:
            self.query_one("#drum-chain", Static).update("")
        c, s = self.cursor
        v = self.pattern.velocities[c][s]
        self.query_one("#drum-cell", Static).update(
            f"{DRUM_CLASS_NAMES[c]} · step {s + 1} · " + (f"velocity {v}" if v else "rest"))

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
        self._edit(lambda: setattr(self, "pattern", Pattern.empty(self.pattern.steps // 16, self.pattern.qpm)))

    def action_undo(self) -> None:
        if (p := self.edits.undo(self.pattern)) is not None:
            self.pattern = p
            self._commit()

    def action_redo(self) -> None:
        if (p := self.edits.redo(self.pattern)) is not None:
            self.pattern = p
            self._commit()

    def _replace(self, pattern: Pattern) -> None:
        """A generated pattern replaces the current one as one undoable edit."""
        self.edits.record(self.pattern)
        self.pattern = pattern
        self._commit()

    # -- parameters -----------------------------------------------------------------
    def action_temperature(self, direction: int) -> None:
        lo, hi = TEMPERATURE_RANGE
        t = round(self.state["temperature"] + direction * TEMPERATURE_STEP, 1)
        self.state["temperature"] = min(hi, max(lo, t))
        self.saved()
        self._redraw()

    def action_steps(self, direction: int) -> None:
        lo, hi = INTERP_RANGE
        self.state["interp_steps"] = min(hi, max(lo, self.state["interp_steps"] + direction))
        self.saved()
        self._redraw()

    def action_lock_seed(self) -> None:
        self.state["seed_locked"] = not self.state["seed_locked"]
        self.saved()
        self._redraw()

    def action_store(self, slot: str) -> None:
        self.state["slots"][slot] = self.pattern.to_dict()
        self.saved()
        self._redraw()
        self.mag.notify(f"pattern kept in slot {slot}")

    def action_chain(self, direction: int) -> None:
        chain = self.state["chain"]
        if not chain:
            return
        i = (self.state["chain_index"] + direction) % len(chain)
        self.state["chain_index"] = i
        self._replace(Pattern.from_dict(chain[i]))

    # -- generation (in the engine; the TUI never waits on it) ------------------------
    def _seed(self) -> int | None:
        """The locked seed, or None so the engine draws one (and reports it back)."""
        return self.state["seed"] if self.state["seed_locked"] else None

    def _remember(self, method: str, params: dict[str, Any], result: dict[str, Any]) -> None:
        entry = {"method": method, "params": {k: v for k, v in params.items() if k not in ("a", "b", "pattern")},
                 "seed": result.get("seed"), "model": result.get("model"), "patterns": result.get("patterns")}
        self.state["history"] = (self.state["history"] + [entry])[-50:]
        if result.get("seed") is not None:
            self.state["seed"] = result["seed"]

    @work(exclusive=True, group="drum-generate")
    async def _generate(self, method: str, params: dict[str, Any], label: str) -> None:
        self.busy = label
        self._redraw()
        try:
            result = await self.mag.engine.call(method, params)
        except Exception as e:  # noqa: BLE001 - every engine error is shown to the user
            self.mag.notify(f"{label} failed: {getattr(e, 'message', e)}", severity="error", timeout=8)
            return
        finally:
            self.busy = ""
            self._redraw()
        patterns = [Pattern.from_dict(p) for p in result["patterns"]]
        self._remember(method, params, result)
        if len(patterns) > 1:
            self.state["chain"] = [p.to_dict() for p in patterns]
            self.state["chain_index"] = 0
        self._replace(patterns[0])
        model = result.get("model", "")
        self.mag.notify(f"{label}: seed {result.get('seed')} · {model}", timeout=3)

    def action_sample(self) -> None:
        st = self.state
        self._generate("drums.sample", {"n": 1, "bars": self.pattern.steps // 16,
                                        "temperature": st["temperature"], "seed": self._seed(),
                                        "qpm": self.pattern.qpm}, "sample")

    def action_interpolate(self) -> None:
        slots = self.state["slots"]
        if "A" not in slots or "B" not in slots:
            self.mag.notify("keep two patterns first: `a` stores slot A, `b` slot B", severity="warning")
            return
        st = self.state
        self._generate("drums.interpolate", {"a": slots["A"], "b": slots["B"], "steps": st["interp_steps"],
                                             "temperature": st["temperature"], "seed": self._seed()},
                       "interpolate")

    def action_humanize(self) -> None:
        if not self.pattern.hit_count():
            self.mag.notify("the pattern is empty: sample or draw one first", severity="warning")
            return
        st = self.state
        self._generate("drums.humanize", {"pattern": self.pattern.to_dict(),
                                          "temperature": st["temperature"], "seed": self._seed()},
                       "humanize")
