"""Latent mix: blend the NSynth encodings of 2-4 sounds with weight sliders or a 4-corner
XY pad (as on NSynth Super), see the encodings as heat strips, render the blend in the
engine (a queue of nsynth.synth jobs with progress and ETA, cancellable, partial audio
kept), audition sources and results, and keep a result in the library with its recipe so
it can be rendered again. Everything is autosaved in the session (MixState).

Sources arrive with `add_source` (typed here with `o`, or sent by the library with the
SendToMix message); every change of the sources is told to the other panes with
MixSourcesChanged. `model_overrides: {"nsynth": {"checkpoint": PATH}}` in the session
points the pane at a custom checkpoint (the tests use the small fixture)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import msgspec
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from engine import api
from engine.errors import EngineError
from engine.music.latent_mix import MAX_SOURCES, MIN_SOURCES, xy_weights
from tui.engine_link import READY, Cancelled, Done, JobControl
from tui.keys import pane_bindings
from tui.messages import MixSourcesChanged
from tui.pane_state import MixPlot, MixRecipe, MixRender, MixState
from tui.panes.base import Pane
from tui.widgets.job_progress import JobProgress
from tui.widgets.mix_controls import LETTERS, MixPad, MixParams, MixSources
from tui.widgets.mix_renders import IN_FLIGHT, MixRenders
from tui.widgets.mix_view import EncodingView, blend, plot_range
from tui.widgets.model_line import ModelLine
from tui.widgets.problem_line import ProblemLine
from tui.widgets.prompt import AskText, Choose

WEIGHT_STEP = 0.05
XY_STEP = 0.05
DEFAULT_WEIGHT = 0.5
STRETCHES = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0)
PLOT_COLUMNS = 64
DEFAULT_MODEL = "nsynth-wavenet"
LIBRARY_SEND_KEY = "x"  # the library pane's key that sends a sound here
RENDER_KEYS = ("render", "play", "keep", "stop", "next", "previous", "again")


def default_model() -> str:
    """The manifest's NSynth checkpoint name."""
    from engine.checkpoints import load_manifest
    try:
        manifest = load_manifest()
    except (EngineError, OSError, ValueError):  # a broken manifest is reported by `models`
        return DEFAULT_MODEL
    return next((i.name for i in manifest.values() if i.family == "nsynth"), DEFAULT_MODEL)


def normalized(weights: list[float]) -> list[float]:
    total = sum(weights)
    return [round(w / total, 4) for w in weights] if total > 0 else [0.0] * len(weights)


def short_name(path: str) -> str:
    return Path(path).name


def fitted_weights(weights: list[float], count: int) -> list[float]:
    """One slider per source: the ones there are, new sources at the default."""
    return (list(weights) + [DEFAULT_WEIGHT] * count)[:count]


