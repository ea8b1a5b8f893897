"""Engine diagnostics that are useful to users and make the job machinery observable."""

from __future__ import annotations

import time

from engine.api import system as api
from engine.context import JobContext
from engine.methods import method


@method("engine.sleep")
def sleep(params: api.Sleep, ctx: JobContext) -> dict:
    """Wait `seconds` (0-600) in `steps` steps with progress: a harmless job for checking
    that progress, ETA and cancellation reach your client."""
    seconds, steps = params.seconds, params.steps
    for i in range(steps):
        ctx.check_cancelled()
        time.sleep(seconds / steps)
        ctx.progress(i + 1, steps, f"step {i + 1}/{steps}")
    return {"slept_s": seconds, "steps": steps}


@method("engine.warm")
def warm(params: api.Warm, ctx: JobContext) -> dict:
    from engine.api.drums import Sample
    from engine.errors import ModelNotInstalled
    from engine.handlers import drums

    started = time.monotonic()
    ctx.progress(0, 1, "warming the drum model")
    try:  # the same call as the user's first `s`: loads, then traces the sampling loop
        result = drums.sample(Sample(n=1, seed=0), ctx)
    except ModelNotInstalled as e:
        return {"warmed": None, "reason": e.message}
    ctx.progress(1, 1, "ready")
    return {"warmed": result["model"], "seconds": round(time.monotonic() - started, 3)}


@method("engine.tf_info")
def tf_info(params: api.TfInfo, ctx: JobContext) -> dict:
    """Load TensorFlow in the engine and report its version and devices (GPU check)."""
    ctx.progress(0, 2, "importing TensorFlow")
    import tensorflow as tf

    ctx.progress(1, 2, "running a matmul")
    x = tf.random.stateless_normal((256, 256), seed=(1, 2))
    checksum = float(tf.reduce_sum(tf.matmul(x, x)))
    devices = [d.name for d in tf.config.list_logical_devices()]
    ctx.progress(2, 2, "done")
    return {"tensorflow": tf.__version__, "devices": devices,
            "gpu": any("GPU" in d for d in devices), "checksum": checksum}


@method("engine.models_loaded")
def models_loaded(params: api.ModelsLoaded, ctx: JobContext) -> dict:
    """Budget and used bytes, the loaded models (most recent first) and the last evicted."""
    from engine.model_pool import POOL

    return POOL.status()
