"""A batch plan: a TOML file of engine method calls, and generators that expand to them.

    [batch]
    name = "my-batch"

    [[task]]                      # any job method the engine declares (engine/api/)
    id = "mel-hot"                # optional: default "task-<n>"
    method = "melody.sample"
    params = { n = 4, temperature = 1.2, seed = 7, checkpoint = "ckpt/cat-mel_2bar_big",
               config = "cat-mel_2bar_big" }

    [[nsynth_grid]]               # generators (engine/batch/generators.py)
    sounds = ["a.wav", "b.wav", "c.wav", "d.wav"]
    pitches = [48, 60]
    grid = 3
    seconds = 1.0
    seed = 0

Every task's params are validated against its method's declaration when the plan is
read (`engine.api.validate`), before anything runs. Seeded methods must be given a seed:
a plan is reproducible. Relative paths in generators are relative to the plan file.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from pathlib import Path
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from engine import api
from engine.api.base import Params
from engine.errors import BadRequest

TaskId = Annotated[str, Meta(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$",
                             description="letters, digits, _ . + - (a folder name)")]
# Methods a batch may not call: playback and the library's own index.
_REFUSED_PREFIXES = ("audio.", "library.", "engine.", "batch.", "mix.keep")


class Then(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A second method call on the same worker, fed `take` keys of the first's result
    (e.g. drums.sample's patterns into drums.export)."""
    method: str
    params: dict[str, Any] = {}
    take: list[str] = []


