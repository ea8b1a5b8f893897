"""The job list (global key J): the engine's queued and running jobs and the background
runs on this machine (batches and training runs), with progress and ETA for each batch
and each of its workers, and for each training run its step, loss and state.

Both lists are pushed by the engine (`jobs` and `batches` events); this screen only
draws them. A batch's ETAs are as of its record's `updated` time, so a one-second timer
counts them down between records. Keys: `a` adds the selected batch's results to the
library (and shows them there as a set), `s` starts a batch from a plan file, `t` trains
a melody model on a folder of MIDI files (prompts for the folder, config and steps), `x`
stops the selected batch or training run (as Ctrl-C would; starting it again goes on),
`i` installs a finished (or stopped) training run's bundle as a model.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.widgets.data_table import CellDoesNotExist

from engine import api
from engine.api.base import Params
from engine.words import counted
from tui.engine_link import Done
from tui.messages import ShowInLibrary
from tui.widgets.job_progress import fmt_eta

if TYPE_CHECKING:
    from tui.app import MagstationApp

STATE_STYLE = {"running": "yellow", "queued": "dim", "done": "green", "failed": "bold red",
               "stopped": "magenta", "error": "bold red"}
COLUMNS = (("what", "what"), ("state", "state"), ("progress", "progress"), ("ETA", "eta"),
           ("detail", "detail"))


def remaining(eta_s: float | None, updated: float | None, now: float) -> float | None:
    """An ETA given at `updated`, counted down to `now`."""
    if eta_s is None:
        return None
    return max(0.0, eta_s - max(0.0, now - (updated or now)))


def job_row(job: dict[str, Any]) -> tuple[Any, ...]:
    total, done = job.get("total") or 0, job.get("done") or 0
    pct = f" {100 * done / total:.0f}%" if total else ""
    return (job["method"], Text(job["state"], style=STATE_STYLE.get(job["state"], "")),
            f"{done:g}/{total:g}{pct}" if total else "-",
            fmt_eta(job.get("eta_s")) if job.get("eta_s") is not None else "-",
            job.get("message") or "")


def batch_rows(run: dict[str, Any], now: float) -> list[tuple[str, tuple[Any, ...]]]:
    """The batch's own row, then one per worker while it runs (or when it has several)."""
    state = run.get("state", "?")
    live = state == "running"
    total, done, failed = run.get("total", 0), run.get("done", 0), run.get("failed", 0)
    pct = 100 * (done + failed) / total if total else 100.0
    progress = f"{done + failed}/{total} {pct:.0f}%"
    if run.get("skipped"):
        progress += f" (+{run['skipped']} already done)"
    detail = run.get("out", "")
    if failed:
        detail = f"{failed} failed · {detail}"
    if run.get("error") and state != "done":
        detail = f"{run['error']} · {detail}"
    eta = remaining(run.get("eta_s"), run.get("updated"), now) if live else None
    rows = [(f"batch:{run['key']}",
             (f"batch {run.get('name', '?')}" + (" (Ray)" if run.get("ray") else ""),
              Text(state, style=STATE_STYLE.get(state, "")), progress,
              fmt_eta(eta) if live else "-", detail))]
    workers = run.get("workers") or []
    if live or len(workers) > 1:
        for w in workers:
            mean = f", {w['mean_s']:.1f} s/task" if w.get("mean_s") else ""
            w_eta = remaining(w.get("eta_s"), run.get("updated"), now) if live and w.get("current") else None
            rows.append((f"worker:{run['key']}:{w['name']}",
                         (f"  └ {w['name']}", Text("busy" if live and w.get("current") else "idle",
                                                   style="yellow" if w.get("current") else "dim"),
                          f"{w.get('done', 0)} done{mean}",
                          fmt_eta(w_eta) if w_eta is not None else "-",
                          (w.get("current") or "") if live else "")))
    return rows


def train_row(run: dict[str, Any], now: float) -> tuple[str, tuple[Any, ...]]:
    """A training run: steps done/total, loss, ETA, and where its bundle is."""
    state = run.get("state", "?")
    live = state == "running"
    total, done = run.get("total") or 0, run.get("done") or 0
    progress = f"step {done}/{total} {100 * done / total:.0f}%" if total else "starting"
    if run.get("loss") is not None:
        progress += f" · loss {run['loss']:.2f}"
    if live and not done:
        progress = "loading data and TensorFlow"
    detail = run.get("bundle") or run.get("out", "")
    if state == "done" and run.get("bundle"):
        detail = f"i: install · {detail}"
    if run.get("error") and state != "done":
        detail = f"{run['error']} · {detail}"
    eta = remaining(run.get("eta_s"), run.get("updated"), now) if live else None
    return (f"train:{run['key']}",
            (f"train {run.get('name', '?')} ({run.get('config', '?')})",
             Text(state, style=STATE_STYLE.get(state, "")), progress,
             fmt_eta(eta) if live and eta is not None else "-", detail))


