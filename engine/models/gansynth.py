"""GANSynth: native TF2 generator for the official `acoustic_only` / `all_instruments`
checkpoints, and the MIDI-arrangement renderer built on it.

A checkpoint directory holds `experiment.json` and `stage_NNNNN/` folders; the last
stage's latest checkpoint is read by variable name, only the generator's EMA shadows
(what Magenta samples with) and the image counter (which sets the progressive blend).
Sizes (latent, widths, start resolution) come from the checkpoint's shapes; the rest
from experiment.json with Magenta's `set_flags` defaults. See specs/gansynth.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from engine.audio.note_mix import combine_notes
from engine.audio.spectral import SpecShape, melspecgrams_to_waves
from engine.errors import BadInput, CheckpointError, JobCancelled
from engine.memory import release_free_heap, tune_heap
from engine.models.fastconv import upsample_conv2d, upsample_conv_kernel
from engine.music.latent import interpolate_keyframes

MIN_PITCH = 24  # NSynth's lowest pitch: one-hot label = pitch - MIN_PITCH
BLOCK = "Generator/progressive_gan_generator/progressive_gan_block_{}/"
EMA = "/ExponentialMovingAverage"
PER_NOTE_FROM_BLOCK = 5  # blocks 5.. (32x256 and up) run note by note: see GANSynth.__init__

# Magenta `model.set_flags` defaults, used for keys missing from experiment.json.
_FLAG_DEFAULTS: dict = {
    "data_type": "mel", "audio_length": 64000, "sample_rate": 16000,
    "data_normalizer": "specgrams_prespecified_normalizer",
    "mag_normalizer_a": 0.0661371661726, "mag_normalizer_b": 0.113718730221,
    "p_normalizer_a": 0.8, "p_normalizer_b": 0.0,
    "stable_stage_num_images": 32, "transition_stage_num_images": 32,
    "train_progressive": True, "train_time_limit": None,
    "latent_vector_size": 256, "scale_mode": "ALL", "scale_base": 2,
    "num_resolutions": 7, "simple_arch": False, "to_rgb_activation": "tanh",
}

ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class GANSynthConfig:
    latent_size: int
    num_pitches: int
    num_blocks: int  # blocks in the checkpoint (7 for the released models)
    num_resolutions: int
    scale_base: int
    scale_mode: str  # "ALL" (both axes) or "H" (time only)
    start_hw: tuple[int, int]
    to_rgb_activation: str
    normalizer_a: tuple[float, float]  # (magnitude, IF)
    normalizer_b: tuple[float, float]
    progress: float  # progressive-GAN blend position; num_blocks - 1 = last block only
    spec: SpecShape

    @property
    def max_pitch(self) -> int:
        return MIN_PITCH + self.num_pitches - 1


def block_alphas(progress: float, num_blocks: int) -> list[float]:
    """Weight of each block's to_rgb output (Magenta's `_generator_alpha`); sums to 1."""
    return [max(0.0, min(progress - (b - 2), b - progress)) for b in range(1, num_blocks + 1)]


def compute_progress(image_id: int, stable: int, transition: int, num_blocks: int) -> float:
    capped = min(image_id, stable * num_blocks + transition * (num_blocks - 1) - 1)
    stage = stable + transition
    return float(capped // stage) + max(0.0, float(capped % stage - stable) / transition)


OFFICIAL_CONFIGS = ("acoustic_only", "all_instruments")


def expected_variables(config: str = "acoustic_only") -> dict[str, tuple[int, ...]]:
    """Variables (name -> shape) the generator reads from a released checkpoint; both
    released configs share the mel_prog_hires architecture (fmap 4096/256, 2x16 start)."""
    if config not in OFFICIAL_CONFIGS:
        raise BadInput(f"unknown GANSynth config {config!r}; known: {', '.join(OFFICIAL_CONFIGS)}")
    f = [min(4096 // 2 ** b, 256) for b in range(1, 8)]
    out: dict[str, tuple[int, ...]] = {"global_step": ()}
    for b in range(1, 8):
        c_in = 256 + 61 if b == 1 else f[b - 2]
        shapes = {"conv0": (2, 16, c_in, f[b - 1]) if b == 1 else (3, 3, c_in, f[b - 1]),
                  "conv1": (3, 3, f[b - 1], f[b - 1]), "to_rgb": (1, 1, f[b - 1], 2)}
        for layer, shape in shapes.items():
            out[BLOCK.format(b) + layer + "/conv2d/kernel" + EMA] = shape
            out[BLOCK.format(b) + layer + "/bias" + EMA] = shape[-1:]
    return out


# ---------------------------------------------------------------------------
# Checkpoint discovery and reading


def find_checkpoint(ckpt_dir: str | os.PathLike) -> tuple[Path, str]:
    """(checkpoint folder, checkpoint prefix of the last stage's latest step)."""
    root = Path(ckpt_dir).expanduser()
    if not root.is_dir():
        raise CheckpointError(
            f"GANSynth checkpoint folder {root} does not exist; pass the folder that "
            "holds experiment.json and stage_NNNNN/ (the unzipped acoustic_only.zip)",
            path=str(root))
    if not (root / "experiment.json").exists():
        # An unzipped download may hold the checkpoint one folder down (acoustic_only/).
        nested = sorted(p.parent for p in root.glob("*/experiment.json"))
        if len(nested) == 1:
            root = nested[0]
    stages = sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("stage_"))
    if not stages:
        raise CheckpointError(
            f"{root} has no stage_NNNNN/ folder; is it the unzipped GANSynth checkpoint?",
            path=str(root))
    stage = stages[-1]
    # The `checkpoint` index may hold absolute paths from the training machine, so
    # pick the highest-step *.index file present instead of trusting it.
    steps = []
    for idx in stage.glob("*.index"):
        m = re.search(r"-(\d+)\.index$", idx.name)
        steps.append((int(m.group(1)) if m else -1, idx.name[:-len(".index")]))
    if not steps:
        raise CheckpointError(f"{stage} holds no checkpoint (*.index file missing); "
                              "re-download or re-extract the model", path=str(stage))
    return root, str(stage / max(steps)[1])