class LatentMixPane(Pane[MixState]):
    PANE_ID = "mix"
    STATE = MixState
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
        yield MixParams(id="mix-params")
        yield ModelLine(id="mix-model-line")
        yield ProblemLine(id="mix-problems")
        yield JobProgress(cancel_hint="", id="mix-encode-progress")
        with Horizontal(id="mix-top"):
            yield MixSources(id="mix-sources")
            yield MixPad(id="mix-pad")
        with Horizontal(id="mix-plots"):
            for letter in LETTERS:
                yield EncodingView(id=f"mix-enc-{letter}")
            yield EncodingView(id="mix-enc-mix")
        yield JobProgress(cancel_hint=self.key("stop"), id="mix-render-progress")
        yield MixRenders(id="mix-renders")

    # -- state (autosaved) ----------------------------------------------------------
    def on_mount(self) -> None:
        st = self.state
        before = msgspec.to_builtins(st)
        for entry in st.renders:  # jobs of an earlier run are gone with its link
            if entry.status in IN_FLIGHT:
                entry.status = "interrupted"
        if len(st.sources) > MAX_SOURCES or len(st.weights) != len(st.sources):
            del st.sources[MAX_SOURCES:]  # a hand-edited session may hold more, or no weights
            st.weights = fitted_weights(st.weights, len(st.sources))
        st.selected = max(0, min(st.selected, len(st.sources) - 1))
        st.result_index = max(0, min(st.result_index, len(st.renders) - 1))
        if msgspec.to_builtins(st) != before:
            self.saved()
        self.busy = ""
        self.model = default_model()
        self._model_installed: bool | None = None  # as the Models list last said
        self.auto_encode: Any = None  # the Worker of the last encode the pane started itself
        self._render_control: JobControl | None = None  # the running render's
        self._running: MixRender | None = None
        self.query_one(MixRenders).keys = {name: self.key(name) for name in RENDER_KEYS}
        self.watch(self.query_one("#mix-render-progress", JobProgress), "done",
                   self._render_progressed, init=False)
        self.watch(self.query_one("#mix-encode-progress", JobProgress), "done",
                   self._encode_progressed, init=False)
        self._sources_changed()

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

    @property
    def sources(self) -> list[str]:
        return self.state.sources

    def _set_sources(self, sources: list[str], weights: list[float], selected: int) -> None:
        """The one way the sources change (add, remove, load a recipe): a slider per
        source, the selection on one of them, and the other panes told."""
        st = self.state
        st.sources = list(sources)[:MAX_SOURCES]
        st.weights = fitted_weights(weights, len(st.sources))
        st.selected = max(0, min(selected, len(st.sources) - 1))
        st.plots = {k: v for k, v in st.plots.items() if k in st.sources}
        self.saved()
        self._sources_changed()

    def _sources_changed(self) -> None:
        self.post_message(MixSourcesChanged(list(self.sources), MAX_SOURCES))
        self._redraw()
        self._encode_missing()

    # -- the blend --------------------------------------------------------------------
    def mix_weights(self) -> list[float]:
        """The normalized weight of each source: the sliders, or the XY pad's bilinear
        weights of the corners that hold a sound."""
        st = self.state
        n = len(self.sources)
        if st.mode == "xy":
            corners = [float(w) for w in xy_weights(*st.xy)][:n]
            return normalized(corners)
        return normalized(st.weights[:n])

    def recipe(self) -> MixRecipe | None:
        """What a render of the current controls is made of; None (with a note to the
        user) when there is nothing to render."""
        st = self.state
        if len(self.sources) < MIN_SOURCES:
            self.mag.notify(f"a mix takes {MIN_SOURCES} to {MAX_SOURCES} sounds: send them from "
                            f"the library (its {LIBRARY_SEND_KEY}) or open a file ({self.key('open')})",
                            severity="warning")
            return None
        recipe = MixRecipe(sources=list(self.sources), stretch=st.stretch, model=self.model,
                           seed=st.seed if st.seed_locked else None,
                           checkpoint=self._overrides().get("checkpoint"))
        if st.mode == "xy" and len(self.sources) == 4:
            recipe.xy = [round(v, 4) for v in st.xy]
        else:
            weights = self.mix_weights()
            if not any(weights):
                hint = "move the puck towards a sound" if st.mode == "xy" else "raise a slider"
                self.mag.notify(f"every weight is 0: {hint}", severity="warning")
                return None
            recipe.weights = weights
        return recipe

    def _overrides(self) -> dict[str, Any]:
        return dict(self.state.model_overrides.get("nsynth", {}))

    def _checkpoint(self, recipe: MixRecipe | None = None) -> str:
        if recipe is not None:
            return recipe.checkpoint or recipe.model or self.model
        return self._overrides().get("checkpoint") or self.model

    # -- drawing: the widgets draw themselves from what is set here --------------------
    def _redraw(self) -> None:
        if self.closing_down:  # a worker finished as the app closed
            return
        st = self.state
        xy_mode = st.mode == "xy"
        overridden = bool(self._overrides().get("checkpoint"))
        self.query_one(ModelLine).show([] if overridden else [("NSynth model", self.model)])

        params = self.query_one(MixParams)
        params.xy_mode, params.model = xy_mode, self.model
        params.model_mark = self.mag.models.mark(self.model)
        params.seed, params.seed_locked, params.stretch = st.seed, st.seed_locked, st.stretch
        params.busy = self.busy
        encoded = [s in st.plots for s in self.sources]
        params.seconds = (min(st.plots[s].seconds for s in self.sources)
                          if self.sources and all(encoded) else None)

        shares = self.mix_weights() if self.sources else []
        sources = self.query_one(MixSources)
        sources.names = tuple(short_name(s) for s in self.sources)
        sources.weights, sources.shares = tuple(st.weights), tuple(shares)
        sources.encoded, sources.selected, sources.xy_mode = tuple(encoded), st.selected, xy_mode

        pad = self.query_one(MixPad)
        pad.x, pad.y, pad.active = st.xy[0], st.xy[1], xy_mode
        pad.corners = tuple(LETTERS[i] if i < len(self.sources) else "" for i in range(4))

        self._redraw_plots()
        self._redraw_renders()

    def _redraw_plots(self) -> None:
        st = self.state
        plots = [st.plots.get(s) for s in self.sources]
        have = [p for p in plots if p]
        lo, hi = plot_range([p.plot for p in have])
        for i, letter in enumerate(LETTERS):
            view = self.query_one(f"#mix-enc-{letter}", EncodingView)
            view.display = i < len(self.sources)
            if i < len(self.sources):
                p = plots[i]
                caption = f"{letter} {short_name(self.sources[i])}"
                view.show(p.plot if p else None, caption, lo, hi, selected=i == st.selected,
                          message="encoding…" if self.busy.startswith("encod") else f"not encoded ({self.key('encode')})")
        mix_view = self.query_one("#mix-enc-mix", EncodingView)
        if not self.sources:
            mix_view.show(None, "encodings", lo, hi,
                          message=f"No sounds yet: in the library (1) {LIBRARY_SEND_KEY} sends one "
                                  f"here; {self.key('open')} adds a file.")
        elif len(have) == len(plots) and len(plots) >= MIN_SOURCES:
            mixed = blend([p.plot for p in have], [p.frames for p in have], self.mix_weights(),
                          PLOT_COLUMNS)
            mix_view.show(mixed, "mix (preview)", lo, hi)
        else:
            wait = "add a second sound" if len(self.sources) < MIN_SOURCES else "encode to preview"
            mix_view.show(None, "mix (preview)", lo, hi, message=wait)

    def _redraw_renders(self) -> None:
        view = self.query_one(MixRenders)
        view.selected = self.state.result_index
        view.eta_s = self.queue_eta()
        view.renders = self.state.renders

    def expected_samples(self, recipe: MixRecipe) -> int | None:
        """How long a recipe's render will be, from the encoded sources (None if unknown)."""
        plots = self.state.plots
        if not all(src in plots for src in recipe.sources):
            return None
        frames = min(plots[src].frames for src in recipe.sources)
        return max(1, round(frames * recipe.stretch)) * 512

    def queue_eta(self) -> float | None:
        """Seconds until every queued render is done: the running one's ETA from the engine,
        the waiting ones at the speed of the last finished render (None until one is)."""
        renders = self.state.renders
        speed = next((e.done / e.elapsed_s for e in reversed(renders)
                      if e.status == "done" and e.elapsed_s and e.done), None)
        total = 0.0
        for e in renders:
            if e.status == "running" and e.eta_s is not None:
                total += e.eta_s
            elif e.status in IN_FLIGHT:
                n = self.expected_samples(e.recipe)
                if speed is None or n is None:
                    return None
                total += n / speed
        return total

    # -- sources ------------------------------------------------------------------------
    def action_arrow(self, dx: int, dy: int) -> None:
        st = self.state
        if st.mode == "xy":
            x, y = st.xy
            st.xy = [round(min(1.0, max(0.0, x + dx * XY_STEP)), 4),
                     round(min(1.0, max(0.0, y + dy * XY_STEP)), 4)]
        elif not self.sources:
            return
        elif dy:
            st.selected = (st.selected + dy) % len(self.sources)
        else:
            i = st.selected
            st.weights[i] = round(min(1.0, max(0.0, st.weights[i] + dx * WEIGHT_STEP)), 4)
        self.saved()
        self._redraw()

    def action_toggle_mode(self) -> None:
        mode = "sliders" if self.state.mode == "xy" else "xy"
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
        st = self.state
        self._set_sources(st.sources + [path], st.weights, len(st.sources))
        self.mag.notify(f"{name} → mixer source {LETTERS[len(self.sources) - 1]}")

    def action_remove_source(self) -> None:
        if not self.sources:
            return
        st = self.state
        i = st.selected
        self._set_sources(st.sources[:i] + st.sources[i + 1:], st.weights[:i] + st.weights[i + 1:], i)

    # -- encodings ------------------------------------------------------------------------
    def action_encode(self) -> None:
        if self.sources:
            self._encode(list(self.sources))

    def _encode_missing(self) -> None:
        """Encode the sources not encoded yet, once the engine is there (on start, after a
        restart, when a source arrives)."""
        missing = [s for s in self.sources if s not in self.state.plots]
        if missing and self.mag.connect_engine and self.mag.engine.state == READY:
            self.auto_encode = self._encode(missing)

    def engine_state_changed(self, state: str) -> None:
        if state == READY and self.is_mounted:
            self._encode_missing()

    def _encode_progressed(self, _done: float) -> None:
        bar = self.query_one("#mix-encode-progress", JobProgress)
        self.busy = f"encoding {bar.done:g}/{bar.total:g}"
        self.query_one(MixParams).busy = self.busy

    @work(exclusive=True, group="mix-encode")
    async def _encode(self, sounds: list[str]) -> None:
        """Encode `sounds` (waits for the engine while it starts). A missing model shows in
        the pane's model line (M opens Models), any other failure on its problem line."""
        self.busy = "encoding"
        self._redraw()
        outcome = await self.run_job(
            api.mix.Encode(sounds=sounds, columns=PLOT_COLUMNS, checkpoint=self._checkpoint()),
            "encode", self.query_one("#mix-encode-progress", JobProgress), label="encoding",
            fix=f"{self.key('encode')} encodes again")
        self.busy = ""
        if not isinstance(outcome, Done):
            if getattr(outcome, "missing_model", False):
                self.mag.models.note_missing(self.model)
                self.solved("encode")  # the model line says it, with the key that fixes it
                self.query_one("#mix-encode-progress", JobProgress).clear()
            self._redraw()
            return
        st = self.state
        for item in outcome.result["encodings"]:
            st.plots[item["sound"]] = MixPlot(plot=item["plot"], frames=item["frames"],
                                              seconds=item["seconds"])
        # forget pictures of sounds no longer in the mixer
        st.plots = {k: v for k, v in st.plots.items() if k in self.sources}
        self.saved()
        self._redraw()

    # -- renders: one at a time, in the order asked ---------------------------------------
    def action_render(self) -> None:
        recipe = self.recipe()
        if recipe is not None:
            self.queue_render(recipe)

    def queue_render(self, recipe: MixRecipe) -> None:
        st = self.state
        rid = st.next_id
        st.next_id = rid + 1
        st.renders.append(MixRender(id=rid, recipe=recipe, queued_at=time.time()))
        st.result_index = len(st.renders) - 1
        self.saved()
        self._redraw_renders()
        if self._running is None:
            self._render_queue()

    def _entry(self, rid: int) -> MixRender | None:
        return next((e for e in self.state.renders if e.id == rid), None)

    def _render_progressed(self, _done: float) -> None:
        entry, control = self._running, self._render_control
        if entry is None or control is None:
            return
        msg = control.progress
        entry.status = "running"
        entry.done, entry.total, entry.eta_s = msg.get("done", 0), msg.get("total", 0), msg.get("eta_s")
        self._redraw_renders()

    @work(group="mix-render")
    async def _render_queue(self) -> None:
        """Render what waits, oldest first, until nothing does (renders queued meanwhile
        join; escape cancels the running one and keeps what it made)."""
        while (entry := next((e for e in self.state.renders if e.status == "queued"), None)):
            self._running, self._render_control = entry, JobControl()
            entry.status = "running"
            self._redraw_renders()
            try:
                await self._render_one(entry, self._render_control)
            finally:
                self._running = self._render_control = None

    async def _render_one(self, entry: MixRender, control: JobControl) -> None:
        r = entry.recipe
        mix = api.nsynth.Mix(sources=r.sources, weights=None if r.xy is not None else r.weights,
                             xy=r.xy, stretch=None if r.stretch == 1.0 else r.stretch)
        params = api.nsynth.Synth(mixes=[mix], seed=r.seed,
                                  names=[f"mix-{entry.id}"], checkpoint=self._checkpoint(r))
        outcome = await self.run_job(
            params, "render", self.query_one("#mix-render-progress", JobProgress), control,
            label=f"render #{entry.id}", fix=f"{self.key('again')} renders it again")
        entry.eta_s = None
        if isinstance(outcome, Cancelled):
            entry.status, entry.error = "cancelled", "cancelled before it started"
        elif not isinstance(outcome, Done):
            entry.status, entry.error = "failed", outcome.message
        else:
            self._rendered(entry, outcome.result)
        self.saved()
        self._redraw()

    def _rendered(self, entry: MixRender, result: dict[str, Any]) -> None:
        """A render's answer: a cancelled one is `partial` with the audio made so far."""
        wav = result["wavs"][0] if result.get("wavs") else None
        seed = result.get("seed", entry.recipe.seed)
        entry.recipe.seed = seed
        if not self.state.seed_locked and isinstance(seed, int):
            self.state.seed = seed
        entry.status = "partial" if result.get("partial") else "done"
        entry.done, entry.total = result.get("samples_done"), result.get("total_samples")
        entry.elapsed_s = result.get("elapsed_s")
        if wav is None:
            entry.status, entry.error = "cancelled", "stopped before any audio was made"
            return
        entry.wav_path, entry.samples, entry.seconds = wav["wav_path"], wav["samples"], wav["seconds"]
        what = "partial render" if entry.status == "partial" else "rendered"
        self.mag.notify(f"#{entry.id} {what}: {wav['seconds']:.2f} s ({self.key('play')} plays, "
                        f"{self.key('keep')} keeps)", timeout=3)

    async def action_cancel_render(self) -> None:
        renders = self.state.renders
        flying = [e for e in renders if e.status in IN_FLIGHT]
        if not flying:
            self.action_stop()  # escape: cancel what runs, else stop what plays (a worker)
            return
        sel = self.selected_result
        target = sel if sel in flying else next((e for e in flying if e.status == "running"), flying[0])
        if target is self._running and self._render_control is not None:
            self.mag.notify(f"cancelling render #{target.id}: the audio made so far is kept", timeout=3)
            await self._render_control.cancel()
            return
        target.status, target.error = "cancelled", "cancelled before it started"
        self.saved()
        self._redraw_renders()

    def action_result(self, direction: int) -> None:
        n = len(self.state.renders)
        if n:
            self.state.result_index = (self.state.result_index + direction) % n
            self.saved()
            self._redraw_renders()

    @property
    def selected_result(self) -> MixRender | None:
        renders = self.state.renders
        i = self.state.result_index
        return renders[i] if 0 <= i < len(renders) else None

    def action_rerender(self) -> None:
        entry = self.selected_result
        if entry is None:
            self.mag.notify(f"nothing rendered yet: {self.key('render')} renders the mix", severity="warning")
            return
        self.queue_render(msgspec.structs.replace(entry.recipe))

    # -- seed and stretch -----------------------------------------------------------------------
    def action_stretch(self, direction: int) -> None:
        cur = self.state.stretch
        i = min(range(len(STRETCHES)), key=lambda j: abs(STRETCHES[j] - cur))
        self._set(stretch=STRETCHES[max(0, min(len(STRETCHES) - 1, i + direction))])

    # -- audition -------------------------------------------------------------------------------
    def action_play_source(self) -> None:
        if self.sources:
            i = self.state.selected
            self._play(self.sources[i], f"source {LETTERS[i]}: {short_name(self.sources[i])}")

    def action_play_result(self) -> None:
        entry = self.selected_result
        if entry is None or not entry.wav_path:
            self.mag.notify("no audio for this render yet", severity="warning")
            return
        self._play(entry.wav_path, f"mix #{entry.id}")

    @work(exclusive=True, group="mix-audition")
    async def _play(self, path: str, label: str) -> None:
        outcome = await self.run_job(api.audio.Play(path=path, label=label), "audition",
                                     fix=f"{self.key('audition')} plays it again")
        if isinstance(outcome, Done):
            self.mag.notify(f"▶ {label}", timeout=2)

    @work(exclusive=True, group="mix-audition")
    async def action_stop(self) -> None:
        await self.run_job(api.audio.Stop(), "audition")

    # -- keeping --------------------------------------------------------------------------------
    def action_keep(self) -> None:
        entry = self.selected_result
        if entry is None or not entry.wav_path:
            self.mag.notify(f"render a mix first ({self.key('render')}); {self.key('keep')} keeps the selected result", severity="warning")
            return
        r = entry.recipe
        stems = "-".join(Path(s).stem[:12] for s in r.sources)
        default = f"mix-{stems}-s{r.seed}"

        def answer(name: str | None) -> None:
            if name and name.strip():
                self._keep(entry.id, name.strip())
        self.mag.push_screen(AskText("Keep in the library as:", default), answer)

    @work(group="mix-keep")
    async def _keep(self, rid: int, name: str) -> None:
        entry = self._entry(rid)
        if entry is None or entry.wav_path is None:
            return
        recipe = msgspec.convert(msgspec.to_builtins(entry.recipe), api.mix.Recipe)
        outcome = await self.run_job(
            api.mix.Keep(wav_path=entry.wav_path, recipe=recipe, name=name,
                         partial=entry.status == "partial"),
            "keep", fix=f"{self.key('keep')} tries again")
        if not isinstance(outcome, Done):
            return
        entry.kept = outcome.result["sound"]["path"]
        self.saved()
        self._redraw_renders()
        self.mag.notify(f"kept {short_name(entry.kept)} in the library with its recipe", timeout=4)

    def action_kept(self) -> None:
        self._choose_kept()

    @work(exclusive=True, group="mix-kept")
    async def _choose_kept(self) -> None:
        outcome = await self.run_job(api.mix.Recipes(limit=200), "kept",
                                     fix=f"{self.key('history')} lists them again")
        if not isinstance(outcome, Done):
            return
        kept = list(reversed(outcome.result["recipes"]))  # Choose shows the last one first
        if not kept:
            self.mag.notify(f"no kept mixes yet: {self.key('keep')} keeps a render in the library", severity="warning")
            return

        def label(k: dict[str, Any]) -> str:
            r = k["recipe"]
            srcs = " + ".join(Path(s).stem for s in r["sources"])
            when = time.strftime("%m-%d %H:%M", time.localtime(k["created"]))
            return f"{when}  {short_name(k['path'])}  ({srcs}, seed {r.get('seed')})"

        def chosen(index: int | None) -> None:
            if index is None:
                return
            given = {k: v for k, v in kept[index]["recipe"].items() if v is not None}
            try:
                recipe = msgspec.convert(given, MixRecipe)
            except msgspec.ValidationError as e:
                self.problem("kept", f"{short_name(kept[index]['path'])}: its recipe does not "
                             f"fit this mixer ({e})", f"{self.key('history')} picks another")
                return
            self.load_recipe(recipe, render=True)
        self.mag.push_screen(Choose("Kept mixes (enter renders one again):", [label(k) for k in kept]),
                             chosen)

    def load_recipe(self, recipe: MixRecipe, render: bool = False) -> None:
        """Put a recipe back on the controls (sources, blend, stretch, locked seed)."""
        st = self.state
        if recipe.xy is not None:
            st.mode, st.xy = "xy", list(recipe.xy)
            weights: list[float] = []
        else:
            st.mode = "sliders"
            weights = [round(float(w), 4) for w in recipe.weights or []]
        st.stretch = recipe.stretch
        if isinstance(recipe.seed, int):
            st.seed, st.seed_locked = recipe.seed, True
        self._set_sources(recipe.sources, weights, st.selected)
        if render:
            self.queue_render(msgspec.structs.replace(recipe))