class JobsScreen(Screen[None]):
    BINDINGS = [
        Binding("escape,J", "close", "Back"),
        Binding("a", "add_to_library", "Add batch to library"),
        Binding("s", "start_batch", "Start a batch (plan file)"),
        Binding("t", "start_training", "Train a melody model (MIDI folder)"),
        Binding("x", "stop_batch", "Stop the batch or training run"),
        Binding("i", "install_model", "Install the trained model"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.runs_by_key: dict[str, dict[str, Any]] = {}

    @property
    def mag(self) -> "MagstationApp":
        from tui.app import MagstationApp
        assert isinstance(self.app, MagstationApp)
        return self.app

    def compose(self) -> ComposeResult:
        yield Static("[b]Jobs[/b] · engine jobs and batch runs (a batch from `magstation batch "
                     "PLAN` shows here too)", classes="pane-title")
        yield Static("", id="jobs-info")
        table: DataTable[Any] = DataTable(id="jobs-table", cursor_type="row", zebra_stripes=True)
        for label, key in COLUMNS:
            table.add_column(label, key=key)
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self.table.focus()
        self.show_rows()
        self.set_interval(1.0, self.show_rows)  # counts the ETAs down between records

    @property
    def table(self) -> DataTable:
        return self.query_one("#jobs-table", DataTable)

    def show_rows(self) -> None:
        """Draw the app's latest jobs and batches (pushed by the engine)."""
        table = next(iter(self.query("#jobs-table").results(DataTable)), None)
        if table is None:
            return
        now = time.time()
        rows: list[tuple[str, tuple[Any, ...]]] = [(f"job:{j['job']}", job_row(j)) for j in self.mag.jobs]
        self.runs_by_key = {r["key"]: r for r in self.mag.batches if r.get("key")}
        for run in self.runs_by_key.values():
            if run.get("kind") == "train":
                rows.append(train_row(run, now))
            else:
                rows += batch_rows(run, now)
        keep = self.selected_key()
        table.clear()
        for key, cells in rows:
            table.add_row(*cells, key=key)
        if keep is not None and any(k == keep for k, _ in rows):
            table.move_cursor(row=table.get_row_index(keep))
        running = sum(1 for r in self.runs_by_key.values() if r.get("state") == "running")
        info = (f"{counted(len(self.mag.jobs), 'engine job')} · "
                f"{counted(len(self.runs_by_key), 'background run')} ({running} running)")
        if not rows:
            info += (" · nothing yet: s starts a batch from a plan file, t trains a "
                     "melody model on your MIDI files")
        self.query_one("#jobs-info", Static).update(info)

    def selected_key(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        try:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except CellDoesNotExist:  # no row under the cursor
            return None

    def selected_run(self) -> dict[str, Any] | None:
        key = self.selected_key() or ""
        if key.startswith(("batch:", "worker:", "train:")):
            return self.runs_by_key.get(key.split(":")[1])
        return None

    # -- actions ----------------------------------------------------------------------
    async def _run(self, params: Params, failed: str) -> dict[str, Any] | None:
        """The engine's result, or None after saying `failed: why` (kept in Messages)."""
        outcome = await self.mag.engine.run_job(params)
        if isinstance(outcome, Done):
            return outcome.result
        self.mag.notify(f"{failed}: {getattr(outcome, 'message', 'cancelled')}", severity="error",
                        timeout=8, markup=False)
        return None

    def action_close(self) -> None:
        self.dismiss()

    def _need_run(self) -> dict[str, Any] | None:
        run = self.selected_run()
        if run is None:
            self.mag.notify("select a batch or training run first (↑ ↓)", severity="warning")
        return run

    def action_add_to_library(self) -> None:
        run = self._need_run()
        if run is not None and run.get("kind") == "train":
            self.mag.notify("a training run makes a model: i installs it", severity="warning")
        elif run is not None:
            self._add_to_library(run["out"])

    @work(group="jobs-library")
    async def _add_to_library(self, out: str) -> None:
        res = await self._run(api.library.AddBatch(out=out), f"could not add {out} to the library")
        if res is None:
            return
        self.last_added = res
        sets = res.get("sets") or []
        self.mag.notify(f"{res['sounds']} sounds of {Path(out).name} in the library "
                        f"({res['added']} new)" + (f" as #{sets[0]}" if sets else ""), timeout=5)
        if sets:  # show the set in the library pane
            self.mag.post_message(ShowInLibrary(f"#{sets[0]}"))

    def action_start_batch(self) -> None:
        from tui.widgets.prompt import AskText

        def answer(text: str | None) -> None:
            if text and text.strip():
                self._start(str(Path(text.strip()).expanduser().absolute()))
        self.mag.push_screen(AskText("Run a batch plan (full path of the .toml; its [batch] "
                                     "output is where results go):", "",
                                     placeholder="/path/to/plan.toml"), answer)

    @work(group="jobs-start")
    async def _start(self, plan: str) -> None:
        res = await self._run(api.batch.Start(plan=plan), f"could not start {plan}")
        if res is None:
            return
        self.last_started = res
        self.mag.notify(f"batch started (pid {res['pid']}) into {res['out']}; log {res['log']}",
                        timeout=5)

    def action_stop_batch(self) -> None:
        run = self._need_run()
        if run is not None:
            self._stop(run["out"], run.get("kind") == "train")

    @work(group="jobs-stop")
    async def _stop(self, out: str, training: bool) -> None:
        if await self._run(api.train.Stop(out=out) if training else api.batch.Stop(out=out),
                           "could not stop it") is None:
            return
        self.mag.notify(f"stopping the training run into {out}: it saves a checkpoint; t with "
                        "the same folder resumes it" if training
                        else f"stopping the batch into {out}; what finished stays")

    # -- training runs ----------------------------------------------------------------
    def action_start_training(self) -> None:
        """Three prompts: the MIDI folder, the config, the steps; then `train.start`."""
        from tui.widgets.prompt import AskText

        answers: dict[str, str] = {}

        def ask_steps(text: str | None) -> None:
            if text is None:
                return
            answers["config"] = text.strip() or "attention_rnn"
            self.mag.push_screen(AskText("Training steps (a few thousand for a usable model; "
                                         "stop any time, start again to resume):", "2000"),
                                 got_steps)

        def got_steps(text: str | None) -> None:
            if text is None:
                return
            try:
                steps = int(text.strip())
            except ValueError:
                self.mag.notify(f"steps: {text!r} is not a whole number", severity="error")
                return
            self._start_training(answers["data"], answers["config"], steps)

        def ask_config(text: str | None) -> None:
            if not text or not text.strip():
                return
            answers["data"] = str(Path(text.strip()).expanduser().absolute())
            self.mag.push_screen(AskText("Config: attention_rnn, basic_rnn or lookback_rnn:",
                                         "attention_rnn"), ask_steps)

        self.mag.push_screen(AskText("Train a melody model on a folder of MIDI files (full "
                                     "path; subfolders too):", "", placeholder="/path/to/midi",
                                     paths=True), ask_config)

    @work(group="jobs-train")
    async def _start_training(self, data: str, config: str, steps: int) -> None:
        # the engine checks the config and steps and names what is wrong
        start = api.train.Start(data=data, config=config, steps=steps)  # type: ignore[arg-type]
        res = await self._run(start, "could not start training")
        if res is None:
            return
        self.last_started = res
        self.mag.notify(f"training {res['name']} (pid {res['pid']}) into {res['out']}; "
                        f"log {res['log']}", timeout=5)

    def action_install_model(self) -> None:
        from tui.widgets.prompt import AskText

        run = self._need_run()
        if run is None:
            return
        if run.get("kind") != "train" or not run.get("bundle"):
            self.mag.notify("select a training run that has finished (or was stopped) first",
                            severity="warning")
            return

        def answer(text: str | None) -> None:
            if text and text.strip():
                self._install(run["bundle"], text.strip())
        self.mag.push_screen(AskText(f"Install {run['bundle']} as the model named:",
                                     run.get("name") or ""), answer)

    @work(group="jobs-install")
    async def _install(self, bundle: str, name: str) -> None:
        res = await self._run(api.models.Import(path=bundle, name=name), f"could not install {bundle}")
        if res is None:
            return
        self.last_installed = res
        self.mag.notify(f"installed {res['name']}: melody continue --model {res['name']}, or "
                        "choose it in the timeline", timeout=6)
