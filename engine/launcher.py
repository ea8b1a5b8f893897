"""Start the engine process on demand and find it again. No TensorFlow here."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from engine import paths


def engine_answers(path: Path) -> bool:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(0.5)
    try:
        s.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        s.close()


def spawn_engine(path: Path, log_file: Path | None = None) -> subprocess.Popen[bytes]:
    """Start `python -m engine --socket PATH` in its own session (it outlives a TUI crash).

    Its output goes to a log file, never to the terminal the TUI draws on.
    """
    paths.ensure_dir(path.parent)
    log_file = log_file or paths.home() / "engine.log"
    paths.ensure_dir(log_file.parent)
    fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC,
                 paths.PRIVATE_FILE_MODE)
    if paths.is_private(log_file):
        os.fchmod(fd, paths.PRIVATE_FILE_MODE)  # the log may hold paths and errors
    log = os.fdopen(fd, "ab")
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    root = str(paths.PROJECT_ROOT)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    try:
        from engine.config import engine_args, load_engine_config

        extra = engine_args(load_engine_config())  # TCP for listeners, kept across restarts
        return subprocess.Popen([sys.executable, "-m", "engine", "--socket", str(path), *extra],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                                start_new_session=True, cwd=root)
    finally:
        log.close()


def ensure_engine(path: Path | None = None, timeout: float = 30.0) -> subprocess.Popen[bytes] | None:
    """Make sure an engine answers on `path`; returns the process if this call started it."""
    path = path or paths.default_socket_path()
    if engine_answers(path):
        return None
    proc = spawn_engine(path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if engine_answers(path):
            return proc
        if proc.poll() is not None:
            raise RuntimeError(f"the engine exited with code {proc.returncode} at start; "
                               f"see {paths.home() / 'engine.log'}")
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"the engine did not answer on {path} within {timeout:.0f} s; "
                       f"see {paths.home() / 'engine.log'}")
