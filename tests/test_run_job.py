"""`EngineLink.run_job` against a real engine process: a job ends Done, Cancelled or
Failed (never an exception for what the engine answers), a cancel asked before the
engine accepted the job still cancels it, a request made while the engine restarts
waits for it, and the JobProgress widget follows all of it."""

from __future__ import annotations

import asyncio
import os
import signal

from tests.tui_helpers import wait_until
from engine import api
from tui.app import MagstationApp
from tui.engine_link import Cancelled, Done, Failed, JobControl
from tui.widgets.job_progress import CANCELLED, DONE, FAILED, IDLE, RUNNING, JobProgress

SIZE = (100, 30)


async def test_outcomes_progress_and_cancel(kill_spawned_engines):
    app = MagstationApp()
    async with app.run_test(size=SIZE) as pilot:
        await app.engine.ready()
        bar = JobProgress(cancel_hint="escape")
        await app.screen.mount(bar)
        assert bar.status == IDLE and not bar.display or bar.has_class("-idle")

        # done, with every progress message on the way
        seen: list[dict] = []
        outcome = await app.engine.run_job(api.system.Sleep(seconds=0.05, steps=5), seen.append)
        assert isinstance(outcome, Done) and outcome.params["steps"] == 5
        assert [m["done"] for m in seen][-1] == 5 and all(m["total"] == 5 for m in seen)

        # failed: the engine's message and code, no exception
        outcome = await app.engine.run_job(api.drums.ImportMidi(path=str(kill_spawned_engines / "nope.mid")))
        assert isinstance(outcome, Failed) and "nope.mid" in outcome.message and outcome.code

        # cancelled through the control, while the bar follows it
        control = JobControl()
        bar.start("sleep")
        job = asyncio.ensure_future(app.engine.run_job(
            api.system.Sleep(seconds=60, steps=600), bar.progress, control))
        await wait_until(pilot, lambda: bar.done >= 2)
        assert bar.status == RUNNING and "escape cancels" in str(bar.render())
        assert "%" in str(bar.render()) and "ETA" in str(bar.render())
        await control.cancel()
        outcome = await job
        assert isinstance(outcome, Cancelled)
        bar.finish(outcome)
        assert bar.status == CANCELLED and "cancelled" in str(bar.render())

        # a cancel asked before the engine has even accepted the job
        control = JobControl()
        control.cancel_asked = True
        outcome = await app.engine.run_job(api.system.Sleep(seconds=60, steps=600), None, control)
        assert isinstance(outcome, Cancelled)
        bar.finish(Failed("the file x.wav is empty"))
        assert bar.status == FAILED and "x.wav" in str(bar.render())
        bar.finish(Done({}))
        assert bar.status == DONE and bar.fraction == 1.0


async def test_a_job_asked_for_while_the_engine_restarts_waits_and_runs(kill_spawned_engines):
    app = MagstationApp()
    async with app.run_test(size=SIZE) as pilot:
        await app.engine.ready()
        first = app.engine.pid
        app.engine.history.clear()
        os.kill(first, signal.SIGKILL)
        await wait_until(pilot, lambda: app.engine.state != "ready")
        outcome = await app.engine.run_job(api.system.Ping())
        assert isinstance(outcome, Done) and outcome.result["pong"]
        assert app.engine.pid != first and app.engine.restarts == 1
