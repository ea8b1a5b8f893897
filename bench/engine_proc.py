"""A real engine process for the TUI and listener benchmarks: started by pid, stopped by
that pid only, with its own MAGSTATION_HOME (a short temp path: socket length limit)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, die_with_parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EngineProcess:
    def __init__(self, *extra: str) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="msb", dir="/tmp"))
        self.socket = self.home / "engine.sock"
        env = {**os.environ, "MAGSTATION_HOME": str(self.home), "PYTHONPATH": str(ROOT),
               "MAGSTATION_PLAYBACK": "null", "TF_CPP_MIN_LOG_LEVEL": "2"}
        self.log = open(self.home / "engine.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "engine", "--socket", str(self.socket), "--playback", "null",
             *extra], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=die_with_parent)
        try:
            self._wait()
        except BaseException:  # also SystemExit from a SIGTERM handler: stop it, drop the home
            self.close()
            raise

    def _wait(self, timeout: float = 60.0) -> None:
        from engine.launcher import engine_answers
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if engine_answers(self.socket):
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"engine exited with {self.proc.returncode}: "
                                   f"{(self.home / 'engine.log').read_text()[-2000:]}")
            time.sleep(0.05)
        raise TimeoutError("engine did not start")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> "EngineProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
