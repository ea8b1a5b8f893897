"""`magstation batch`: plans of method calls on the fixture checkpoints, run here and on a
real local Ray cluster (2 CPU workers): same bytes, resumable, a killed worker's task
re-run elsewhere, a failing task recorded while the batch goes on."""

from __future__ import annotations

import builtins
import json
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import soundfile as sf

from engine.batch import plan as planmod
from engine.batch.plan import load_plan
from engine.batch.runner import run_plan
from engine.errors import BadRequest

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures"
NSYNTH = FIX / "nsynth" / "ckpt"
GANSYNTH = FIX / "gansynth" / "tiny_ckpt"
DRUMS = FIX / "musicvae" / "cat-drums_2bar_small"
MEL = FIX / "musicvae" / "cat-mel_2bar_big"


def _midi(path: Path, pitch: int) -> None:
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    a = pretty_midi.Instrument(program=0)
    a.notes += [pretty_midi.Note(100, pitch, 0.0, 0.5), pretty_midi.Note(90, pitch + 4, 0.5, 1.0)]
    pm.instruments.append(a)
    pm.write(str(path))


def make_plan(folder: Path, kinds=("nsynth_grid", "gansynth_renders", "drum_bank", "melody_bank"),
              extra: str = "") -> Path:
    """2 tasks of each kind on the fixture checkpoints; paths relative to the plan."""
    g = np.load(FIX / "nsynth" / "goldens.npz")
    (folder / "midi").mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(["pluck", "buzz"]):
        sf.write(folder / f"{name}.wav", g["encode_audio"][i], 16000, subtype="FLOAT")
    _midi(folder / "midi" / "a.mid", 60)
    _midi(folder / "midi" / "b.mid", 64)
    sections = {
        "nsynth_grid": f"""[[nsynth_grid]]
sounds = ["pluck.wav", "buzz.wav"]
pitches = [60, 67]
grid = 2
seconds = 0.064
seed = 3
checkpoint = "{NSYNTH}"
""",
        "gansynth_renders": f"""[[gansynth_renders]]
midi = "midi"
seeds = [5]
checkpoint = "{GANSYNTH}"
""",
        "drum_bank": f"""[[drum_bank]]
temperatures = [0.5, 1.0]
count = 2
seed = 11
checkpoint = "{DRUMS}"
config = "cat-drums_2bar_small"
""",
        "melody_bank": f"""[[melody_bank]]
temperatures = [0.5, 1.0]
count = 2
seed = 12
checkpoint = "{MEL}"
config = "cat-mel_2bar_big"
"""}
    text = '[batch]\nname = "t"\n\n' + "\n".join(sections[k] for k in kinds) + extra
    p = folder / "plan.toml"
    p.write_text(text)
    return p


def outputs(out: Path) -> dict[str, bytes]:
    """Every task output file (not the manifest, not the prepared sources)."""
    return {str(f.relative_to(out)): f.read_bytes() for f in sorted(out.rglob("*"))
            if f.is_file() and f.name != "manifest.json" and f.parts[len(out.parts)] != "sources"}


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """The whole plan run here once: the reference every other run is compared with."""
    folder = tmp_path_factory.mktemp("plan")
    path = make_plan(folder)
    out = folder / "local-out"
    plan = load_plan(path, output=out)
    summary = run_plan(plan, out, quiet=True)
    return path, out, plan, summary


# -- plans ------------------------------------------------------------------------------

def test_generators_expand_to_validated_method_calls(local_run):
    _, out, plan, _ = local_run
    by_method: dict[str, list] = {}
    for t in plan.tasks:
        by_method.setdefault(t.method, []).append(t)
    assert {k: len(v) for k, v in by_method.items()} == {
        "nsynth.synth": 2, "gansynth.render": 2, "drums.sample": 2, "melody.sample": 2}
    grid = by_method["nsynth.synth"][0]
    assert len(grid.params["mixes"]) == 4  # the 2x2 grid in one batched call
    assert [m["xy"] for m in grid.params["mixes"]] == [[0, 0], [1, 0], [0, 1], [1, 1]]
    assert grid.params["names"][3] == "grid_p060_r1_c1"
    # the pitched sources are prepared in the output folder, `seconds` long
    src = sf.read(out / "sources" / "pluck_p067.wav")[0]
    assert src.shape == (1024,)
    assert by_method["drums.sample"][0].then.method == "drums.export"


