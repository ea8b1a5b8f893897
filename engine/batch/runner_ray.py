"""Batch tasks on a Ray cluster: one actor per GPU (or per N CPUs), each a long-lived
process that keeps the models it loaded, running tasks with the same job code as a
local run (engine.batch.worker.execute), so the same task and seed give the same bytes.

An actor that dies (a killed process, a lost node) is restarted by Ray
(`max_restarts`); the driver re-runs the task it held on another actor. Ray is optional:
`pip install 'magstation[scale]'`.
"""

from __future__ import annotations

import os
from typing import Any

from engine.batch.runner import Outcome
from engine.batch.plan import Task
from engine.errors import BadRequest

INSTALL = ("Ray is not installed here: `pip install 'magstation[scale]'` (or `pip install "
           "ray`) on every machine of the cluster, then start it (docs/batch.md)")
MAX_RESTARTS = 3


def import_ray():
    try:
        import ray
    except ImportError:
        raise BadRequest(f"--ray needs Ray. {INSTALL}") from None
    return ray


def connect(address: str, *, num_cpus: int | None = None) -> bool:
    """Join the cluster at `address` ("auto": the one `ray start` made on this machine,
    else a new local one). True when this call started Ray (and should shut it down)."""
    ray = import_ray()
    if ray.is_initialized():
        return False
    env = {"TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    if os.environ.get("MAGSTATION_HOME"):
        env["MAGSTATION_HOME"] = os.environ["MAGSTATION_HOME"]
    runtime_env = {"env_vars": env}
    if address == "auto":
        try:
            ray.init(address="auto", runtime_env=runtime_env, log_to_driver=False)
            return True
        except ConnectionError:
            ray.init(num_cpus=num_cpus, runtime_env=runtime_env, log_to_driver=False,
                     include_dashboard=False)
            return True
    try:
        ray.init(address=address, runtime_env=runtime_env, log_to_driver=False)
    except ConnectionError as e:
        raise BadRequest(f"no Ray cluster answers at {address} ({e}); start one with "
                         "`ray start --head` (docs/batch.md)") from None
    return True


def _actor_class(ray):
    @ray.remote(max_restarts=MAX_RESTARTS, max_task_retries=0)
    class BatchWorker:
        """A worker process holding its models (in the engine's handler modules)."""

        def __init__(self) -> None:
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
            from engine import methods
            methods.load_handlers()
            self.tasks = 0

        def info(self) -> dict[str, Any]:
            import socket
            return {"pid": os.getpid(), "host": socket.gethostname(),
                    "gpus": [str(g) for g in ray.get_gpu_ids()], "tasks": self.tasks}

        def run(self, task: dict[str, Any]) -> dict[str, Any]:
            from engine.batch.worker import execute
            self.tasks += 1
            return execute(task)

    return BatchWorker


class RayExecutor:
    """One task in flight per actor; `free`, `submit`, `wait` as the driver wants them."""

    def __init__(self, address: str, *, workers: int | None = None,
                 cpus_per_worker: float = 1.0, gpus_per_worker: float | None = None) -> None:
        self.ray = ray = import_ray()
        self.owns_ray = connect(address)
        res = ray.cluster_resources()
        gpus = int(res.get("GPU", 0))
        if gpus_per_worker is None:
            gpus_per_worker = 1.0 if gpus else 0.0
        if workers is None:
            workers = (int(gpus / gpus_per_worker) if gpus_per_worker
                       else max(1, int(res.get("CPU", 1) // cpus_per_worker)))
        cls = _actor_class(ray)
        opts: dict[str, Any] = {"num_cpus": cpus_per_worker}
        if gpus_per_worker:
            opts["num_gpus"] = gpus_per_worker
        self.names = [f"w{i}" for i in range(workers)]
        self.actors = {n: cls.options(**opts).remote() for n in self.names}
        # worker -> (ref, task id); task id None: a probe of a worker Ray is restarting
        self.in_flight: dict[str, tuple[Any, str | None]] = {}
        self._probes: dict[str, int] = {}  # failed probes of a restarting worker
        # fail early (no such resources, an import error on the nodes) instead of hanging
        ray.get([a.info.remote() for a in self.actors.values()], timeout=600)

    def free(self, avoid: set[str] | None = None) -> str | None:
        """An idle worker for a task, never one it died on while another worker could
        take it: that one may be busy now, and the task waits for it."""
        idle = [n for n in self.names if n not in self.in_flight]
        preferred = [n for n in idle if not avoid or n not in avoid]
        if preferred:
            return preferred[0]
        if avoid and any(n not in avoid for n in self.names):
            return None
        return idle[0] if idle else None

    def busy(self) -> bool:
        return bool(self.in_flight)

    def submit(self, task: Task, worker: str) -> None:
        import msgspec

        ref = self.actors[worker].run.remote(msgspec.to_builtins(task))
        self.in_flight[worker] = (ref, task.id)

    def wait(self, timeout: float = 1.0) -> list[Outcome]:
        ray = self.ray
        refs = {ref: w for w, (ref, _) in self.in_flight.items()}
        ready, _ = ray.wait(list(refs), num_returns=1, timeout=timeout)
        outcomes = []
        died = (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError,
                ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError)
        for ref in ready:
            w = refs[ref]
            _, task_id = self.in_flight.pop(w)
            if task_id is None:  # a restarting worker answered its probe, or failed it
                try:
                    ray.get(ref)
                    self._probes.pop(w, None)
                except ray.exceptions.ActorUnavailableError:
                    self._probe(w, failed=False)  # still coming back up
                except died:
                    self._probe(w)
                continue
            try:
                out = ray.get(ref)
            except died as e:
                outcomes.append(Outcome(task_id, w, "died", error=f"worker {w} died: {type(e).__name__}"))
                self._probe(w)  # no task goes to it until Ray has it back up
                continue
            except ray.exceptions.RayTaskError as e:
                outcomes.append(Outcome(task_id, w, "error", error=str(e).strip().splitlines()[-1]))
                continue
            outcomes.append(Outcome(task_id, w, "ok" if out["ok"] else "error", out,
                                    out.get("error", "")))
        return outcomes

    def _probe(self, worker: str, failed: bool = True) -> None:
        """Ask a dead worker for its info: it takes tasks again once Ray has restarted it;
        one that keeps dying is given up."""
        n = self._probes[worker] = self._probes.get(worker, 0) + int(failed)
        if n > MAX_RESTARTS + 1:
            self.names.remove(worker)
            return
        self.in_flight[worker] = (self.actors[worker].info.remote(), None)

    def kill(self, worker: str, restart: bool = True) -> None:
        """Kill a worker's process (tests, and a user's `ray kill`): Ray restarts it."""
        self.ray.kill(self.actors[worker], no_restart=not restart)

    def close(self, interrupted: bool = False) -> None:
        for a in self.actors.values():
            try:
                self.ray.kill(a, no_restart=True)
            except Exception:
                pass
        if self.owns_ray:
            self.ray.shutdown()
