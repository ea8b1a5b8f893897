"""The output folder's manifest.json: one entry per task (method, params, content hash,
seed, model, status, attempts, error, files with their sha256, result, timings).

Written atomically after every task, so a batch stopped at any point (Ctrl-C, a dead
machine) resumes from what the manifest says is finished: a task is skipped when its
entry is ok, its hash is the task's hash and every file it lists is there with that
content.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from engine.errors import BadRequest
from engine.fsutil import atomic_write_text

NAME = "manifest.json"
FORMAT = "magstation-batch/1"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Manifest:
    def __init__(self, out: Path, plan: str | None = None, name: str = "batch") -> None:
        self.out = out
        self.path = out / NAME
        self.tasks: dict[str, dict[str, Any]] = {}
        self.info: dict[str, Any] = {"format": FORMAT, "name": name, "plan": plan}
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                raise BadRequest(f"{self.path}: unreadable manifest ({e}); move it away to start "
                                 "the batch again", path=str(self.path)) from None
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                raise BadRequest(f"{self.path} is not a magstation batch manifest; choose another "
                                 "output folder", path=str(self.path))
            self.tasks = dict(data.get("tasks") or {})
            self.info.update({k: v for k, v in data.items() if k not in ("tasks", "plan", "name")})

    def finished(self, task_id: str, task_hash: str) -> bool:
        e = self.tasks.get(task_id)
        if not e or e.get("status") != "ok" or e.get("hash") != task_hash:
            return False
        for f in e.get("files", []):
            p = self.out / f["path"]
            try:
                if p.stat().st_size != f["bytes"] or sha256(p.read_bytes()) != f["sha256"]:
                    return False
            except OSError:
                return False
        return True

    def previous_files(self, task_id: str) -> set[str]:
        return {f["path"] for f in self.tasks.get(task_id, {}).get("files", [])}

    def record(self, task_id: str, entry: dict[str, Any]) -> None:
        self.tasks[task_id] = entry
        self.save()

    def save(self) -> None:
        body = {**self.info, "updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "tasks": self.tasks}
        atomic_write_text(self.path, json.dumps(body, indent=1, sort_keys=False) + "\n")