def _read_flags(root: Path) -> dict:
    path = root / "experiment.json"
    try:
        flags = json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{path} is missing; GANSynth checkpoints ship it next to "
                              "stage_NNNNN/ — re-extract the model zip", path=str(path)) from None
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{path} is not valid JSON ({e}); re-extract the model zip",
                              path=str(path)) from None
    return {**_FLAG_DEFAULTS, **flags}


class _Reader:
    def __init__(self, prefix: str) -> None:
        import tensorflow as tf

        self.prefix = prefix
        try:
            self._r = tf.train.load_checkpoint(prefix)
        except Exception as e:  # noqa: BLE001 - TF raises several types for bad files
            raise CheckpointError(f"cannot read checkpoint {prefix}: {e}; the download may "
                                  "be truncated — delete it and pull the model again",
                                  path=prefix) from None
        self.shapes = self._r.get_variable_to_shape_map()

    def has(self, name: str) -> bool:
        return name in self.shapes

    def require(self, name: str) -> None:
        if name not in self.shapes:
            raise CheckpointError(f"checkpoint {self.prefix} lacks variable {name!r}; it is "
                                  "not a GANSynth checkpoint or it is damaged",
                                  path=self.prefix, variable=name)

    def get(self, name: str) -> np.ndarray:
        self.require(name)
        return self._r.get_tensor(name)


# ---------------------------------------------------------------------------
# The per-note cache


class NoteCache:
    """In-memory LRU of rendered notes keyed by (checkpoint id, z bytes, pitch)."""

    def __init__(self, max_notes: int = 512) -> None:
        self.max_notes = max_notes
        self._d: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(model_id: str, z: np.ndarray, pitch: int) -> str:
        h = hashlib.sha1(model_id.encode())
        h.update(np.ascontiguousarray(z, "<f4").tobytes())
        h.update(int(pitch).to_bytes(2, "little", signed=True))
        return h.hexdigest()

    def get(self, key: str) -> np.ndarray | None:
        with self._lock:
            audio = self._d.get(key)
            if audio is not None:
                self._d.move_to_end(key)
            return audio

    def put(self, key: str, audio: np.ndarray) -> None:
        with self._lock:
            self._d[key] = audio
            self._d.move_to_end(key)
            while len(self._d) > self.max_notes:
                self._d.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._d.clear()

    def __len__(self) -> int:
        return len(self._d)