def test_bad_plans_name_the_task_and_the_fix(tmp_path):
    def plan(text):
        p = tmp_path / "p.toml"
        p.write_text(text)
        return lambda: load_plan(p, output=tmp_path / "o")

    with pytest.raises(BadRequest, match="unknown method 'drums.smaple'"):
        plan('[[task]]\nmethod = "drums.smaple"\n')()
    with pytest.raises(BadRequest, match="task task-1: .*is random; give it a seed"):
        plan('[[task]]\nmethod = "drums.sample"\nparams = { n = 2 }\n')()
    with pytest.raises(BadRequest, match="task x: drums.sample: `temperature` = 9"):
        plan('[[task]]\nid = "x"\nmethod = "drums.sample"\nparams = { seed = 1, temperature = 9 }\n')()
    with pytest.raises(BadRequest, match="audio.play cannot run in a batch"):
        plan('[[task]]\nmethod = "audio.play"\nparams = { path = "a.wav" }\n')()
    with pytest.raises(BadRequest, match="two tasks are called 'a'"):
        plan('[[task]]\nid = "a"\nmethod = "drums.sample"\nparams = { seed = 1 }\n'
             '[[task]]\nid = "a"\nmethod = "drums.sample"\nparams = { seed = 2 }\n')()
    with pytest.raises(BadRequest, match="not a valid TOML plan"):
        plan("[[task]\n")()


def test_plan_writer_round_trips():
    doc = {"batch": {"name": "x", "output": "o"},
           "task": [{"method": "drums.sample", "id": "a\"b",
                     "params": {"seed": 1, "temperature": 0.5, "t": True, "l": [1e-05, 2.0],
                                "s": "é\x7f\n", "d": {"k": "v"}}}]}
    import tomllib
    back = tomllib.loads(planmod.dumps_plan(doc))
    assert back == doc


# -- running here ---------------------------------------------------------------------

def test_local_run_writes_every_task_with_a_manifest(local_run):
    path, out, plan, summary = local_run
    assert summary.ok and summary.done == 8 and summary.skipped == 0
    files = outputs(out)
    assert "grid-p060-00/grid_p060_r0_c0.wav" in files
    assert "render-a-s5/a.wav" in files and "render-b-s5/b.mid" in files
    assert any(f.startswith("drums-t0.5/") and f.endswith(".mid") for f in files)
    assert sum(f.startswith("melody-t1/") for f in files) == 2
    m = json.loads((out / "manifest.json").read_text())
    e = m["tasks"]["grid-p067-00"]
    assert e["status"] == "ok" and e["seed"] == 3 and e["model"] == str(NSYNTH)
    assert e["timings"]["run_s"] > 0 and e["attempts"] == 1
    assert {f["path"] for f in e["files"]} == {f"grid-p067-00/grid_p067_r{r}_c{c}.wav"
                                               for r in (0, 1) for c in (0, 1)}
    assert e["result"]["wavs"][0]["wav_path"] == "grid_p067_r0_c0.wav"  # relative, not /tmp
    assert len(m["tasks"]["drums-t1"]["result"]["patterns"]) == 2


def test_rerun_skips_finished_tasks_and_redoes_changed_ones(local_run, tmp_path):
    path, out, plan, _ = local_run
    assert run_plan(load_plan(path, output=out), out, quiet=True).skipped == 8
    # a damaged output: that task alone runs again, to the same bytes
    target = out / "drums-t0.5"
    before = outputs(out)
    victim = next(target.iterdir())
    victim.write_bytes(b"damaged")
    again = run_plan(load_plan(path, output=out), out, quiet=True)
    assert (again.done, again.skipped) == (1, 7)
    assert outputs(out) == before


def test_a_failing_task_is_recorded_and_the_batch_goes_on(tmp_path):
    extra = ('\n[[task]]\nid = "broken"\nmethod = "gansynth.render"\n'
             f'params = {{ midi = "{tmp_path}/missing.mid", checkpoint = "{GANSYNTH}" }}\n')
    path = make_plan(tmp_path, kinds=("drum_bank",), extra=extra)
    out = tmp_path / "out"
    events = []
    s = run_plan(load_plan(path, output=out), out, quiet=True,
                 on_event=lambda ev, ex: events.append((ev.kind, ev.task_id)))
    assert (s.done, s.failed) == (2, 1) and "missing.mid" in s.failures["broken"]
    assert events.count(("retry", "broken")) == 2 and ("failed", "broken") in events
    e = json.loads((out / "manifest.json").read_text())["tasks"]["broken"]
    assert e["status"] == "failed" and e["attempts"] == 3 and "missing.mid" in e["error"]
    # a re-run tries the failed task again, and only it
    s2 = run_plan(load_plan(path, output=out), out, quiet=True)
    assert (s2.done, s2.skipped, s2.failed) == (0, 2, 1)


def test_ctrl_c_stops_cleanly_and_the_rerun_goes_on(tmp_path):
    path = make_plan(tmp_path, kinds=("drum_bank", "melody_bank"))
    out = tmp_path / "out"

    def stop_after_first(ev, ex):
        if ev.kind == "done":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_plan(load_plan(path, output=out), out, quiet=True, on_event=stop_after_first)
    m = json.loads((out / "manifest.json").read_text())
    assert [e["status"] for e in m["tasks"].values()] == ["ok"]
    assert not [f for f in out.rglob("*") if f.name.startswith(".")]  # no temp files left
    s = run_plan(load_plan(path, output=out), out, quiet=True)
    assert (s.done, s.skipped) == (3, 1)


