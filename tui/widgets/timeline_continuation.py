"""The continuation line: the melody model, bars and temperature a continuation uses,
and the proposal waiting to be accepted (its notes are drawn on the roll as ▓)."""

from __future__ import annotations

from textual.reactive import reactive

from tui.timeline_continuation import Proposal
from tui.timeline_render import short_path
from tui.widgets.timeline_text import TimelineText


class ContinuationLine(TimelineText):
    model: reactive[str | None] = reactive(None)  # None: auto
    model_mark: reactive[str] = reactive("")  # the models book's mark for `model`
    checkpoint: reactive[str | None] = reactive(None)  # a bundle: wins over the model
    bars: reactive[int] = reactive(2)
    temperature: reactive[float] = reactive(1.0)
    proposal: reactive[Proposal | None] = reactive(None)

    def _model(self) -> str:
        if self.checkpoint:
            return f"bundle {short_path(self.checkpoint)}"
        if self.model is None:
            last = self.proposal.model if self.proposal else None
            return "auto" + (f" → {last}" if last else "")
        return f"{self.model}{self.model_mark}"

    def _proposal(self) -> str:
        p = self.proposal
        if not p:
            return ""
        return (f" · proposed [b]{p.counts()}[/] (seed {p.seed}): [b]a[/] accepts, "
                "[b]R[/] re-rolls, [b]d[/] discards")

    def markup(self) -> str:
        return (f"continue: {self._model()} · {self.bars} bars · temperature "
                f"{self.temperature:g}{self._proposal()}")