NOTE_CACHE = NoteCache()


# ---------------------------------------------------------------------------
# The model


class GANSynth:
    """A loaded generator. `generate(z, pitches)` -> `[n, audio_length]` float32 audio."""

    def __init__(self, config: GANSynthConfig, weights: dict[str, np.ndarray], model_id: str,
                 cache: NoteCache | None = None, batch_size: int = 8,
                 jit_compile: bool = False, upsample_conv: bool = True,
                 precision: str = "float32") -> None:
        import tensorflow as tf

        if precision not in ("float32", "bfloat16"):
            raise BadInput(f"precision is float32 or bfloat16, got {precision!r}")

        self.config = config
        # bfloat16 notes differ from float32 ones: keep them apart in the note cache
        self.model_id = model_id if precision == "float32" else f"{model_id}:{precision}"
        self.cache = NOTE_CACHE if cache is None else cache
        self.batch_size = batch_size
        # float32: Magenta's numbers at float32 rounding level. bfloat16 (opt-in): the
        # 3x3 convs take bfloat16 inputs and kernels (AMX / AVX512-BF16 on recent
        # Xeons), everything else stays float32; ~0.4% error per conv.
        self.precision = precision
        self._conv_dtype = tf.bfloat16 if precision == "bfloat16" else tf.float32
        self.generator_calls = 0  # batches run through the network (tests, stats)
        self.notes_generated = 0
        alphas = block_alphas(config.progress, config.num_blocks)
        self._rgb_blocks = [b for b, a in enumerate(alphas, 1) if a > 0]
        self._alphas = {b: alphas[b - 1] for b in self._rgb_blocks}
        # Blocks from `_head_from` on (every to_rgb block among them) run one note at a
        # time: their activations are the big ones (batch 8 at 128x1024x64 would be
        # 268 MB a tensor), and per note they stay in cache at the same speed.
        self._head_from = min(PER_NOTE_FROM_BLOCK, min(self._rgb_blocks))
        # upsample + 3x3 conv as one transposed conv of the small image (fastconv.py);
        # needs the released models' 2x upsampling on both axes.
        self.upsample_conv = upsample_conv and config.scale_base == 2 and \
            config.scale_mode == "ALL"
        w = dict(weights)
        if self.upsample_conv:
            for b in range(2, max(self._rgb_blocks) + 1):
                w[f"{b}/conv0/t"] = upsample_conv_kernel(w.pop(f"{b}/conv0/k"))
        self._w = {k: tf.constant(v, self._conv_dtype if k.endswith(("conv0/k", "conv1/k", "/t"))
                               else tf.float32) for k, v in w.items()}
        z_spec = tf.TensorSpec([None, config.latent_size], tf.float32)
        x_spec = tf.TensorSpec(self._head_input_shape(), tf.float32)
        # jit_compile (XLA) fuses the element-wise pixel norms; worth trying on GPUs
        # (on a CPU it was slower).
        self._trunk_fn = tf.function(self._trunk, jit_compile=jit_compile,
                                     input_signature=[z_spec, tf.TensorSpec([None], tf.int32)])
        self._head_specgrams_fn = tf.function(self._head, jit_compile=jit_compile,
                                              input_signature=[x_spec])
        self._head_waves_fn = tf.function(
            lambda x: melspecgrams_to_waves(self._head(x), config.spec),
            input_signature=[x_spec], jit_compile=jit_compile)

    # -- loading ------------------------------------------------------------

    @classmethod
    def load(cls, ckpt_dir: str | os.PathLike, **kwargs) -> "GANSynth":
        """Read a checkpoint folder (experiment.json + stage_NNNNN/)."""
        tune_heap()  # no-op in the engine (done at start); for in-process users
        root, prefix = find_checkpoint(ckpt_dir)
        flags = _read_flags(root)
        if flags["data_type"] != "mel" or flags["simple_arch"] or \
                flags["to_rgb_activation"] not in ("tanh", "linear"):
            raise CheckpointError(
                f"{root}: data_type={flags['data_type']!r}, simple_arch={flags['simple_arch']}, "
                f"to_rgb_activation={flags['to_rgb_activation']!r} "
                "is not supported (only the mel-IF progressive models acoustic_only / "
                "all_instruments)", path=str(root))
        reader = _Reader(prefix)
        num_blocks = 0
        while reader.has(BLOCK.format(num_blocks + 1) + "conv0/bias" + EMA) or \
                reader.has(BLOCK.format(num_blocks + 1) + "conv0/bias"):
            num_blocks += 1
        k1 = BLOCK.format(1) + "conv0/conv2d/kernel" + EMA
        reader.require(k1)
        kh, kw, c_in, _ = reader.shapes[k1]
        latent = int(flags["latent_vector_size"])
        if c_in <= latent:
            raise CheckpointError(f"{prefix}: first kernel has {c_in} inputs, expected "
                                  f"latent {latent} + pitch one-hot", path=prefix)
        if flags["train_progressive"] and flags["train_time_limit"] is None:
            step = int(reader.get("global_step"))
            progress = compute_progress(step, int(flags["stable_stage_num_images"]),
                                        int(flags["transition_stage_num_images"]), num_blocks)
        else:
            progress = float(num_blocks - 1)
        nres, base = int(flags["num_resolutions"]), int(flags["scale_base"])
        grow_w = flags["scale_mode"] == "ALL"
        frames = kh * base ** (nres - 1)
        bins = kw * (base ** (nres - 1) if grow_w else 1)
        config = GANSynthConfig(
            latent_size=latent, num_pitches=c_in - latent, num_blocks=num_blocks,
            num_resolutions=nres, scale_base=base, scale_mode=flags["scale_mode"],
            start_hw=(kh, kw), to_rgb_activation=flags["to_rgb_activation"],
            normalizer_a=(float(flags["mag_normalizer_a"]), float(flags["p_normalizer_a"])),
            normalizer_b=(float(flags["mag_normalizer_b"]), float(flags["p_normalizer_b"])),
            progress=progress,
            spec=SpecShape(frames, bins, int(flags["audio_length"]), int(flags["sample_rate"])))
        weights = _load_weights(reader, config)
        index = Path(prefix + ".index")
        st = index.stat()
        model_id = f"{index.resolve()}:{st.st_size}:{st.st_mtime_ns}"
        return cls(config, weights, model_id, **kwargs)

    # -- the network --------------------------------------------------------

    def _head_input_shape(self) -> list[int | None]:
        """Shape of the trunk's output (the head's input), batch dimension open."""
        c = self.config
        if self._head_from == 1:
            return [None, 1, 1, c.latent_size + c.num_pitches]
        width = int(self._w[f"{self._head_from - 1}/conv1/b"].shape[0])
        grow = c.scale_base ** (self._head_from - 2)
        h, w = c.start_hw
        return [None, h * grow, w * (grow if c.scale_mode == "ALL" else 1), width]

    def _trunk(self, z, labels):
        """The latent + pitch through blocks 1 .. head_from - 1 (traced, whole batch)."""
        import tensorflow as tf

        x = tf.concat([z, tf.one_hot(labels, self.config.num_pitches)], axis=1)
        x = _pixel_norm(x[:, None, None, :])
        for b in range(1, self._head_from):
            x = self._block(x, b)
        return x

    def _head(self, x):
        """Trunk output -> denormalised `[B, frames, bins, 2]` mel spectrogram + IF."""
        import tensorflow as tf

        c = self.config
        out = None
        for b in range(self._head_from, max(self._rgb_blocks) + 1):
            x = self._block(x, b)
            if b in self._rgb_blocks:
                rgb = self._conv(x, f"{b}/to_rgb/", hidden=False)
                rgb = tf.tanh(rgb) if c.to_rgb_activation == "tanh" else rgb
                rgb = self._upscale(rgb, c.scale_base ** (c.num_resolutions - b)) * self._alphas[b]
                out = rgb if out is None else out + rgb
        a = tf.constant(c.normalizer_a, tf.float32)
        bias = tf.constant(c.normalizer_b, tf.float32)
        return (out - bias) / a

    def _block(self, x, b: int):
        import tensorflow as tf

        if b == 1:  # the 1x1 latent, zero-padded so a VALID conv gives start_hw
            h, wd = self.config.start_hw
            x = tf.pad(x, [[0, 0], [h - 1, h - 1], [wd - 1, wd - 1], [0, 0]])
            x = self._conv(x, "1/conv0/", "VALID")
        elif self.upsample_conv:
            x = self._conv(x, f"{b}/conv0/", upsample=True)
        else:
            x = self._conv(self._upscale(x, self.config.scale_base), f"{b}/conv0/")
        return self._conv(x, f"{b}/conv1/")

    def _conv(self, x, name: str, padding: str = "SAME", hidden: bool = True,
              upsample: bool = False):
        import tensorflow as tf

        w = self._w
        if upsample:
            y = upsample_conv2d(tf.cast(x, self._conv_dtype), w[name + "t"])
        else:
            k = w[name + "k"]
            y = tf.nn.conv2d(tf.cast(x, k.dtype), k, 1, padding)
        y = w[name + "s"] * tf.cast(y, tf.float32) + w[name + "b"]  # Magenta's order
        return _pixel_norm(tf.nn.leaky_relu(y, 0.2)) if hidden else y

    def _upscale(self, x, s: int):
        """Nearest-neighbour upsampling by `s` (time only when scale_mode is "H")."""
        import tensorflow as tf

        if s == 1:
            return x
        sw = s if self.config.scale_mode == "ALL" else 1
        shape = tf.shape(x)
        x = tf.tile(x[:, :, None, :, None, :], [1, 1, s, 1, sw, 1])
        return tf.reshape(x, [shape[0], shape[1] * s, shape[2] * sw, shape[3]])

    def _run(self, z: np.ndarray, labels: np.ndarray, head_fn) -> list[np.ndarray]:
        """Trunk on the whole batch, then the head one note at a time: one array per note."""
        if len(z) == 0:
            return []
        x = self._trunk_fn(z, labels)
        return [head_fn(x[i:i + 1]).numpy()[0] for i in range(len(z))]

    # -- public API ---------------------------------------------------------

    def check_pitches(self, pitches: Sequence[int]) -> np.ndarray:
        p = np.asarray(pitches, np.int64).reshape(-1)
        bad = p[(p < MIN_PITCH) | (p > self.config.max_pitch)]
        if bad.size:
            raise BadInput(f"pitch {int(bad[0])} is outside GANSynth's range "
                           f"{MIN_PITCH}-{self.config.max_pitch}; transpose it "
                           "(fit_pitch_range does it by octaves)", pitch=int(bad[0]))
        return p

    def _check_z(self, z: np.ndarray, n: int) -> np.ndarray:
        z = np.asarray(z, np.float32)
        if z.ndim != 2 or z.shape != (n, self.config.latent_size):
            raise BadInput(f"z must have shape [{n}, {self.config.latent_size}], "
                           f"got {list(z.shape)}")
        return z

    def specgrams(self, z: np.ndarray, pitches: Sequence[int]) -> np.ndarray:
        """The denormalised generator output `[n, frames, bins, 2]` (no cache)."""
        p = self.check_pitches(pitches)
        z = self._check_z(z, len(p))
        c = self.config
        specs = self._run(z, (p - MIN_PITCH).astype(np.int32), self._head_specgrams_fn)
        return np.stack(specs) if specs else np.zeros((0, c.spec.frames, c.spec.bins, 2),
                                                      np.float32)

    def random_instruments(self, n: int, seed: int) -> np.ndarray:
        """`n` random instrument latents `[n, latent]`; the same seed gives the same ones
        (and the same as Magenta after `np.random.seed(seed)`)."""
        return np.random.RandomState(seed).normal(size=(n, self.config.latent_size)) \
            .astype(np.float32)

    def generate(self, z: np.ndarray, pitches: Sequence[int], *, batch_size: int | None = None,
                 progress: ProgressFn | None = None,
                 cancelled: Callable[[], bool] | None = None,
                 use_cache: bool = True) -> np.ndarray:
        """One 4 s note per (z, pitch): `[n, audio_length]` float32.

        Notes already in the cache are not re-rendered; the rest run in batches of
        `batch_size` (any n, no padding). Between batches `progress(done, total)` is
        called (it may raise JobCancelled) and `cancelled()` checked; notes finished
        before a cancel stay cached.
        """
        notes = self.generate_notes(z, pitches, batch_size=batch_size, progress=progress,
                                    cancelled=cancelled, use_cache=use_cache)
        return np.stack(notes) if notes else np.zeros((0, self.config.spec.audio_length),
                                                      np.float32)

    def generate_notes(self, z: np.ndarray, pitches: Sequence[int], *,
                       batch_size: int | None = None, progress: ProgressFn | None = None,
                       cancelled: Callable[[], bool] | None = None,
                       use_cache: bool = True) -> list[np.ndarray]:
        """`generate` as a list of read-only `[audio_length]` arrays, shared with the
        note cache (no second copy of every note: a long arrangement's notes are tens
        of MB)."""
        p = self.check_pitches(pitches)
        z = self._check_z(z, len(p))
        bs = max(1, int(batch_size or self.batch_size))
        out: list[np.ndarray | None] = [None] * len(p)
        keys = [NoteCache.key(self.model_id, z[i], int(p[i])) for i in range(len(p))]
        todo: dict[str, list[int]] = {}
        for i, k in enumerate(keys):
            hit = self.cache.get(k) if use_cache else None
            if hit is not None:
                out[i] = hit
            else:
                todo.setdefault(k, []).append(i)
        first = [idx[0] for idx in todo.values()]
        total = len(first)
        if progress is not None:
            progress(0, total)
        for s in range(0, total, bs):
            if cancelled is not None and cancelled():
                raise JobCancelled("GANSynth rendering cancelled")
            rows = first[s:s + bs]
            waves = self._run(z[rows], (p[rows] - MIN_PITCH).astype(np.int32),
                              self._head_waves_fn)
            self.generator_calls += 1
            self.notes_generated += len(rows)
            for wave, i in zip(waves, rows):
                wave.flags.writeable = False  # shared by the cache and every caller
                for j in todo[keys[i]]:
                    out[j] = wave
                if use_cache:
                    self.cache.put(keys[i], wave)
            # the batch's activations are freed: give their pages back, so that kept
            # notes do not sit on top of a heap grown by every batch (memory.py)
            release_free_heap()
            if progress is not None:
                progress(min(s + bs, total), total)
        return out  # type: ignore[return-value]  # every slot filled above


