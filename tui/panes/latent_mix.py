"""Latent mix: blend the NSynth encodings of 2-4 sounds with weight sliders or a 4-corner
XY pad (as on NSynth Super), see the encodings as heat strips, render the blend in the
engine (a queue of nsynth.synth jobs with progress and ETA, cancellable, partial audio
kept), audition sources and results, and keep a result in the library with its recipe so
it can be rendered again. Everything is autosaved in the session.

The sources are `session["mix"]["sources"]` (the library pane appends to it with `m`).
`model_overrides: {"nsynth": {"checkpoint": PATH}}` in the session points the pane at a
custom checkpoint (the tests use the small fixture)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from engine.music.latent_mix import MAX_SOURCES, MIN_SOURCES, xy_weights
from engine import api
from engine.errors import ModelNotInstalled
from tui.keys import pane_bindings
from tui.messages import MixSourcesChanged
from tui.panes.base import Pane
from tui.widgets.model_line import ModelLine
from tui.widgets.mix_view import (EncodingView, blend, plot_range, progress_bar, weight_bar,
                                  xy_pad)
from tui.widgets.prompt import AskText, Choose

LETTERS = "ABCD"
WEIGHT_STEP = 0.05
XY_STEP = 0.05
STRETCHES = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0)
PLOT_COLUMNS = 64
SHOWN_RENDERS = 5
IN_FLIGHT = ("queued", "running")
DEFAULT_MODEL = "nsynth-wavenet"


def default_model() -> str:
    """The manifest's NSynth checkpoint name."""
    try:
        from engine.checkpoints import load_manifest
        return next((i.name for i in load_manifest().values() if i.family == "nsynth"), DEFAULT_MODEL)
    except Exception:  # noqa: BLE001 - a broken manifest is reported by `models`, not here
        return DEFAULT_MODEL


def normalized(weights: list[float]) -> list[float]:
    total = sum(weights)
    return [round(w / total, 4) for w in weights] if total > 0 else [0.0] * len(weights)


def short_name(path: str) -> str:
    return Path(path).name


def error_text(e: BaseException) -> str:
    return str(getattr(e, "message", "") or e)


LIBRARY_SEND_KEY = "x"  # the library pane's key that sends a sound here

