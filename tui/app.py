"""The magstation workstation: four panes, a status bar, help and the command palette.

The app paints at once and connects to the engine in the background; it never imports
TensorFlow and never waits on model work.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, TabbedContent, TabPane

from engine import api
from tui.engine_link import EngineLink
from tui.commands import PaneActionsProvider
from tui.keys import keymap_clashes, load_keymap
from tui.engine_link import Done
from tui.messages import (BatchesChanged, EngineStateChanged, JobsChanged, MixSourcesChanged,
                          OutputChanged, SendToMix, ShowInLibrary, TransportChanged)
from tui.models_book import ModelBook, ModelsChanged
from tui.panes import PANES
from tui.panes.base import Pane
from tui.screens.models import ModelsScreen
from tui.screens.notices import NoticeLog, NoticesScreen
from tui.session import Session
from tui.widgets.help_screen import HelpScreen, help_rows
from tui.widgets.model_line import ModelLine
from tui.widgets.status_bar import StatusBar

AUTOSAVE_S = 1.0


class MagstationApp(App[None]):
    TITLE = "magstation"
    CSS_PATH = "magstation.tcss"
    BINDINGS = [
        *[Binding(p.KEY, f"show_pane('{p.PANE_ID}')", p.TITLE, show=False, id=f"app.{p.PANE_ID}")
          for p in PANES],
        Binding("question_mark,f1", "help", "help", tooltip="Help: every key, filtered as you type",
                id="app.help"),
        Binding("M", "models", "Models: install, import, verify, remove", show=False,
                id="app.models"),
        Binding("J", "jobs", "Jobs: engine jobs, batch and training runs", show=False, id="app.jobs"),
        Binding("ctrl+r", "restart_engine", "Restart engine", show=False, id="app.restart_engine"),
        Binding("q", "quit", "quit", tooltip="Quit (the engine keeps running)", id="app.quit"),
    ]
    COMMANDS = App.COMMANDS | {PaneActionsProvider}

    def __init__(self, socket_path: Path | None = None, session_path: Path | None = None,
                 autostart_engine: bool = True, connect_engine: bool = True) -> None:
        """`connect_engine=False` paints the app with no engine at all (snapshots, docs)."""
        super().__init__()
        self.session = Session(session_path).load()
        self.engine = EngineLink(self, socket_path, autostart=autostart_engine)
        self.connect_engine = connect_engine
        self.jobs: list[dict[str, Any]] = []
        self.batches: list[dict[str, Any]] = []  # batch runs (engine/batch/runs.py records)
        self.keymap_keys: dict[str, str] = {}  # binding id -> keys, from keymap.toml
        self.keymap_problems: list[str] = []
        self.notices = NoticeLog()  # every toast, kept after it fades
        self.models = ModelBook(self)  # what is installed, pulls in flight

    def compose(self) -> ComposeResult:
        initial = self.session.pane if self.session.pane in {p.PANE_ID for p in PANES} else "drums"
        with TabbedContent(initial=initial, id="panes"):
            for pane in PANES:
                with TabPane(f"{pane.KEY} {pane.TITLE}", id=pane.PANE_ID):
                    yield pane(id=f"pane-{pane.PANE_ID}")
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.load_keymap()
        if self.connect_engine:
            self.engine.start()
        else:
            self.query_one(StatusBar).set_engine("down", "not connected")
        self.set_interval(AUTOSAVE_S, self._autosave)
        if self.session.warning:
            self.notify(self.session.warning, title="session", severity="warning", timeout=20,
                        markup=False)

    async def on_unmount(self) -> None:
        self._autosave()
        await self.engine.stop()

    def _autosave(self) -> None:
        try:
            self.session.save_if_dirty()
        except OSError as e:
            self.notify(f"could not autosave the session to {self.session.path}: {e}",
                        severity="error")

    # -- panes ----------------------------------------------------------------------
    @property
    def current_pane(self) -> Pane:
        active = self.query_one(TabbedContent).active
        return self.query_one(f"#pane-{active}", Pane)

    def action_show_pane(self, pane_id: str) -> None:
        from tui.screens.jobs import JobsScreen

        if isinstance(self.screen, JobsScreen):  # a pane key from the job list goes to the pane
            self.pop_screen()
        self.query_one(TabbedContent).active = pane_id

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        pane_id = event.pane.id or ""
        self.session.set_pane(pane_id)
        self.query_one(f"#pane-{pane_id}", Pane).focus()

    # -- keys -----------------------------------------------------------------------
    def binding_ids(self) -> set[str]:
        return {b.id for b in self.BINDINGS if isinstance(b, Binding) and b.id} | \
            {b.id for p in PANES for b in p.BINDINGS if b.id}

    def load_keymap(self) -> None:
        """Apply $MAGSTATION_HOME/keymap.toml; what cannot be used is said and ignored, and
        a key taken from another binding is said."""
        km = load_keymap(self.binding_ids())
        app_bindings = [b for b in self.BINDINGS if isinstance(b, Binding)]
        clashes = keymap_clashes(km.keys, {p.TITLE: list(p.BINDINGS) for p in PANES}, app_bindings)
        self.keymap_keys, self.keymap_problems = km.keys, km.problems + clashes
        self.set_keymap(km.keys)
        for problem in self.keymap_problems:
            self.notify(problem, title="keymap", severity="warning", timeout=30, markup=False)

    def notify(self, message: str, *, title: str = "", severity: str = "information",
               **kwargs: Any) -> None:
        self.notices.add(str(message), severity, title)
        super().notify(message, title=title, severity=severity, **kwargs)  # type: ignore[arg-type]

    def action_notices(self) -> None:
        self.push_screen(NoticesScreen(self.notices))

    def action_help(self) -> None:
        current = self.current_pane
        panes = sorted(PANES, key=lambda p: p.PANE_ID != current.PANE_ID)
        app_bindings = [b for b in self.BINDINGS if isinstance(b, Binding)]
        sections = [(f"{p.TITLE} pane" + (" (you are here)" if p.PANE_ID == current.PANE_ID else ""),
                     help_rows(list(p.BINDINGS), self.keymap_keys)) for p in panes]
        sections.insert(1, ("Everywhere", help_rows(app_bindings, self.keymap_keys)))
        self.push_screen(HelpScreen(sections))

    # -- models ---------------------------------------------------------------------
    def action_models(self, name: str | None = None) -> None:
        """Open the Models screen at `name`, else at the current pane's missing model."""
        if name is None and isinstance(self.screen, ModelsScreen):
            return
        if name is None and self.screen is self.screen_stack[0]:
            missing = self.current_pane.missing_models()
            name = missing[0] if missing else None
        for screen in self.screen_stack:
            if isinstance(screen, ModelsScreen):  # already open under a dialog: go back to it
                while self.screen is not screen:
                    self.pop_screen()
                if name:
                    screen.select(name)
                return
        self.push_screen(ModelsScreen(select=name))

    def on_models_changed(self, message: ModelsChanged) -> None:
        if not self.screen_stack:  # the app is closing
            return
        if message.full:
            for pane in self.screen_stack[0].query(Pane).results(Pane):
                pane.models_changed()
        else:  # a pull's progress: only the missing-model lines show it
            for line in self.screen_stack[0].query(ModelLine).results(ModelLine):
                line.redraw()
        for screen in self.screen_stack:
            if isinstance(screen, ModelsScreen) and screen.is_mounted:
                screen.models_changed()

    # -- engine ---------------------------------------------------------------------
    def on_engine_state_changed(self, message: EngineStateChanged) -> None:
        for bar in self.query(StatusBar).results(StatusBar):  # none once the app is closing
            bar.set_engine(message.state, message.detail)
        for pane in self.query(Pane).results(Pane):
            pane.engine_state_changed(message.state)
        if message.state == "ready":
            self.run_worker(self.models.refresh(), group="models-refresh")
        if message.state == "down" and self.engine.restarts:
            self.notify(f"engine: {message.detail}", severity="warning", timeout=4)

    # -- panes telling each other -----------------------------------------------------
    def on_send_to_mix(self, message: SendToMix) -> None:
        from tui.panes.latent_mix import LatentMixPane

        self.query_one(LatentMixPane).add_source(message.path, message.name)

    def on_show_in_library(self, message: ShowInLibrary) -> None:
        from tui.panes.library import LibraryPane

        self.action_show_pane("library")  # closes the job list
        self.query_one(LibraryPane).show_filter(message.filter)

    def on_mix_sources_changed(self, message: MixSourcesChanged) -> None:
        from tui.panes.library import LibraryPane

        for pane in self.query(LibraryPane).results(LibraryPane):
            pane.mix_sources_changed(message.sources, message.capacity)

    def on_output_changed(self, message: OutputChanged) -> None:
        for bar in self.query(StatusBar).results(StatusBar):
            bar.set_output(message.output, message.config)

    def on_transport_changed(self, message: TransportChanged) -> None:
        for pane in self.query(Pane).results(Pane):
            pane.transport_changed(message.status)

    def on_jobs_changed(self, message: JobsChanged) -> None:
        self.jobs = message.jobs
        for bar in self.query(StatusBar).results(StatusBar):
            bar.set_jobs(message.jobs)
        self._refresh_job_list()

    def on_batches_changed(self, message: BatchesChanged) -> None:
        self.batches = message.runs
        self._refresh_job_list()

    def _refresh_job_list(self) -> None:
        from tui.screens.jobs import JobsScreen

        for screen in self.screen_stack:
            if isinstance(screen, JobsScreen):
                screen.show_rows()

    def action_jobs(self) -> None:
        from tui.screens.jobs import JobsScreen

        if isinstance(self.screen, JobsScreen):
            self.pop_screen()
        elif not any(isinstance(s, JobsScreen) for s in self.screen_stack):
            self.push_screen(JobsScreen())

    def action_train_melody(self) -> None:
        """The job list, then its training prompts (the palette's way to `t`)."""
        from tui.screens.jobs import JobsScreen

        if not isinstance(self.screen, JobsScreen):
            self.action_jobs()
        screen = self.screen
        if isinstance(screen, JobsScreen):
            screen.action_start_training()

    async def action_restart_engine(self) -> None:
        if self.engine.client is None or self.engine.state != "ready":
            self.notify(f"the engine is {self.engine.state} ({self.engine.detail}); ctrl+r restarts "
                        "it once it is ready", severity="warning", timeout=4)
            return
        await self.engine.run_job(api.system.Shutdown())  # it goes away either way; the link restarts it

    async def action_engine_check(self) -> None:
        self.run_worker(self._engine_check(), exclusive=True, group="engine-check")

    async def _engine_check(self) -> None:
        outcome = await self.engine.run_job(api.system.TfInfo())
        if not isinstance(outcome, Done):
            self.notify(f"engine check failed: {getattr(outcome, 'message', 'cancelled')}", severity="error")
            return
        info = outcome.result
        gpu = "GPU available" if info["gpu"] else "no GPU: running on the CPU"
        self.notify(f"TensorFlow {info['tensorflow']} · {gpu}")

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for pane in PANES:
            yield SystemCommand(f"Go to {pane.TITLE}", f"Show the {pane.TITLE} pane (key {pane.KEY})",
                                lambda p=pane.PANE_ID: self.action_show_pane(p))
        yield SystemCommand("Help: keys", "List every key binding", self.action_help)
        yield SystemCommand("Models: install, import, verify, remove",
                            "The Models screen: what is installed, pull with progress (key M)",
                            self.action_models)
        yield SystemCommand("Jobs and batches", "Engine jobs, batch and training runs with "
                            "progress (key J)", self.action_jobs)
        yield SystemCommand("Train a melody model on your MIDI files",
                            "In the background; the job list shows it (key J, then t)",
                            self.action_train_melody)
        yield SystemCommand("Messages", "Every message shown this session, newest first "
                            "(toasts fade; these stay)", self.action_notices)
        yield SystemCommand("Engine: restart", "Stop the engine; it is started again at once",
                            self.action_restart_engine)
        yield SystemCommand("Engine: check TensorFlow and GPU", "Run a small TF job in the engine",
                            self.action_engine_check)


def run_app() -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    app = MagstationApp()
    app.run()
    print(goodbye(app.engine.socket_path, app.engine.pid))
    return 0


def goodbye(socket_path: Path, pid: int | None) -> str:
    """What `q` leaves behind: the engine keeps running (its models stay loaded for the
    next start), and how to stop it."""
    from engine.launcher import engine_answers

    if not engine_answers(socket_path):
        return "magstation: closed; no engine is running."
    which = f" (pid {pid})" if pid else ""
    return (f"magstation: the engine keeps running{which} with its models loaded, so the next "
            f"start is quick; `magstation engine stop` stops it.")