def _pixel_norm(x):
    import tensorflow as tf

    return x * tf.math.rsqrt(tf.reduce_mean(tf.square(x), axis=3, keepdims=True) + 1e-8)


def _load_weights(reader: _Reader, c: GANSynthConfig) -> dict[str, np.ndarray]:
    """EMA kernels, biases and the equalised-learning-rate scale of each conv.

    Magenta multiplies each conv's *output* by sqrt(2 / fan_in) (to_rgb: sqrt(1 / fan_in)).
    It is kept as a post-scale rather than folded into the kernel: folding (which would
    let TF fuse conv + bias + activation) moved the fixture's golden error past its
    tolerance, as pixel norms amplify rounding.
    """
    rgb_blocks = [b for b, a in enumerate(block_alphas(c.progress, c.num_blocks), 1) if a > 0]
    w: dict[str, np.ndarray] = {}
    for b in range(1, max(rgb_blocks) + 1):
        layers = [("conv0", 2.0), ("conv1", 2.0)] + ([("to_rgb", 1.0)] if b in rgb_blocks else [])
        for layer, gain in layers:
            base = BLOCK.format(b) + layer
            k = reader.get(base + "/conv2d/kernel" + EMA).astype(np.float32)
            bias = reader.get(base + "/bias" + EMA).astype(np.float32)
            if k.ndim != 4 or bias.shape != (k.shape[3],):
                raise CheckpointError(f"{reader.prefix}: {base} has kernel {list(k.shape)} and "
                                      f"bias {list(bias.shape)}, which do not fit",
                                      path=reader.prefix, variable=base)
            fan_in = k.shape[0] * k.shape[1] * k.shape[2]
            w[f"{b}/{layer}/k"] = k
            w[f"{b}/{layer}/s"] = np.float32(np.sqrt(gain / fan_in))
            w[f"{b}/{layer}/b"] = bias
    return w


