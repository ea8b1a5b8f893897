"""The latent mix pane's render queue: a head line (which result is selected, how many
wait and when all are done, the keys) and up to five renders around the selected one,
each with its blend, stretch, seed and status (a bar with ETA while it runs, the length
when done, why when not). Drawn from reactive attributes the pane sets."""

from __future__ import annotations

from pathlib import Path

from textual.markup import escape
from textual.reactive import reactive
from textual.widget import Widget

from tui.pane_state import MixRender
from tui.widgets.mix_controls import LETTERS
from tui.widgets.mix_view import progress_bar

IN_FLIGHT = ("queued", "running")
SHOWN_RENDERS = 5
RATE = 16000


def render_line(entry: MixRender, selected: bool) -> str:
    """One render: `▶ #3   A75% B25%  ×1.25  seed 7  done 0.25 s  kept as x.wav`."""
    r = entry.recipe
    mark = "▶" if selected else " "
    if r.xy is not None:
        blend_text = f"xy {r.xy[0]:.2f},{r.xy[1]:.2f}"
    else:
        blend_text = " ".join(f"{LETTERS[i]}{w:.0%}" for i, w in enumerate(r.weights or []))
    seed = r.seed if r.seed is not None else "?"
    head = f"{mark} #{entry.id:<3} {blend_text}  ×{r.stretch:g}  seed {seed}"
    status = entry.status
    if status in IN_FLIGHT:
        total = entry.total or 0
        frac = (entry.done or 0) / total if total else 0.0
        eta = entry.eta_s
        eta_text = f" ETA {eta:.0f} s" if eta is not None and status == "running" else ""
        tail = f"[yellow]{status}[/] {progress_bar(frac)} {frac:4.0%}{eta_text}"
        if status == "running" and total:
            tail += f" [dim]{(entry.done or 0) / RATE:.2f}/{total / RATE:.2f} s[/]"
    elif status in ("done", "partial"):
        colour = "green" if status == "done" else "yellow"
        tail = f"[{colour}]{status}[/] {entry.seconds or 0:.2f} s"
        if entry.kept:
            tail += f"  [cyan]kept as {escape(Path(entry.kept).name)}[/]"
    else:
        tail = f"[red]{status}[/] [dim]{escape(entry.error or '')}[/]"
    return f"{head}  {tail}"


class MixRenders(Widget):
    """The queue of renders. `keys` names the pane's keys for the hints (the user's
    keymap applied): render, play, keep, stop, next, previous, again."""

    DEFAULT_CSS = "MixRenders { height: auto; }"

    # the entries change in place as a render runs: every assignment redraws
    renders: reactive[list[MixRender]] = reactive(list, always_update=True)
    selected: reactive[int] = reactive(0)
    eta_s: reactive[float | None] = reactive(None)  # until the whole queue is done
    keys: reactive[dict[str, str]] = reactive(dict)

    def render(self) -> str:
        k = self.keys
        renders = self.renders
        if not renders:
            return (f"[dim]Renders: none yet. {k.get('render')} renders the mix ({k.get('play')} "
                    f"plays, {k.get('keep')} keeps, {k.get('stop')} cancels).[/]")
        sel = self.selected
        start = max(0, min(sel - SHOWN_RENDERS // 2, len(renders) - SHOWN_RENDERS))
        waiting = sum(e.status in IN_FLIGHT for e in renders)
        head = f"Renders {sel + 1}/{len(renders)}"
        if waiting:
            head += f" · {waiting} in the queue"
            if self.eta_s is not None:
                head += f", all done in ~{self.eta_s:.0f} s"
        head += (f"  [dim]({k.get('next')}/{k.get('previous')} select · {k.get('play')} plays"
                 f" · {k.get('keep')} keeps · {k.get('again')} again · {k.get('stop')} cancels)[/]")
        lines = [head] + [render_line(renders[i], i == sel)
                          for i in range(start, min(len(renders), start + SHOWN_RENDERS))]
        return "\n".join(lines)
