"""Run a measuring script under several CPU kernel settings and collect the numbers.

usage (from the repository root):
    python tests/reference/measure_spread.py native  OUT.json [FAMILY ...]
    python tests/reference/measure_spread.py magenta OUT.json [FAMILY ...]

`native` runs tests/reference/measure_native.py with this Python (the product venv):
the native engine's max error against the goldens. `magenta` runs
tests/reference/recompute_goldens.py with the reference env's Python ($MAGENTA_PY,
default /work/.venv-magenta/bin/python): Magenta's own graph, reloaded from the
committed fixtures, against the goldens. Each setting runs in its own process (oneDNN and
XLA read these variables once, at start):

    default                     whatever this CPU picks (AVX-512 on the dev machine)
    ONEDNN_MAX_CPU_ISA=AVX2     an AVX2+FMA machine (e.g. an EPYC without AVX-512)
    ONEDNN_MAX_CPU_ISA=AVX
    ONEDNN_MAX_CPU_ISA=SSE41
    TF_ENABLE_ONEDNN_OPTS=0     Eigen's kernels instead of oneDNN's

OUT.json: {"settings": [...], "values": {quantity: {setting: value}}, "max": {quantity:
max over settings}}. The spreads stored beside the goldens (tests/fixtures/*/spread.json)
were made with this script; the numbers in the tests' tolerance comments come from them.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SETTINGS = {
    "default": {},
    "AVX2": {"ONEDNN_MAX_CPU_ISA": "AVX2"},
    "AVX": {"ONEDNN_MAX_CPU_ISA": "AVX"},
    "SSE41": {"ONEDNN_MAX_CPU_ISA": "SSE41"},
    "onednn_off": {"TF_ENABLE_ONEDNN_OPTS": "0"},
}
SCRUB = ("ONEDNN_MAX_CPU_ISA", "TF_ENABLE_ONEDNN_OPTS", "DNNL_MAX_CPU_ISA")


def env_for(setting: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUB}
    env.update(SETTINGS[setting])
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def run(side: str, families: list[str]) -> dict:
    if side == "native":
        cmd = [sys.executable, str(HERE / "measure_native.py")]
    else:
        cmd = [os.environ.get("MAGENTA_PY", "/work/.venv-magenta/bin/python"),
               str(HERE / "recompute_goldens.py")]
    values: dict[str, dict[str, float]] = {}
    for setting in SETTINGS:
        print(f"{side}: {setting} ...", file=sys.stderr, flush=True)
        p = subprocess.run(cmd + families, env=env_for(setting), cwd=ROOT,
                           capture_output=True, text=True, check=False)
        if p.returncode:
            sys.stderr.write(p.stderr[-4000:])
            raise SystemExit(f"{setting}: exit {p.returncode}")
        for k, v in json.loads(p.stdout.strip().splitlines()[-1]).items():
            values.setdefault(k, {})[setting] = v
    return {"settings": list(SETTINGS), "values": values,
            "max": {k: max(v.values()) for k, v in values.items()}}


if __name__ == "__main__":
    side, out, *fams = sys.argv[1:]
    res = run(side, fams)
    Path(out).write_text(json.dumps(res, indent=1))
    for k, v in res["values"].items():
        print(f"{k:58s} " + " ".join(f"{v.get(s, float('nan')):9.2e}" for s in SETTINGS))