# ---------------------------------------------------------------------------
# Arrangements: MIDI notes + instrument keyframes -> one clip


def fit_pitch_range(pitches: Sequence[int], lo: int = MIN_PITCH,
                    hi: int = MIN_PITCH + 60) -> tuple[np.ndarray, list[str]]:
    """Transpose out-of-range pitches by whole octaves into [lo, hi]; one warning per
    distinct original pitch moved (never drop a note silently)."""
    out = np.asarray(pitches, np.int64).copy()
    moved: dict[int, int] = {}
    for i, p in enumerate(out):
        q = int(p)
        while q < lo:
            q += 12
        while q > hi:
            q -= 12
        if q != p:
            moved[int(p)] = q
            out[i] = q
    warnings = [f"pitch {p} is outside {lo}-{hi}: played an octave-shifted {q} instead"
                for p, q in sorted(moved.items())]
    return out, warnings


@dataclass
class NoteArrays:
    """Notes to render, as parallel arrays (seconds, MIDI pitch, MIDI velocity)."""

    pitches: np.ndarray
    velocities: np.ndarray
    start_times: np.ndarray
    end_times: np.ndarray

    def __len__(self) -> int:
        return len(self.pitches)


@dataclass
class ArrangementResult:
    audio: np.ndarray  # float32 mono at sample_rate, peak 0.5
    sample_rate: int
    notes_rendered: int  # notes that went through the network this time
    notes_cached: int
    warnings: list[str] = field(default_factory=list)
    pitches: np.ndarray | None = None  # as played (after octave shifts)