class LatentMixPane(Pane):
    PANE_ID = "mix"
    TITLE = "Latent mix"
    KEY = "2"
    BINDINGS = pane_bindings("mix", [
        ("up", "arrow(0, -1)", "Source up / puck up", "up"),
        ("down", "arrow(0, 1)", "Source down / puck down", "down"),
        ("left", "arrow(-1, 0)", "Weight down / puck left", "left"),
        ("right", "arrow(1, 0)", "Weight up / puck right", "right"),
        ("x", "toggle_mode", "Sliders ↔ XY pad", "xy"),
        ("o", "add_source", "Open a sound file as a source", "open", "open"),
        ("d,delete", "remove_source", "Remove the source", "remove"),
        ("z", "encode", "Encode the sources (NSynth z)", "encode"),
        ("r", "render", "Render the mix", "render", "render"),
        ("escape", "cancel_render", "Cancel the render (keeps the audio so far), else stop playing",
         "stop"),
        ("space", "play_source", "Play the selected source", "audition", "source"),
        ("enter", "play_result", "Play the selected result", "play", "play"),
        ("n", "result(1)", "Next result", "next"),
        ("p", "result(-1)", "Previous result", "previous"),
        ("k", "keep", "Keep the result in the library", "keep", "keep"),
        ("R", "rerender", "Render the result's recipe again", "again"),
        ("y", "kept", "Kept mixes: render one again", "history"),
        ("left_square_bracket", "stretch(-1)", "Shorter (time-stretch)", "shorter"),
        ("right_square_bracket", "stretch(1)", "Longer (time-stretch)", "longer"),
        ("L", "lock_seed", "Lock/unlock the seed", "lock_seed"),
        ("S", "set_seed", "Type a seed (and lock it)", "set_seed"),
    ])

    def compose(self) -> ComposeResult:
        yield Static("[b]Latent mix[/b] · blend NSynth encodings of up to four sounds",
                     classes="pane-title")
        yield Static(id="mix-params")
        yield ModelLine(id="mix-model-line")
        with Horizontal(id="mix-top"):
            yield Static(id="mix-sources")
            yield Static(id="mix-pad")
        with Horizontal(id="mix-plots"):
            for letter in LETTERS:
                yield EncodingView(id=f"mix-enc-{letter}")
            yield EncodingView(id="mix-enc-mix")
        yield Static(id="mix-renders")

    # -- state (autosaved) ----------------------------------------------------------
    def on_mount(self) -> None:
        defaults: dict[str, Any] = {"sources": [], "weights": [], "selected": 0, "mode": "sliders",
                                    "xy": [0.5, 0.5], "stretch": 1.0, "seed": 1, "seed_locked": False,
                                    "renders": [], "result_index": 0, "plots": {}, "next_id": 1}
        for k, v in defaults.items():
            self.state.setdefault(k, v)
        for entry in self.state["renders"]:  # jobs of an earlier run are gone with its link
            if entry.get("status") in IN_FLIGHT:
                entry["status"] = "interrupted"
        self.state["result_index"] = max(0, min(self.state["result_index"], len(self.state["renders"]) - 1))
        self.busy = ""
        self.model = default_model()
        self._model_installed: bool | None = None  # as the Models list last said
        self.auto_encode: Any = None  # the Worker of the last encode the pane started itself
        self._requests: dict[int, Any] = {}
        self._cancel_asked: set[int] = set()
        self._sync_sources()
        self.post_message(MixSourcesChanged(list(self.sources), MAX_SOURCES))
        self._redraw()
        if self.mag.connect_engine:
            self._encode_missing()

    def models_changed(self) -> None:
        # the NSynth model just got installed (pulled or imported): encode what waits for it
        if not hasattr(self, "_model_installed"):
            return  # not mounted yet: on_mount draws and encodes
        now = self.mag.models.installed(self.model)
        arrived = now is True and self._model_installed is False
        self._model_installed = now
        super().models_changed()
        if arrived and self.mag.connect_engine:
            self._encode_missing()

    def on_focus(self) -> None:
        if self._sync_sources():
            self._redraw()
            self._encode_missing()

    @property
    def sources(self) -> list[str]:
        return self.state["sources"]

    def _sync_sources(self) -> bool:
        """Keep weights in step with the sources (the library pane may have added some);
        True when something changed."""
        st = self.state
        before = (list(st["weights"]), st["selected"])
        del st["sources"][MAX_SOURCES:]
        st["weights"] = (st["weights"] + [0.5] * MAX_SOURCES)[:len(st["sources"])]
        st["selected"] = max(0, min(st["selected"], len(st["sources"]) - 1))
        changed = before != (st["weights"], st["selected"])
        if changed:
            self.saved()
        return changed

    # -- the blend --------------------------------------------------------------------
    def mix_weights(self) -> list[float]:
        """The normalized weight of each source: the sliders, or the XY pad's bilinear
        weights of the corners that hold a sound."""
        st = self.state
        n = len(self.sources)
        if st["mode"] == "xy":
            corners = [float(w) for w in xy_weights(*st["xy"])][:n]
            return normalized(corners)
        return normalized(st["weights"][:n])

    def recipe(self) -> dict[str, Any] | None:
        """What a render of the current controls is made of; None (with a note to the
        user) when there is nothing to render."""
        st = self.state
        if len(self.sources) < MIN_SOURCES:
            self.mag.notify(f"a mix takes {MIN_SOURCES} to {MAX_SOURCES} sounds: send them from "
                            f"the library (its {LIBRARY_SEND_KEY}) or open a file ({self.key('open')})",
                            severity="warning")
            return None
        recipe: dict[str, Any] = {"sources": list(self.sources)}
        if st["mode"] == "xy" and len(self.sources) == 4:
            recipe["xy"] = [round(v, 4) for v in st["xy"]]
        else:
            weights = self.mix_weights()
            if not any(weights):
                hint = "move the puck towards a sound" if st["mode"] == "xy" else "raise a slider"
                self.mag.notify(f"every weight is 0: {hint}", severity="warning")
                return None
            recipe["weights"] = weights
        if st["stretch"] != 1.0:
            recipe["stretch"] = st["stretch"]
        recipe["seed"] = st["seed"] if st["seed_locked"] else None
        recipe["model"] = self.model
        if ckpt := self._overrides().get("checkpoint"):
            recipe["checkpoint"] = ckpt
        return recipe

    def _overrides(self) -> dict[str, Any]:
        return dict(self.state.get("model_overrides", {}).get("nsynth", {}))

    def _checkpoint(self, recipe: dict[str, Any] | None = None) -> str:
        if recipe is not None:
            return recipe.get("checkpoint") or recipe.get("model") or self.model
        return self._overrides().get("checkpoint") or self.model

    # -- drawing ----------------------------------------------------------------------
    def _redraw(self) -> None:
        self._redraw_params()
        overridden = bool(self._overrides().get("checkpoint"))
        self.query_one(ModelLine).show([] if overridden else [("NSynth model", self.model)])
        self._redraw_sources()
        self._redraw_plots()
        self._redraw_renders()

    def _redraw_params(self) -> None:
        st = self.state
        mode = "[b]XY pad[/]" if st["mode"] == "xy" else "[b]sliders[/]"
        seed = f"seed [b]{st['seed']}[/]" + (" 🔒" if st["seed_locked"] else " (new each render)")
        busy = f"  [yellow]{self.busy}…[/]" if self.busy else ""
        length = ""
        if self.sources and all(s in st["plots"] for s in self.sources):
            secs = min(st["plots"][s]["seconds"] for s in self.sources)
            length = f" · {secs:.2f} s → [b]{secs * st['stretch']:.2f} s[/]"
        self.query_one("#mix-params", Static).update(
            f"{mode} (x)  model [b]{self.model}[/]{self.mag.models.mark(self.model)}  {seed}  stretch [b]×{st['stretch']:g}[/]{length}{busy}")

    def _redraw_sources(self) -> None:
        st = self.state
        xy_mode = st["mode"] == "xy"
        norm = self.mix_weights() if self.sources else []
        lines = []
        for i in range(MAX_SOURCES):
            if i < len(self.sources):
                mark = "▶" if i == st["selected"] else " "
                name = short_name(self.sources[i])[:26].ljust(26)
                w = st["weights"][i]
                bar = weight_bar(norm[i] if xy_mode else w, 16)
                enc = "" if self.sources[i] in st["plots"] else " [dim](not encoded)[/]"
                lines.append(f"{mark} [b]{LETTERS[i]}[/] {name} {bar} {norm[i]:4.0%}{enc}")
            else:
                lines.append(f"  [dim]{LETTERS[i]} —[/]")
        hint = ("arrows move the puck" if xy_mode else "↑↓ select · ←→ weight") + \
            " · space plays · o adds · d removes"
        lines.append(f"[dim]{hint}[/]")
        self.query_one("#mix-sources", Static).update("\n".join(lines))
        names = [LETTERS[i] if i < len(self.sources) else "" for i in range(4)]
        self.query_one("#mix-pad", Static).update(xy_pad(*st["xy"], names, active=xy_mode))

    def _redraw_plots(self) -> None:
        st = self.state
        plots = [st["plots"].get(s) for s in self.sources]
        have = [p for p in plots if p]
        lo, hi = plot_range([p["plot"] for p in have])
        for i, letter in enumerate(LETTERS):
            view = self.query_one(f"#mix-enc-{letter}", EncodingView)
            view.display = i < len(self.sources)
            if i < len(self.sources):
                p = plots[i]
                caption = f"{letter} {short_name(self.sources[i])}"
                view.show(p["plot"] if p else None, caption, lo, hi, selected=i == st["selected"],
                          message="encoding…" if self.busy.startswith("encod") else f"not encoded ({self.key('encode')})")
        mix_view = self.query_one("#mix-enc-mix", EncodingView)
        if not self.sources:
            mix_view.show(None, "encodings", lo, hi,
                          message="No sounds yet: in the library (1) m sends one here; o adds a file.")
        elif len(have) == len(plots) and len(plots) >= MIN_SOURCES:
            mixed = blend([p["plot"] for p in have], [p["frames"] for p in have], self.mix_weights(),
                          PLOT_COLUMNS)
            mix_view.show(mixed, "mix (preview)", lo, hi)
        else:
            wait = "add a second sound" if len(self.sources) < MIN_SOURCES else "encode to preview"
            mix_view.show(None, "mix (preview)", lo, hi, message=wait)

    def _render_line(self, entry: dict[str, Any], selected: bool) -> str:
        r = entry["recipe"]
        mark = "▶" if selected else " "
        if "xy" in r:
            blend_text = f"xy {r['xy'][0]:.2f},{r['xy'][1]:.2f}"
        else:
            blend_text = " ".join(f"{LETTERS[i]}{w:.0%}" for i, w in enumerate(r.get("weights", [])))
        seed = r.get("seed")
        head = f"{mark} #{entry['id']:<3} {blend_text}  ×{r.get('stretch', 1.0):g}  seed {seed if seed is not None else '?'}"
        status = entry["status"]
        if status in IN_FLIGHT:
            total = entry.get("total") or 0
            frac = (entry.get("done") or 0) / total if total else 0.0
            eta = entry.get("eta_s")
            eta_text = f" ETA {eta:.0f} s" if eta is not None and status == "running" else ""
            tail = f"[yellow]{status}[/] {progress_bar(frac)} {frac:4.0%}{eta_text}"
            if status == "running" and total:
                tail += f" [dim]{entry['done'] / 16000:.2f}/{total / 16000:.2f} s[/]"
        elif status in ("done", "partial"):
            colour = "green" if status == "done" else "yellow"
            tail = f"[{colour}]{status}[/] {entry.get('seconds', 0):.2f} s"
            if entry.get("kept"):
                tail += f"  [cyan]kept as {short_name(entry['kept'])}[/]"
        else:
            tail = f"[red]{status}[/] [dim]{entry.get('error', '')}[/]"
        return f"{head}  {tail}"

    def expected_samples(self, recipe: dict[str, Any]) -> int | None:
        """How long a recipe's render will be, from the encoded sources (None if unknown)."""
        plots = self.state["plots"]
        if not all(src in plots for src in recipe["sources"]):
            return None
        frames = min(plots[src]["frames"] for src in recipe["sources"])
        stretch = recipe.get("stretch", 1.0)
        return max(1, round(frames * stretch)) * 512

    def queue_eta(self) -> float | None:
        """Seconds until every queued render is done: the running one's ETA from the engine,
        the waiting ones at the speed of the last finished render (None until one is)."""
        renders = self.state["renders"]
        speed = next((e["done"] / e["elapsed_s"] for e in reversed(renders)
                      if e["status"] == "done" and e.get("elapsed_s") and e.get("done")), None)
        total = 0.0
        for e in renders:
            if e["status"] == "running" and e.get("eta_s") is not None:
                total += e["eta_s"]
            elif e["status"] in IN_FLIGHT:
                n = self.expected_samples(e["recipe"])
                if speed is None or n is None:
                    return None
                total += n / speed
        return total

    def _redraw_renders(self) -> None:
        renders = self.state["renders"]
        if not renders:
            self.query_one("#mix-renders", Static).update(
                f"[dim]Renders: none yet. {self.key('render')} renders the mix ({self.key('play')} "
                f"plays, {self.key('keep')} keeps, {self.key('stop')} cancels).[/]")
            return
        sel = self.state["result_index"]
        start = max(0, min(sel - SHOWN_RENDERS // 2, len(renders) - SHOWN_RENDERS))
        waiting = sum(e["status"] in IN_FLIGHT for e in renders)
        head = f"Renders {sel + 1}/{len(renders)}"
        if waiting:
            eta = self.queue_eta()
            head += f" · {waiting} in the queue" + (f", all done in ~{eta:.0f} s" if eta is not None else "")
        head += (f"  [dim]({self.key('next')}/{self.key('previous')} select · {self.key('play')} plays"
                 f" · {self.key('keep')} keeps · {self.key('again')} again · {self.key('stop')} cancels)[/]")
        lines = [head] + [self._render_line(renders[i], i == sel)
                          for i in range(start, min(len(renders), start + SHOWN_RENDERS))]
        self.query_one("#mix-renders", Static).update("\n".join(lines))

    # -- sources ------------------------------------------------------------------------
    def action_arrow(self, dx: int, dy: int) -> None:
        st = self.state
        if st["mode"] == "xy":
            x, y = st["xy"]
            st["xy"] = [round(min(1.0, max(0.0, x + dx * XY_STEP)), 4),
                        round(min(1.0, max(0.0, y + dy * XY_STEP)), 4)]
        elif not self.sources:
            return
        elif dy:
            st["selected"] = (st["selected"] + dy) % len(self.sources)
        else:
            i = st["selected"]
            st["weights"][i] = round(min(1.0, max(0.0, st["weights"][i] + dx * WEIGHT_STEP)), 4)
        self.saved()
        self._redraw_params()
        self._redraw_sources()
        self._redraw_plots()

    def action_toggle_mode(self) -> None:
        mode = "sliders" if self.state["mode"] == "xy" else "xy"
        self._set(mode=mode)
        if mode == "xy" and len(self.sources) < 4:
            self.mag.notify("XY pad: corners without a sound weigh nothing (A top-left, B top-right, "
                            "C bottom-left, D bottom-right)", timeout=4)

    def action_add_source(self) -> None:
        if len(self.sources) >= MAX_SOURCES:
            self.mag.notify(f"the mixer holds {MAX_SOURCES} sounds: remove one first (d)",
                            severity="warning")
            return

        def answer(value: str | None) -> None:
            if value and value.strip():
                self.add_source(str(Path(value.strip()).expanduser().absolute()))
        self.mag.push_screen(AskText("Sound file to add to the mixer (WAV, FLAC, MP3):", paths=True), answer)

    def add_source(self, path: str, name: str | None = None) -> None:
        """Take a sound as the next source: typed here, or sent by another pane
        (SendToMix, the library's `x`)."""
        name = name or short_name(path)
        if not Path(path).is_file():
            self.mag.notify(f"{path}: no such file. Check the path.", severity="error")
            return
        if path in self.sources:
            self.mag.notify(f"{name} is already in the mixer")
            return
        if len(self.sources) >= MAX_SOURCES:
            self.mag.notify(f"the mixer holds {MAX_SOURCES} sounds; remove one in the mix pane "
                            f"({self.KEY}) first", severity="warning")
            return
        self.sources.append(path)
        self._sync_sources()
        self.state["selected"] = len(self.sources) - 1
        self.saved()
        self.post_message(MixSourcesChanged(list(self.sources), MAX_SOURCES))
        self.mag.notify(f"{name} → mixer source {LETTERS[len(self.sources) - 1]}")
        self._redraw()
        if self.mag.connect_engine:
            self._encode_missing()

    def action_remove_source(self) -> None:
        if not self.sources:
            return
        i = self.state["selected"]
        self.sources.pop(i)
        self.state["weights"].pop(i)
        self._sync_sources()
        self.saved()
        self.post_message(MixSourcesChanged(list(self.sources), MAX_SOURCES))
        self._redraw()

    # -- encodings ------------------------------------------------------------------------
    def action_encode(self) -> None:
        if self.sources:
            self._encode(list(self.sources))

    def _encode_missing(self) -> None:
        missing = [s for s in self.sources if s not in self.state["plots"]]
        if missing:
            self.auto_encode = self._encode(missing, quiet=True)

    @work(exclusive=True, group="mix-encode")
    async def _encode(self, sounds: list[str], quiet: bool = False) -> None:
        """`quiet`: an encode the pane started by itself (on start, on focus): a missing
        model shows in the pane's model line only, never as a toast."""
        for _ in range(600):  # the engine may still be starting
            if self.mag.engine.state == "ready":
                break
            await asyncio.sleep(0.1)
        self.busy = "encoding"
        self._redraw()

        def progress(msg: dict[str, Any]) -> None:
            self.busy = f"encoding {msg.get('done', 0):g}/{msg.get('total', 0):g}"
            self._redraw_params()
        try:
            res = await self.mag.engine.call(api.mix.Encode(sounds=sounds, columns=PLOT_COLUMNS,
                                                            checkpoint=self._checkpoint()),
                                             on_progress=progress)
        except ModelNotInstalled as e:
            self.mag.models.note_missing(str(e.details.get("name") or self.model))
            if not quiet:
                self.mag.notify(f"encoding needs the NSynth model: {error_text(e)} (M opens Models)",
                                severity="warning", timeout=8, markup=False)
            return
        except Exception as e:  # noqa: BLE001 - every engine error is shown to the user
            self.mag.notify(f"encoding failed: {error_text(e)}", severity="error", timeout=8)
            return
        finally:
            self.busy = ""
            self._redraw()
        for item in res["encodings"]:
            self.state["plots"][item["sound"]] = {"plot": item["plot"], "frames": item["frames"],
                                                  "seconds": item["seconds"]}
        # forget pictures of sounds no longer in the mixer
        self.state["plots"] = {k: v for k, v in self.state["plots"].items() if k in self.sources}
        self.saved()
        self._redraw()

    # -- renders ----------------------------------------------------------------------------
    def action_render(self) -> None:
        recipe = self.recipe()
        if recipe is not None:
            self.queue_render(recipe)

    def queue_render(self, recipe: dict[str, Any]) -> None:
        st = self.state
        rid = st["next_id"]
        st["next_id"] = rid + 1
        st["renders"].append({"id": rid, "recipe": recipe, "status": "queued", "done": 0, "total": 0,
                              "eta_s": None, "queued_at": time.time()})
        st["result_index"] = len(st["renders"]) - 1
        self.saved()
        self._redraw_renders()
        self._run_render(rid)

    def _entry(self, rid: int) -> dict[str, Any] | None:
        return next((e for e in self.state["renders"] if e["id"] == rid), None)

    @work(group="mix-render")
    async def _run_render(self, rid: int) -> None:
        entry = self._entry(rid)
        if entry is None:
            return
        r = entry["recipe"]
        spec = {k: r[k] for k in ("sources", "weights", "xy", "stretch") if k in r}
        params = {"mixes": [spec], "seed": r.get("seed"), "names": [f"mix-{rid}"],
                  "checkpoint": self._checkpoint(r)}

        def progress(msg: dict[str, Any]) -> None:
            entry.update(status="running", done=msg.get("done", 0), total=msg.get("total", 0),
                         eta_s=msg.get("eta_s"))
            self._redraw_renders()
        try:
            req = await self.mag.engine.start_request("nsynth.synth", params, progress)
        except Exception as e:  # noqa: BLE001
            self._render_failed(entry, e)
            return
        self._requests[rid] = req
        if rid in self._cancel_asked:
            await req.cancel()
        try:
            result = await req.result()
        except Exception as e:  # noqa: BLE001
            self._render_failed(entry, e)
            return
        finally:
            self._requests.pop(rid, None)
            self._cancel_asked.discard(rid)
        wav = result["wavs"][0] if result.get("wavs") else None
        r["seed"] = result.get("seed", r.get("seed"))
        if not self.state["seed_locked"] and isinstance(r["seed"], int):
            self.state["seed"] = r["seed"]
        entry.update(status="partial" if result.get("partial") else "done",
                     done=result.get("samples_done"), total=result.get("total_samples"), eta_s=None,
                     elapsed_s=result.get("elapsed_s"))
        if wav is None:
            entry.update(status="cancelled", error="stopped before any audio was made")
        else:
            entry.update(wav_path=wav["wav_path"], samples=wav["samples"], seconds=wav["seconds"])
        self.saved()
        self._redraw()
        if wav is not None:
            what = "partial render" if entry["status"] == "partial" else "rendered"
            self.mag.notify(f"#{rid} {what}: {wav['seconds']:.2f} s ({self.key('play')} plays, {self.key('keep')} keeps)", timeout=3)

    def _render_failed(self, entry: dict[str, Any], e: BaseException) -> None:
        cancelled = getattr(e, "code", "") == "cancelled"
        entry.update(status="cancelled" if cancelled else "failed", eta_s=None,
                     error="cancelled before it started" if cancelled else error_text(e))
        self.saved()
        self._redraw_renders()
        if not cancelled:
            self.mag.notify(f"render #{entry['id']} failed: {error_text(e)}", severity="error", timeout=8)

    async def action_cancel_render(self) -> None:
        renders = self.state["renders"]
        flying = [e for e in renders if e["status"] in IN_FLIGHT]
        if not flying:
            await self.action_stop()  # escape: cancel what runs, else stop what plays
            return
        sel = renders[self.state["result_index"]] if renders else None
        target = sel if sel in flying else next((e for e in flying if e["status"] == "running"), flying[0])
        self._cancel(target["id"])

    @work(group="mix-cancel")
    async def _cancel(self, rid: int) -> None:
        self._cancel_asked.add(rid)
        req = self._requests.get(rid)
        if req is not None:
            try:
                await req.cancel()
            except Exception:  # noqa: BLE001 - the link is gone: nothing left to cancel
                pass
        self.mag.notify(f"cancelling render #{rid}: the audio made so far is kept", timeout=3)

    def action_result(self, direction: int) -> None:
        n = len(self.state["renders"])
        if n:
            self.state["result_index"] = (self.state["result_index"] + direction) % n
            self.saved()
            self._redraw_renders()

    @property
    def selected_result(self) -> dict[str, Any] | None:
        renders = self.state["renders"]
        i = self.state["result_index"]
        return renders[i] if 0 <= i < len(renders) else None

    def action_rerender(self) -> None:
        entry = self.selected_result
        if entry is None:
            self.mag.notify(f"nothing rendered yet: {self.key('render')} renders the mix", severity="warning")
            return
        self.queue_render(dict(entry["recipe"]))

    # -- seed and stretch -----------------------------------------------------------------------
    def action_stretch(self, direction: int) -> None:
        cur = self.state["stretch"]
        i = min(range(len(STRETCHES)), key=lambda j: abs(STRETCHES[j] - cur))
        self._set(stretch=STRETCHES[max(0, min(len(STRETCHES) - 1, i + direction))])

    # -- audition -------------------------------------------------------------------------------
    def action_play_source(self) -> None:
        if self.sources:
            path = self.sources[self.state["selected"]]
            self._play(path, f"source {LETTERS[self.state['selected']]}: {short_name(path)}")

    def action_play_result(self) -> None:
        entry = self.selected_result
        if entry is None or not entry.get("wav_path"):
            self.mag.notify("no audio for this render yet", severity="warning")
            return
        self._play(entry["wav_path"], f"mix #{entry['id']}")

    @work(exclusive=True, group="mix-audition")
    async def _play(self, path: str, label: str) -> None:
        try:
            await self.mag.engine.call(api.audio.Play(path=path, label=label))
        except Exception as e:  # noqa: BLE001
            self.mag.notify(f"could not play {label}: {error_text(e)}", severity="error")
            return
        self.mag.notify(f"▶ {label}", timeout=2)

    @work(exclusive=True, group="mix-audition")
    async def action_stop(self) -> None:
        try:
            await self.mag.engine.call(api.audio.Stop())
        except Exception:  # noqa: BLE001 - nothing to stop when the engine is gone
            pass

    # -- keeping --------------------------------------------------------------------------------
    def action_keep(self) -> None:
        entry = self.selected_result
        if entry is None or not entry.get("wav_path"):
            self.mag.notify(f"render a mix first ({self.key('render')}); {self.key('keep')} keeps the selected result", severity="warning")
            return
        r = entry["recipe"]
        stems = "-".join(Path(s).stem[:12] for s in r["sources"])
        default = f"mix-{stems}-s{r.get('seed')}"

        def answer(name: str | None) -> None:
            if name and name.strip():
                self._keep(entry["id"], name.strip())
        self.mag.push_screen(AskText("Keep in the library as:", default), answer)

    @work(group="mix-keep")
    async def _keep(self, rid: int, name: str) -> None:
        entry = self._entry(rid)
        if entry is None:
            return
        try:
            res = await self.mag.engine.call(api.mix.Keep(
                wav_path=entry["wav_path"], recipe=entry["recipe"], name=name,
                partial=entry["status"] == "partial"))
        except Exception as e:  # noqa: BLE001
            self.mag.notify(f"could not keep it: {error_text(e)}", severity="error", timeout=8)
            return
        entry["kept"] = res["sound"]["path"]
        self.saved()
        self._redraw_renders()
        self.mag.notify(f"kept {short_name(entry['kept'])} in the library with its recipe", timeout=4)

    def action_kept(self) -> None:
        self._choose_kept()

    @work(exclusive=True, group="mix-kept")
    async def _choose_kept(self) -> None:
        try:
            res = await self.mag.engine.call(api.mix.Recipes(limit=200))
        except Exception as e:  # noqa: BLE001
            self.mag.notify(f"could not list kept mixes: {error_text(e)}", severity="error")
            return
        kept = list(reversed(res["recipes"]))  # Choose shows the last one first
        if not kept:
            self.mag.notify(f"no kept mixes yet: {self.key('keep')} keeps a render in the library", severity="warning")
            return

        def label(k: dict[str, Any]) -> str:
            r = k["recipe"]
            srcs = " + ".join(Path(s).stem for s in r["sources"])
            when = time.strftime("%m-%d %H:%M", time.localtime(k["created"]))
            return f"{when}  {short_name(k['path'])}  ({srcs}, seed {r.get('seed')})"

        def chosen(index: int | None) -> None:
            if index is not None:
                self.load_recipe(kept[index]["recipe"], render=True)
        self.mag.push_screen(Choose("Kept mixes (enter renders one again):", [label(k) for k in kept]),
                             chosen)

    def load_recipe(self, recipe: dict[str, Any], render: bool = False) -> None:
        """Put a recipe back on the controls (sources, blend, stretch, locked seed)."""
        st = self.state
        st["sources"][:] = list(recipe["sources"])[:MAX_SOURCES]
        if "xy" in recipe:
            st["mode"], st["xy"] = "xy", list(recipe["xy"])
            st["weights"] = [0.5] * len(st["sources"])
        else:
            st["mode"] = "sliders"
            st["weights"] = [round(float(w), 4) for w in recipe.get("weights", [])]
        st["stretch"] = float(recipe.get("stretch", 1.0))
        if isinstance(recipe.get("seed"), int):
            st["seed"], st["seed_locked"] = recipe["seed"], True
        self._sync_sources()
        self.saved()
        self._redraw()
        if render:
            self.queue_render(dict(recipe))
        self._encode_missing()
