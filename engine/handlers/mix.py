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

import msgspec

from engine.api import mix as api
from engine.api import nsynth as nsynth_api
from engine.context import JobContext
from engine.errors import BadInput
from engine.methods import method
from engine.pathpolicy import check_name, readable_file
from engine.store import get_store

RENDER_METHOD = "nsynth.synth"
MAX_PLOT_COLUMNS = 64
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


@method("mix.encode")
def encode(params: api.Encode, ctx: JobContext) -> dict:
    import numpy as np

    from engine.handlers import nsynth

    columns = params.columns
    result = nsynth.encode(nsynth_api.Encode(sounds=params.sounds, checkpoint=params.checkpoint), ctx)
    for item in result["encodings"]:
        enc = np.load(item["npy_path"], allow_pickle=False)
        item["plot"] = plot_columns(enc, columns)
        item["seconds"] = enc.shape[0] * 512 / 16000
    return result


def _clean_recipe(recipe: api.Recipe) -> dict[str, Any]:
    """The recipe as stored and hashed: its set fields only."""
    return {k: v for k, v in msgspec.structs.asdict(recipe).items() if v is not None}


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


@method("mix.keep")
def keep(params: api.Keep, ctx: JobContext) -> dict:
    """Save the rendered WAV at `wav_path` into your library as `name` (tagged nsynth,
    mix) with its `recipe`, so `mix.recipes` can list it and it can be rendered again."""
    from engine import library
    from engine.audio.io import read_audio

    wav = params.wav_path
    if not os.path.lexists(wav):
        raise BadInput(f"{wav}: the render is gone (job folders are cleaned up); render the "
                       "mix again and keep it then", path=wav)
    wav_p = readable_file(wav, "wav_path", expect="the rendered WAV")  # never a FIFO/device
    recipe = _clean_recipe(params.recipe)
    name = params.name
    check_name(name, "name")  # kept in your library folder, never elsewhere
    samples, rate = read_audio(wav_p, what="wav_path")
    store = get_store()
    sound = library.keep_sound(store, samples, rate, name, tags=KEEP_TAGS)
    key = recipe_key(recipe)
    store.put_render(key, RENDER_METHOD, recipe, sound.path, model=recipe.get("model"), rate=rate)
    partial = params.partial
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


@method("mix.recipes")
def recipes(params: api.Recipes, ctx: JobContext) -> dict:
    return {"recipes": kept_recipes(params.limit)}


@method("mix.recipe")
def recipe(params: api.RecipeOf, ctx: JobContext) -> dict:
    p = str(Path(params.path).expanduser())
    row = get_store().db.execute(
        "SELECT * FROM renders WHERE method = ? AND path = ? ORDER BY created DESC LIMIT 1",
        (RENDER_METHOD, p)).fetchone()
    if row is None:
        raise BadInput(f"{p} has no mix recipe: only sounds kept from the mix pane (k) have "
                       "one", path=p)
    kept = _kept({**dict(row), "params": json.loads(row["params"])})
    return {**kept, "synth_params": synth_params(kept["recipe"], Path(p).stem)}