class Task(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One method call of a batch; its files go to <output>/<id>/."""
    id: TaskId
    method: str
    params: dict[str, Any] = {}
    then: Then | None = None

    def model(self) -> str | None:
        p = self.params
        return p.get("model") or p.get("checkpoint") or p.get("config")


class BatchInfo(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str = "batch"
    output: str | None = None  # default output folder (relative to the plan)


class RawTask(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    method: str
    id: TaskId | None = None
    params: dict[str, Any] = {}
    then: Then | None = None


class PlanFile(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The TOML document, as written."""
    batch: BatchInfo = msgspec.field(default_factory=BatchInfo)
    task: list[RawTask] = []
    nsynth_grid: list[dict[str, Any]] = []
    gansynth_renders: list[dict[str, Any]] = []
    drum_bank: list[dict[str, Any]] = []
    melody_bank: list[dict[str, Any]] = []


class Plan(msgspec.Struct, kw_only=True):
    """A plan read and expanded: the tasks in order, ids unique."""
    name: str
    tasks: list[Task]
    path: str | None = None
    output: str | None = None


def read_plan_file(path: str | Path) -> PlanFile:
    p = Path(path).expanduser()
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadRequest(f"{p}: no such plan file; write one with `magstation batch "
                         "nsynth-grid ...` or see docs/batch.md", path=str(p)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise BadRequest(f"{p}: not a valid TOML plan ({e})", path=str(p)) from None
    try:
        return msgspec.convert(raw, PlanFile, strict=True)
    except msgspec.ValidationError as e:
        raise BadRequest(f"{p}: {e}; sections are [batch], [[task]], [[nsynth_grid]], "
                         "[[gansynth_renders]], [[drum_bank]], [[melody_bank]]", path=str(p)) from None


def load_plan(path: str | Path, output: str | Path | None = None) -> Plan:
    """Read, expand (generators) and validate a plan. `output` is the output folder the
    generators may prepare inputs in (the NSynth grid's pitched sources)."""
    p = Path(path).expanduser().resolve()
    doc = read_plan_file(p)
    out = output if output is not None else (
        (p.parent / doc.batch.output) if doc.batch.output else None)
    return expand(doc, base=p.parent, output=Path(out) if out is not None else None,
                  path=str(p))


def expand(doc: PlanFile, *, base: Path, output: Path | None, path: str | None = None) -> Plan:
    from engine.batch import generators

    tasks: list[Task] = []
    for i, t in enumerate(doc.task):
        tasks.append(Task(id=t.id or f"task-{i + 1}", method=t.method, params=dict(t.params),
                          then=t.then))
    for kind, specs in (("nsynth_grid", doc.nsynth_grid), ("gansynth_renders", doc.gansynth_renders),
                        ("drum_bank", doc.drum_bank), ("melody_bank", doc.melody_bank)):
        for spec in specs:
            tasks.extend(generators.expand(kind, spec, base=base, output=output))
    seen: set[str] = set()
    for t in tasks:
        if t.id in seen:
            raise BadRequest(f"two tasks are called {t.id!r}; give each a different id "
                             "(or a different name to each generator)", param="id")
        seen.add(t.id)
        validate_task(t)
    return Plan(name=doc.batch.name, tasks=tasks, path=path,
                output=str(output) if output is not None else None)


def validate_task(task: Task) -> Params:
    """The task's typed params, or BadRequest naming the task."""
    decl = api.DECLARED.get(task.method)
    if decl is None:
        raise BadRequest(f"task {task.id}: unknown method {task.method!r}; `magstation methods` "
                         "lists them", param="method")
    if not decl.job or decl.server or task.method.startswith(_REFUSED_PREFIXES) \
            or "audition" in task.method:
        raise BadRequest(f"task {task.id}: {task.method} cannot run in a batch (only model and "
                         "file jobs can; playback and the library stay with the engine)",
                         param="method")
    if "folder" in task.params:
        raise BadRequest(f"task {task.id}: leave out `folder`: a batch writes each task's "
                         "files into <output>/<task id>/", param="folder")
    try:
        typed = api.validate(decl, task.params)
    except BadRequest as e:
        raise BadRequest(f"task {task.id}: {e.message}", param=e.details.get("param")) from None
    if decl.seeded and getattr(typed, "seed", None) is None:
        raise BadRequest(f"task {task.id}: {task.method} is random; give it a seed so the batch "
                         "is reproducible (and resumable)", param="seed")
    if task.then is not None:
        then_decl = api.DECLARED.get(task.then.method)
        if then_decl is None or not then_decl.job or then_decl.server:
            raise BadRequest(f"task {task.id}: then.method {task.then.method!r} is not a job "
                             "method", param="then")
    return typed


# -- content hash ----------------------------------------------------------------------

def _input_files(v: Any) -> list[str]:
    """Strings in params that name existing files (their content is part of the hash)."""
    out: list[str] = []
    stack = [v]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
        elif isinstance(x, str) and 0 < len(x) < 4096 and ("/" in x or "." in x):
            p = Path(x).expanduser()
            try:
                if p.is_file():
                    out.append(str(p))
                elif p.is_dir():  # a checkpoint folder: names and sizes, not content
                    out.append(str(p))
            except OSError:
                pass
    return sorted(set(out))


_FILE_HASHES: dict[tuple[str, int, int], str] = {}


def file_digest(path: str | Path) -> str:
    p = Path(path)
    st = p.stat()
    if p.is_dir():
        h = hashlib.sha256()
        for f in sorted(p.rglob("*")):
            if f.is_file():
                h.update(f"{f.relative_to(p)}\0{f.stat().st_size}\0".encode())
        return h.hexdigest()
    key = (str(p), st.st_size, st.st_mtime_ns)
    if key not in _FILE_HASHES:
        h = hashlib.sha256()
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        _FILE_HASHES[key] = h.hexdigest()
    return _FILE_HASHES[key]


def task_hash(task: Task) -> str:
    """sha256 of method, params, follow-on call and the content of the input files: the
    same hash means the same outputs, so a finished task with it is skipped."""
    body = {"method": task.method, "params": task.params,
            "then": msgspec.to_builtins(task.then) if task.then else None}
    inputs = {f: file_digest(f) for f in _input_files(body)}
    blob = json.dumps({"call": body, "inputs": inputs}, sort_keys=True, ensure_ascii=True,
                      default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


# -- writing plans (a tiny TOML writer for the shapes plans use) -------------------------

def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"cannot write {v} in a plan")
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()
                                if x is not None) + " }"
    raise TypeError(f"cannot write {type(v).__name__} in a plan")


def _toml_key(k: str) -> str:
    return k if k and all(c.isalnum() or c in "_-" for c in k) else json.dumps(k)


def dumps_plan(doc: dict[str, Any]) -> str:
    """TOML text for {"batch": {...}, "<section>": [{...}, ...]}; None values are left out."""
    lines = ["# magstation batch plan: run it with `magstation batch THIS_FILE`", ""]
    for section, body in doc.items():
        if isinstance(body, dict):
            lines.append(f"[{section}]")
            lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in body.items() if v is not None]
            lines.append("")
        else:
            for item in body:
                lines.append(f"[[{section}]]")
                lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in item.items()
                          if v is not None]
                lines.append("")
    return "\n".join(lines)


def write_plan(path: str | Path, doc: dict[str, Any], *, overwrite: bool = False) -> Path:
    from engine.fsutil import atomic_write_text
    from engine.pathpolicy import output_path

    text = dumps_plan(doc)
    tomllib.loads(text)  # never write a plan that does not read back
    target = output_path(Path(path).expanduser(), overwrite=overwrite, what="plan")
    return atomic_write_text(target, text)
