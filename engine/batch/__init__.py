"""Batches of engine method calls: plans (TOML), generators for the common shapes, a
local runner and a Ray runner that give the same bytes for the same tasks and seeds.

- plan.py: a TOML plan -> typed tasks, each validated against engine/api declarations.
- generators.py: nsynth-grid, gansynth-renders, drum-bank, melody-bank -> tasks.
- worker.py: runs one task through the engine's job code and returns its files as bytes.
- manifest.py: the output folder's manifest.json (resume by content hash).
- runner.py: the driver (resume, retries, progress, atomic writes); runner_ray.py: Ray actors.

Nothing here imports TensorFlow or Ray at import time.
"""