def render_arrangement(model: GANSynth, notes: NoteArrays, key_times: np.ndarray,
                       key_z: np.ndarray, *, batch_size: int | None = None,
                       progress: ProgressFn | None = None,
                       cancelled: Callable[[], bool] | None = None,
                       hold_outside: bool = False) -> ArrangementResult:
    """Render each note with the latent slerped between the keyframes around its start,
    then mix them with Magenta's envelopes (`combine_notes`).

    Magenta extrapolates past the last keyframe; with `hold_outside` (keyframes a user
    placed) notes before the first / after the last keyframe get that keyframe's latent."""
    if len(notes) == 0:
        raise BadInput("the arrangement has no notes to render")
    pitches, warnings = fit_pitch_range(notes.pitches, MIN_PITCH, model.config.max_pitch)
    times = np.asarray(notes.start_times, np.float64)
    if hold_outside:
        times = np.clip(times, key_times[0], key_times[-1])
    z_notes = interpolate_keyframes(times, key_times, key_z).astype(np.float32)
    before = model.notes_generated
    audio = model.generate_notes(z_notes, pitches, batch_size=batch_size, progress=progress,
                                 cancelled=cancelled)
    rendered = model.notes_generated - before
    clip = combine_notes(audio, notes.start_times, notes.end_times, notes.velocities,
                         model.config.spec.sample_rate)
    return ArrangementResult(clip, model.config.spec.sample_rate, rendered,
                             len(notes) - rendered, warnings, pitches)