def test_outputs_never_replace_files_the_batch_did_not_write(tmp_path):
    path = make_plan(tmp_path, kinds=("drum_bank",))
    out = tmp_path / "out"
    run_plan(load_plan(path, output=out), out, quiet=True)
    files = outputs(out)
    # stopped between the files and the manifest: the same bytes are there, it goes on
    (out / "manifest.json").unlink()
    s = run_plan(load_plan(path, output=out), out, quiet=True)
    assert s.done == 2 and outputs(out) == files
    # a file someone else put where a task writes is kept; the task fails, naming it
    (out / "manifest.json").unlink()
    victim = sorted((out / "drums-t1").glob("*.mid"))[0]
    victim.write_bytes(b"mine")
    s = run_plan(load_plan(path, output=out), out, quiet=True, retries=1)
    assert s.failed == 1 and "already exist" in s.failures["drums-t1"]
    assert victim.read_bytes() == b"mine"


def test_cli_writes_a_plan_and_runs_it(tmp_path, capsys, mag_home):
    from engine.batch.runs import read_runs
    from engine.cli import main

    plan = tmp_path / "drums.toml"
    assert main(["batch", "drum-bank", "--temperatures", "0.5", "--count", "3", "--seed", "4",
                 "--checkpoint", str(DRUMS), "--config", "cat-drums_2bar_small",
                 "--plan", str(plan)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert main(["batch", "drum-bank", "--plan", str(plan)]) == 2  # never overwritten
    assert "already exist" in capsys.readouterr().err
    assert main(["batch", str(plan), "--dry-run"]) == 0
    assert "drums-t0.5\tdrums.sample" in capsys.readouterr().out
    assert main(["batch", str(plan), "--quiet"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["done"] == 1 and Path(report["out"]) == tmp_path / "drums-out"
    assert len(list((tmp_path / "drums-out" / "drums-t0.5").glob("*.mid"))) == 3
    [run] = read_runs()  # the record the engine pushes to the TUI's job list
    assert (run["out"], run["state"], run["done"]) == (report["out"], "done", 1)


def test_ray_flag_without_ray_says_how_to_install(tmp_path, monkeypatch, capsys):
    from engine.cli import main

    real = builtins.__import__

    def no_ray(name, *a, **k):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    path = make_plan(tmp_path, kinds=("drum_bank",))
    assert main(["batch", str(path), "--out", str(tmp_path / "o"), "--ray", "auto"]) == 2
    assert "pip install 'magstation[scale]'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


# -- on a real local Ray cluster ---------------------------------------------------------

@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'magstation[scale]'")
    import os
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"TF_CPP_MIN_LOG_LEVEL": "2"}})
    yield ray
    ray.shutdown()


# A hang guard, not a timing: on a busy 2-core machine the cluster's workers import
# TensorFlow, load each model and one is restarted, which took over 300 s beside two CPU hogs.
@pytest.mark.timeout(1800)
def test_ray_run_gives_the_local_bytes_survives_a_killed_worker_and_resumes(
        ray_cluster, local_run, tmp_path):
    path, local_out, _, _ = local_run
    out = tmp_path / "ray-out"
    killed: list[tuple[str, str]] = []

    def kill_a_busy_worker(ev, executor):
        # kill a worker just handed a GANSynth render (seconds of work, so it cannot have
        # finished yet; a worker killed after its result was already made would not die)
        if ev.kind == "start" and ev.task_id.startswith("render-") and not killed:
            killed.append((ev.worker, ev.task_id))
            executor.kill(ev.worker)

    events = []
    s = run_plan(load_plan(path, output=out), out, ray="auto", quiet=True,
                 on_event=lambda ev, ex: (events.append((ev.kind, ev.task_id, ev.worker)),
                                          kill_a_busy_worker(ev, ex)))
    assert s.ok and s.done == 8 and s.workers == 2
    assert outputs(out) == outputs(local_run[1])  # same bytes as the run here
    assert killed, "no GANSynth render was started"
    worker, task_id = killed[0]
    assert ("died", task_id, worker) in events
    finals = [e for e in events if e[0] == "done" and e[1] == task_id]
    assert finals and finals[0][2] != worker  # re-run on the other worker
    m = json.loads((out / "manifest.json").read_text())
    assert m["tasks"][task_id]["attempts"] == 2
    # the manifest records where the re-run ran (how the other tasks spread over the two
    # workers depends on how fast Ray brings the killed one back, so it is not asserted)
    assert m["tasks"][task_id]["timings"]["worker"] == finals[0][2]
    # a re-run does nothing
    again = run_plan(load_plan(path, output=out), out, ray="auto", quiet=True)
    assert (again.done, again.skipped) == (0, 8)


def test_stopping_a_run_that_is_not_there_says_which(mag_home, tmp_path):
    from engine.local import run_method
    with pytest.raises(BadRequest, match=f"no batch is running into {tmp_path}"):
        run_method("batch.stop", {"out": str(tmp_path)}, quiet=True)
    with pytest.raises(BadRequest, match=f"no training run is running into {tmp_path}"):
        run_method("train.stop", {"out": str(tmp_path)}, quiet=True)
