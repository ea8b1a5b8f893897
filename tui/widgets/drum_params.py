"""The drum grid's parameter header: temperature, seed (🔒 locked), A→B steps and ends,
the two slots, tempo, swing, the groove mode, the model (with its installed mark) and
what the engine is making right now. Drawn from reactive attributes the pane sets."""

from __future__ import annotations

from rich.markup import escape
from textual.reactive import reactive
from textual.widget import Widget


class DrumParams(Widget):
    DEFAULT_CSS = "DrumParams { height: auto; }"

    temperature: reactive[float] = reactive(1.0)
    seed: reactive[int] = reactive(1)
    seed_locked: reactive[bool] = reactive(False)
    interp_steps: reactive[int] = reactive(6)
    ends: reactive[str] = reactive("yours")
    slots: reactive[tuple[str, ...]] = reactive(())  # the slots that hold a pattern
    qpm: reactive[float] = reactive(120.0)
    swing: reactive[float] = reactive(0.0)
    keep_hits: reactive[bool] = reactive(True)
    model: reactive[str | None] = reactive(None)  # None: auto
    last_model: reactive[str | None] = reactive(None)  # what auto ran last
    model_mark: reactive[str] = reactive("")  # markup: ✓ installed, ✗ not, ↓ downloading
    busy: reactive[str] = reactive("")  # the job running, if any

    def render(self) -> str:
        lock = "🔒" if self.seed_locked else "  "
        slots = " ".join(f"{k}:{'✓' if k in self.slots else '-'}" for k in "AB")
        busy = f"  [yellow]{escape(self.busy)}…[/]" if self.busy else ""
        model = escape(self.model or "auto" + (f" → {self.last_model}" if self.last_model else ""))
        ends = "yours" if self.ends == "yours" else "model's"
        keep = "keep hits" if self.keep_hits else "free"
        return (f"T [b]{self.temperature:.1f}[/]  seed [b]{self.seed}[/]{lock}  A→B [b]{self.interp_steps}[/]"
                f" ends [b]{ends}[/]  {slots}  [b]{self.qpm:g}[/] bpm  swing [b]{self.swing:.2f}[/]"
                f"  groove [b]{keep}[/]  model [b]{model}[/]{self.model_mark}{busy}")
