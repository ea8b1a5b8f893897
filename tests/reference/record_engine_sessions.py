"""Record the real engine's replies for the scripted sessions of tests/recorded_scenarios.py
into tests/fixtures/recorded/NAME.jsonl (see tests/recorded_link.py). Re-run after a
protocol or pane change that alters what the panes ask for:

    python -m tests.reference.record_engine_sessions [NAME ...]

Each session starts its own engine (the TUI's usual autostart) in a fresh temp home and
stops it afterwards.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["MAGSTATION_PLAYBACK"] = "null"
os.environ["MAGSTATION_WARM"] = "0"


async def record(name: str) -> Path:
    import tui.engine_link
    from tests.recorded_link import RECORDINGS, RecordingClient, write_recording
    from tests.recorded_scenarios import SCENARIOS
    from tui.app import MagstationApp

    scenario = SCENARIOS[name]
    home = Path(tempfile.mkdtemp(prefix="msrec", dir="/tmp"))
    os.environ["MAGSTATION_HOME"] = str(home)
    scenario.prepare(home)
    log: list[dict] = []
    RecordingClient.log = log
    tui.engine_link.EngineClient = RecordingClient  # the app's link records what it hears
    app = MagstationApp()
    try:
        async with app.run_test(size=scenario.size) as pilot:
            await scenario.run(pilot)
            await pilot.pause()
        out = RECORDINGS / f"{name}.jsonl"
        write_recording(out, log, home)
        return out
    finally:
        if app.engine.pid:
            try:
                os.kill(app.engine.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        shutil.rmtree(home, ignore_errors=True)


def main(argv: list[str]) -> None:
    from tests.recorded_scenarios import SCENARIOS
    for name in argv or list(SCENARIOS):
        print(asyncio.run(record(name)))


if __name__ == "__main__":
    main(sys.argv[1:])
