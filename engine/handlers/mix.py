"""Latent-mix jobs for the mix pane, on top of the nsynth.* jobs.

- `mix.encode`: nsynth.encode plus a small picture of each encoding for the pane to draw.
- `mix.keep`: save a rendered mix into the user's library with its *recipe* (sources,
  weights or XY point, stretch, seed, model), so it can be rendered again.
- `mix.recipe` / `mix.recipes`: the recipe kept with one sound / every kept mix.

A recipe is the mix spec of nsynth.synth (`sources`, `weights` | `xy`, `stretch`) plus
`seed`, `model` (a checkpoint name) and, for a custom checkpoint, `checkpoint` (a path).
Kept recipes live in the store's `renders` table (key: the recipe's content hash, path:
the kept sound) and every keep is also a `history` entry.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from engine.context import JobContext
from engine.errors import BadInput, BadRequest
from engine.methods import method
from engine.pathpolicy import check_name, readable_file
from engine.store import get_store

RENDER_METHOD = "nsynth.synth"
MAX_PLOT_COLUMNS = 64
RECIPE_KEYS = ("sources", "weights", "xy", "stretch", "seed", "model", "checkpoint")
KEEP_TAGS = ("nsynth", "mix")


def plot_columns(enc: Any, columns: int = MAX_PLOT_COLUMNS) -> list[list[float]]:
    """An encoding [frames, 16] averaged into at most `columns` time slices:
    16 rows (one per latent channel) of `min(frames, columns)` values."""
    frames = enc.shape[0]
    cols = max(1, min(frames, columns))
    rows: list[list[float]] = [[] for _ in range(enc.shape[1])]
    for c in range(cols):
        a = c * frames // cols
        b = max(a + 1, (c + 1) * frames // cols)
        mean = enc[a:b].mean(axis=0)
        for ch, v in enumerate(mean):
            rows[ch].append(round(float(v), 4))
    return rows


@method("mix.encode", cacheable=False)
def encode(params: dict, ctx: JobContext) -> dict:
    """nsynth.encode (`sounds`, `checkpoint`) whose results also carry `plot`: each
    encoding as 16 rows × at most `columns` (default 64) time-averaged values."""
    import numpy as np

    from engine.handlers import nsynth

    columns = params.get("columns", MAX_PLOT_COLUMNS)
    if not isinstance(columns, int) or isinstance(columns, bool) or not 1 <= columns <= 1024:
        raise BadRequest(f"columns must be an integer from 1 to 1024, got {columns!r}")
    result = nsynth.encode(params, ctx)
    for item in result["encodings"]:
        enc = np.load(item["npy_path"], allow_pickle=False)
        item["plot"] = plot_columns(enc, columns)
        item["seconds"] = enc.shape[0] * 512 / 16000
    return result


def _clean_recipe(recipe: Any) -> dict[str, Any]:
    if not isinstance(recipe, dict):
        raise BadRequest(f"recipe must be an object with sources, weights|xy, stretch, seed, "
                         f"model; got {recipe!r}")
    sources = recipe.get("sources")
    if not isinstance(sources, list) or not sources or not all(isinstance(s, str) for s in sources):
        raise BadRequest("recipe.sources must be a list of sound paths")
    if not isinstance(recipe.get("seed"), int):
        raise BadRequest(f"recipe.seed must be the integer seed of the render, got {recipe.get('seed')!r}")
    return {k: recipe[k] for k in RECIPE_KEYS if recipe.get(k) is not None}


def recipe_key(recipe: dict[str, Any]) -> str:
    """Content key of a recipe: the same sources, blend, stretch, seed and model give the
    same sound."""
    text = json.dumps({"method": RENDER_METHOD, "recipe": recipe}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def synth_params(recipe: dict[str, Any], name: str = "mix") -> dict[str, Any]:
    """The nsynth.synth params that render a recipe."""
    spec = {k: recipe[k] for k in ("sources", "weights", "xy", "stretch") if recipe.get(k) is not None}
    params: dict[str, Any] = {"mixes": [spec], "seed": recipe["seed"], "names": [name]}
    ref = recipe.get("checkpoint") or recipe.get("model")
    if ref:
        params["checkpoint"] = ref
    return params


@method("mix.keep", cacheable=False, light=True)
def keep(params: dict, ctx: JobContext) -> dict:
    """Save the rendered WAV at `wav_path` into your library as `name` (tagged nsynth,
    mix) with its `recipe`, so `mix.recipes` can list it and it can be rendered again."""
    from engine import library
    from engine.audio.io import read_audio

    wav = params.get("wav_path")
    if not isinstance(wav, str) or not wav:
        raise BadRequest("mix.keep needs `wav_path`: the rendered WAV to keep")
    if not os.path.lexists(wav):
        raise BadInput(f"{wav}: the render is gone (job folders are cleaned up); render the "
                       "mix again and keep it then", path=wav)
    wav_p = readable_file(wav, "wav_path", expect="the rendered WAV")  # never a FIFO/device
    recipe = _clean_recipe(params.get("recipe"))
    name = params.get("name") or "nsynth-mix"
    if not isinstance(name, str):
        raise BadRequest(f"name must be a string, got {name!r}")
    check_name(name, "name")  # kept in your library folder, never elsewhere
    samples, rate = read_audio(wav_p, what="wav_path")
    store = get_store()
    sound = library.keep_sound(store, samples, rate, name, tags=KEEP_TAGS)
    key = recipe_key(recipe)
    store.put_render(key, RENDER_METHOD, recipe, sound.path, model=recipe.get("model"), rate=rate)
    partial = bool(params.get("partial", False))
    store.add_history("mix.keep", recipe, {"path": sound.path, "key": key, "partial": partial,
                                           "seconds": len(samples) / rate},
                      seed=recipe["seed"], model=recipe.get("model"))
    return {"sound": sound.to_dict(), "recipe": recipe, "key": key, "partial": partial}


def _kept(row: dict[str, Any]) -> dict[str, Any]:
    return {"path": row["path"], "recipe": row["params"], "key": row["key"],
            "model": row["model"], "created": row["created"], "exists": Path(row["path"]).is_file()}


def kept_recipes(limit: int = 200) -> list[dict[str, Any]]:
    """Every kept mix, newest first."""
    rows = get_store().db.execute(
        "SELECT * FROM renders WHERE method = ? ORDER BY created DESC LIMIT ?",
        (RENDER_METHOD, int(limit))).fetchall()
    return [_kept({**dict(r), "params": json.loads(r["params"])}) for r in rows]


@method("mix.recipes", job=False, cacheable=False)
def recipes(params: dict, ctx: JobContext) -> dict:
    """The kept mixes (newest first, at most `limit`): path, recipe, model, created,
    whether the file still exists."""
    limit = params.get("limit", 200)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 10_000:
        raise BadRequest(f"limit must be an integer from 1 to 10000, got {limit!r}")
    return {"recipes": kept_recipes(limit)}


@method("mix.recipe", job=False, cacheable=False)
def recipe(params: dict, ctx: JobContext) -> dict:
    """The recipe kept with the library sound at `path`, and the nsynth.synth params that
    render it again (`synth_params`)."""
    path = params.get("path")
    if not isinstance(path, str) or not path:
        raise BadRequest("mix.recipe needs `path`: a sound kept from the mix pane")
    p = str(Path(path).expanduser())
    row = get_store().db.execute(
        "SELECT * FROM renders WHERE method = ? AND path = ? ORDER BY created DESC LIMIT 1",
        (RENDER_METHOD, p)).fetchone()
    if row is None:
        raise BadInput(f"{p} has no mix recipe: only sounds kept from the mix pane (k) have "
                       "one", path=p)
    kept = _kept({**dict(row), "params": json.loads(row["params"])})
    return {**kept, "synth_params": synth_params(kept["recipe"], Path(p).stem)}

