"""Native MusicVAE / GrooVAE inference in TF2 (musicvae.md), reading official checkpoints
by variable name. Operations take and return model tensors (numpy); converting them to and
from NoteSequences is engine/music's job.

    vae = MusicVae.load("cat-drums_2bar_small", "/path/to/cat-drums_2bar_small.lokl.tar")
    outputs, z = vae.sample(4, temperature=0.5, seed=7)       # [4, 32, 512] one-hot
    z, mu, sigma = vae.encode(inputs)                          # inputs [B, 32, 10]
    outputs = vae.decode(z, temperature=0, seed=1)             # temperature 0 = argmax
    outputs, z = vae.interpolate(a_inputs, b_inputs, num_steps=5)

Every stochastic step is seeded: z from a numpy Generator, decoder sampling from TF
stateless random ops, so the same seed and inputs give the same outputs.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf
from tensorflow.python.eager import context as tf_context
from tensorflow.python.framework.ops import EagerTensor

from engine.errors import BadRequest, CheckpointError
from engine.models import tf_checkpoint
from engine.models.graph_cache import GraphFunction, source_digest
from engine.models.lstm import fold_forget_bias, lstm_gates_step
from engine.models.musicvae_configs import (CONDUCTOR, ENC_LSTM, MusicVaeConfig,
                                            expected_variables, get_config, variables_for)
from engine.music.latent import slerp_path

__all__ = ["MusicVae", "expected_variables", "required_variables"]

_TINY = 1e-20
# Time steps per loop iteration: the while loop's own ops (per loop variable) are paid once
# per UNROLL steps. 4 measured best at batch 1-8 (8 was no faster and traces slower).
UNROLL = 4
# Column blocks of an encoder's recurrent kernel (_zigzag_matmul): at least this many, and
# more where a block would be over BLOCK_BYTES.
ZIG_BLOCKS = 4


def _l2_bytes() -> int:
    """One core's L2 cache, as TF's oneDNN MatMul reads it (sysconf); 1 MB if unknown."""
    try:
        size = os.sysconf(191)  # glibc's _SC_LEVEL2_CACHE_SIZE (not named in os.sysconf_names)
    except (OSError, ValueError):
        size = 0
    return size if size and size > 0 else 1 << 20


# The largest weight block one per-step product reads. TF runs a oneDNN MatMul on one
# thread only while its operands fit one core's L2 (x1.01); past that it splits the
# product over both cores, and at these sizes the hand-off costs more than the product
# (2-core EPYC, 1 MB L2: a [8, 256] x [256, 1024] product 94 us on two threads, 27 us on
# one). Half the L2 keeps every product on one thread up to batch ~170 (decoders) / ~60
# (encoders), on a 2 MB L2 (the Xeon) the same blocks as before.
BLOCK_BYTES = int(os.environ.get("MAGSTATION_MVAE_BLOCK_BYTES", 0)) or _l2_bytes() // 2
MAX_BLOCKS = 8
_ALIGN = 64  # TF shares a numpy array's memory when it is aligned to this (Eigen's max)
# The modules whose code builds the graphs: the graph cache is rebuilt when one changes.
_HERE = Path(__file__).resolve().parent
_GRAPH_SOURCES = source_digest(_HERE / "musicvae.py", _HERE / "lstm.py",
                               _HERE / "graph_cache.py")


# ----------------------------------------------------------------------------- weights

@dataclass(frozen=True)
class _Lstm:
    """One LSTM layer's weights, split by input rows (w_in, [w_z,] w_h): input terms can be
    precomputed, and each product stays small (see _layer_step). The per-step products'
    weights are also cut into blocks of at most BLOCK_BYTES: decoders' by gate columns
    (w_in_cols, w_h_cols), encoders' w_h too (read in turns, _zigzag_matmul). The bias holds
    the forget bias (lstm.fold_forget_bias): steps run with forget_bias=0."""
    b: tf.Tensor                     # [4u]
    units: int
    w_in: tf.Tensor | None           # [input, 4u] (decoder layer 0: previous-output rows;
                                     # None where kept as w_in_cols)
    w_z: tf.Tensor | None = None     # decoder layer 0: rows that multiply z / the embedding
    w_in_cols: tuple[tf.Tensor, ...] = ()  # stacked decoder layers: w_in by column blocks
    w_h_cols: tuple[tf.Tensor, ...] = ()   # w_h by column blocks


def _blocks_for(rows: int, cols: int, along: int, least: int = 1) -> int:
    """How many blocks (at least `least`, dividing `along`) keep a [rows, cols] float32
    weight's blocks within BLOCK_BYTES; `least` for a weight of more than MAX_BLOCKS such
    blocks (the 1024-2048-unit models): their products are large enough that splitting
    each over both cores pays, and hundreds of small products a step would not."""
    n = -(-rows * cols * 4 // BLOCK_BYTES)
    if n > MAX_BLOCKS:
        return least
    n = max(least, n)
    while along % n:
        n += 1
    return n


def _cut(w: np.ndarray, n: int, axis: int) -> tuple[tf.Tensor, ...]:
    return tuple(_weight(p) for p in np.split(w, n, axis=axis))


def _weight(a: np.ndarray) -> tf.Tensor:
    """An eager tensor of a weight, made with one copy: into a 64-byte aligned buffer of
    its own, which TF then uses as it is (an unaligned array, or tf.constant, would be
    copied again: ~2 ms per 4 MB, most of what building a model costs)."""
    a = np.asarray(a)
    buf = np.empty(a.nbytes + _ALIGN, np.uint8)
    start = -buf.ctypes.data % _ALIGN
    out = buf[start:start + a.nbytes].view(a.dtype).reshape(a.shape)
    np.copyto(out, a)
    ctx = tf_context.context()
    ctx.ensure_initialized()
    return EagerTensor(out, ctx.device_name, None)


def _split_lstm(kernel: np.ndarray, bias: np.ndarray, *row_blocks: int,
                encoder: bool = False) -> _Lstm:
    """Check a checkpoint kernel against its input widths (units come from the bias) and
    split it into row blocks [*row_blocks, h]; the per-step products' weights are then cut
    into column blocks of at most BLOCK_BYTES (w_h; a stacked decoder layer's w_in too)."""
    units = bias.shape[0] // 4
    if kernel.shape != (sum(row_blocks) + units, 4 * units):
        raise ValueError(f"kernel {kernel.shape} does not fit inputs {row_blocks} + {units} units")
    bias = fold_forget_bias(bias)
    edges = np.cumsum((0,) + row_blocks)
    parts = [kernel[a:b] for a, b in zip(edges[:-1], edges[1:])]
    w_h = kernel[edges[-1]:]
    w_z = _weight(parts[1]) if len(parts) > 1 else None
    stacked = not encoder and len(parts) == 1  # a decoder layer reading the one below
    common = dict(b=_weight(bias), units=units, w_z=w_z,
                  w_in=None if stacked else _weight(parts[0]))
    if encoder:
        n = _blocks_for(units, 4 * units, 4 * units, least=ZIG_BLOCKS)
        return _Lstm(**common, w_h_cols=_cut(w_h, n, 1))
    n = _blocks_for(units, 4 * units, 4 * units)
    # layer 0's input is one-hot or small (gathered / one product per step): not cut
    w_in_cols = _cut(parts[0], n, 1) if stacked else ()
    return _Lstm(**common, w_in_cols=w_in_cols, w_h_cols=_cut(w_h, n, 1))


def _cols_matmul(pairs: list[tuple[tf.Tensor, tuple[tf.Tensor, ...]]]) -> tf.Tensor:
    """sum of x @ w over (x, w) pairs, each w given as column blocks: one product per block
    (see BLOCK_BYTES), the blocks' sums put side by side."""
    n = len(pairs[0][1])
    out = []
    for i in range(n):
        terms = [tf.matmul(x, cols[i]) for x, cols in pairs]
        out.append(terms[0] if len(terms) == 1 else tf.add_n(terms))
    return out[0] if n == 1 else tf.concat(out, axis=-1)


def _layer_step(layer: _Lstm, x: tf.Tensor, c: tf.Tensor, h: tf.Tensor):
    """One step of a stacked layer reading x, as x @ w_in + h @ w_h rather than one product
    with the checkpoint's [x; h] kernel followed by its bias: TF's oneDNN MatMul runs a
    product on one thread only when its operands fit the L2 cache (and not when fused with
    a bias add). Split, the 256-unit decoders' products all stay on one thread, where
    splitting them across two cores at every step cost half the decode time (2-core Xeon,
    2 MB L2: cat-drums decode 7.4 -> 3.9 ms at batch 1, 13.0 -> 6.6 ms at batch 8)."""
    return _gates_step(_cols_matmul([(x, layer.w_in_cols), (h, layer.w_h_cols)]) + layer.b, c)


def _gates_step(gates: tf.Tensor, c: tf.Tensor):
    return lstm_gates_step(gates, c, forget_bias=0)


@dataclass(frozen=True)
class _CoreDecoder:
    """One autoregressive LSTM decoder: z (or a conductor embedding) -> initial state and
    per-step input [prev, z] -> logits."""
    z2s_w: tf.Tensor
    z2s_b: tf.Tensor
    layers: tuple[_Lstm, ...]
    out_w: tf.Tensor
    out_b: tf.Tensor
    depth: int  # width of one sample (the previous-output input)


# ----------------------------------------------------------------------------- model

class MusicVae:
    """A loaded MusicVAE/GrooVAE model. Build with `MusicVae.load`."""

    _cache: dict[tuple[str, str], "MusicVae"] = {}
    _cache_lock = threading.Lock()

    def __init__(self, config: MusicVaeConfig, weights: dict[str, np.ndarray],
                 source: str = "") -> None:
        self.config = config
        self.source = source
        self.warmed: dict[str, str] = {}  # graph name -> "cache" / "traced" (warm())
        try:
            self._build(weights)
        except (ValueError, KeyError) as e:
            raise CheckpointError(f"checkpoint {source} does not fit config {config.name}: {e}",
                                  path=source) from e
        self._compile()

    # -- loading

    @classmethod
    def load(cls, config_name: str, checkpoint: str) -> "MusicVae":
        """Load (or reuse, if already loaded and unchanged on disk) a checkpoint given as a
        prefix, a directory or a `.tar`. Raises CheckpointError naming the missing or
        damaged file/variable."""
        config = get_config(config_name)
        prefix = tf_checkpoint.resolve_prefix(checkpoint)
        key = (config.name, tf_checkpoint.checkpoint_key(prefix))
        with cls._cache_lock:
            model = cls._cache.get(key)
            if model is None:
                weights = tf_checkpoint.read_variables(prefix, required_variables(config))
                model = cls(config, weights, str(prefix))
                model.warm()  # here, on the loading worker: not in the first request
                cls._cache[key] = model
        return model

    @classmethod
    def clear_cache(cls) -> None:
        with cls._cache_lock:
            cls._cache.clear()

    def _build(self, w: dict[str, np.ndarray]) -> None:
        cfg = self.config
        levels = []
        width = cfg.input_depth
        for level in range(len(cfg.enc_rnn_size)):
            pair = []
            for direction in ("fw", "bw"):
                p = ENC_LSTM.format(level=level, direction=direction)
                pair.append(_split_lstm(w[f"{p}/kernel"], w[f"{p}/bias"], width,
                                        encoder=True))
            if pair[0].units != pair[1].units:
                raise ValueError(f"encoder level {level}: fw and bw widths differ")
            levels.append(tuple(pair))
            width = 2 * pair[0].units
        self._enc_levels = tuple(levels)
        self._mu = (_weight(w["encoder/mu/kernel"]), _weight(w["encoder/mu/bias"]))
        self._sigma = (_weight(w["encoder/sigma/kernel"]),
                       _weight(w["encoder/sigma/bias"]))
        if self._mu[0].shape[0] != width:
            raise ValueError(f"encoder/mu/kernel has {self._mu[0].shape[0]} rows, "
                             f"the encoder outputs {width}")
        self.z_size = int(self._mu[0].shape[1])

        if cfg.decoder == "hierarchical":
            init = f"{CONDUCTOR}/initial_state"
            self._cond_init = (_weight(w[f"{init}/kernel"]), _weight(w[f"{init}/bias"]))
            layers, width = [], 1
            for k in range(len(cfg.dec_rnn_size)):
                p = f"{CONDUCTOR}/cell_{k}/lstm_cell"
                lstm = _split_lstm(w[f"{p}/kernel"], w[f"{p}/bias"], width)
                layers.append(lstm)
                width = lstm.units
            self._cond_layers = tuple(layers)
            emb = width
            self._cores = tuple(self._core(w, p, d, emb)
                                for p, d in zip(cfg.core_prefixes(), cfg.output_depths))
        else:
            proj = cfg.output_depth + (self._nade_hidden(w) if cfg.decoder == "nade" else 0)
            self._cores = (self._core(w, "decoder", cfg.output_depth, self.z_size, proj),)
            if cfg.decoder == "nade":
                self._nade_w_enc = _weight(w["decoder/nade/w_enc"][:, 0, :])      # [D, H]
                self._nade_w_dec = _weight(w["decoder/nade/w_dec_t"][:, :, 0])    # [D, H]

    @staticmethod
    def _nade_hidden(w: dict[str, np.ndarray]) -> int:
        return int(w["decoder/nade/w_enc"].shape[2])

    @staticmethod
    def _core(w: dict[str, np.ndarray], prefix: str, depth: int, emb: int,
              proj: int | None = None) -> _CoreDecoder:
        layers, width = [], None
        k = 0
        while f"{prefix}/multi_rnn_cell/cell_{k}/lstm_cell/kernel" in w:
            p = f"{prefix}/multi_rnn_cell/cell_{k}/lstm_cell"
            blocks = (depth, emb) if k == 0 else (width,)
            lstm = _split_lstm(w[f"{p}/kernel"], w[f"{p}/bias"], *blocks)
            layers.append(lstm)
            width = lstm.units
            k += 1
        z2s_w = w[f"{prefix}/z_to_initial_state/kernel"]
        if z2s_w.shape != (emb, 2 * sum(l.units for l in layers)):
            raise ValueError(f"{prefix}/z_to_initial_state/kernel has shape {z2s_w.shape}")
        out_w = w[f"{prefix}/output_projection/kernel"]
        if out_w.shape != (width, proj or depth):
            raise ValueError(f"{prefix}/output_projection/kernel has shape {out_w.shape}")
        return _CoreDecoder(_weight(z2s_w), _weight(w[f"{prefix}/z_to_initial_state/bias"]),
                            tuple(layers), _weight(out_w),
                            _weight(w[f"{prefix}/output_projection/bias"]), depth)

    # -- public properties

    @property
    def max_seq_len(self) -> int:
        return self.config.max_seq_len

    @property
    def input_depth(self) -> int:
        return self.config.input_depth

    @property
    def output_depth(self) -> int:
        return self.config.output_depth

    # -- operations

    def encode(self, inputs: np.ndarray, lengths: np.ndarray | None = None,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Posterior of encoder input tensors `inputs` [B, T, input_depth] (the data
        converter's *input* tensors). Returns (z, mu, sigma), each [B, z_size]; z is drawn
        from N(mu, sigma) with `seed`."""
        x = self._check_inputs(inputs)
        if lengths is None:
            lengths = np.full([x.shape[0]], x.shape[1], np.int32)
        lengths = np.asarray(lengths, np.int32)
        if lengths.shape != (x.shape[0],) or lengths.min() < 1 or lengths.max() > x.shape[1]:
            raise BadRequest(f"lengths must be {x.shape[0]} values in 1..{x.shape[1]}")
        if np.all(lengths == x.shape[1]):  # no masking: 4 ops less per step and direction
            full = self._encode_full_fn if x.shape[1] == self.max_seq_len else self._encode_any_fn
            out = full(tf.constant(x))
        else:
            out = self._encode_fn(tf.constant(x), tf.constant(lengths))
        mu, sigma = (t.numpy() for t in out)
        eps = np.random.default_rng(seed).standard_normal(mu.shape).astype(np.float32)
        return mu + sigma * eps, mu, sigma

    def decode(self, z: np.ndarray, length: int | None = None, temperature: float | None = 0.5,
               seed: int = 0) -> np.ndarray:
        """Decode latent vectors z [B, z_size] into output tensors [B, length, output_depth].
        temperature 0/None = deterministic (argmax, hits where p >= 0.5)."""
        z = self._check_z(z)
        length = self._check_length(length)
        temp, greedy = _temperature(temperature)
        if length == self.max_seq_len:
            out = self._decode_fn(tf.constant(z), temp, greedy, _seed(seed))
        else:
            out = self._decode_any_fn(tf.constant(z), tf.constant(length), temp, greedy,
                                      _seed(seed))
        return out.numpy()

    def sample(self, n: int, length: int | None = None, temperature: float | None = 0.5,
               seed: int = 0, same_z: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """n random samples: z ~ N(0, I) (one shared z if same_z). Returns (outputs, z)."""
        if n < 1:
            raise BadRequest("n must be at least 1")
        rng = np.random.default_rng(seed)
        z = rng.standard_normal((1 if same_z else n, self.z_size)).astype(np.float32)
        z = np.repeat(z, n, axis=0) if same_z else z
        return self.decode(z, length, temperature, seed), z

    def interpolate(self, a_inputs: np.ndarray, b_inputs: np.ndarray, num_steps: int,
                    length: int | None = None, temperature: float | None = 0.5,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Encode two input tensors ([T, input_depth] or [1, T, input_depth]), slerp between
        their means in `num_steps` (endpoints included) and decode. Returns (outputs, z)."""
        if num_steps < 2:
            raise BadRequest("num_steps must be at least 2 (the two endpoints)")
        a = np.asarray(a_inputs, np.float32)
        b = np.asarray(b_inputs, np.float32)
        a = a[None] if a.ndim == 2 else a
        b = b[None] if b.ndim == 2 else b
        if a.shape != b.shape or a.shape[0] != 1:
            raise BadRequest(f"interpolate needs two single sequences of the same shape, "
                             f"got {a.shape} and {b.shape}")
        _, mu, _ = self.encode(np.concatenate([a, b]))
        z = slerp_path(mu[0], mu[1], num_steps).astype(np.float32)
        return self.decode(z, length, temperature, seed), z

    def reconstruct(self, inputs: np.ndarray, temperature: float | None = 1.0, seed: int = 0,
                    use_mean: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """encode then decode (GrooVAE humanize / tap-to-drums): decodes the sampled z as the
        GrooVAE colab does, or mu if use_mean. Returns (outputs, z)."""
        z, mu, _ = self.encode(inputs, seed=seed)
        z = mu if use_mean else z
        return self.decode(z, np.shape(inputs)[1], temperature, seed), z

    def decode_logits(self, z: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Teacher-forced decoder logits: step t reads targets[:, t-1] as the previous output
        (zeros at t = 0). For the NADE decoder these are the NADE biases. [B, T, width]."""
        z = self._check_z(z)
        y = np.asarray(targets, np.float32)
        if y.ndim != 3 or y.shape[0] != z.shape[0] or y.shape[2] != self.output_depth:
            raise BadRequest(f"targets must be [{z.shape[0]}, T, {self.output_depth}]")
        self._check_length(y.shape[1])
        return self._logits_fn(tf.constant(z), tf.constant(y)).numpy()

    # -- input checks

    def _check_inputs(self, inputs: np.ndarray) -> np.ndarray:
        x = np.asarray(inputs, np.float32)
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3 or x.shape[2] != self.input_depth or x.shape[1] < 1 or x.shape[0] < 1:
            raise BadRequest(f"{self.config.name} encodes [batch, steps, {self.input_depth}] "
                             f"tensors, got shape {np.shape(inputs)}")
        return x

    def _check_z(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, np.float32)
        if z.ndim == 1:
            z = z[None]
        if z.ndim != 2 or z.shape[1] != self.z_size or z.shape[0] < 1:
            raise BadRequest(f"z must be [batch, {self.z_size}], got shape {z.shape}")
        return z

    def _check_length(self, length: int | None) -> int:
        length = self.max_seq_len if length is None else int(length)
        if self.config.decoder == "hierarchical":
            if length != self.max_seq_len:
                raise BadRequest(f"{self.config.name} decodes exactly {self.max_seq_len} steps")
        elif not 1 <= length <= 4096:
            raise BadRequest(f"length must be in 1..4096, got {length}")
        return length

    # -- compiled graph functions

    def _compile(self) -> None:
        # Closures, not bound methods: TF counts traces per Python function, so several
        # loaded models sharing one method would log spurious "retracing" warnings.
        # autograph=False (in GraphFunction): the loops are explicit tf.while_loops, and
        # AutoGraph's source conversion was most of the first call's tracing.
        # No jit_compile: XLA made cat-drums slower, and GrooVAE's ~7 ms gain cost ~1 s
        # of compiling per new batch size (every new chain length).
        def encode(x, lengths):
            return self._encode(x, lengths)

        def encode_full(x):
            return self._encode(x, None)

        def decode_any(z, length, temperature, greedy, seed):
            return self._decode(z, length, temperature, greedy, seed)

        def decode(z, temperature, greedy, seed):
            return self._decode(z, self.max_seq_len, temperature, greedy, seed)

        def teacher_forced(z, targets):
            return self._teacher_forced(z, targets)

        weights = self._weights()
        parts = (_GRAPH_SOURCES, repr(self.config), UNROLL, ZIG_BLOCKS, BLOCK_BYTES, MAX_BLOCKS)

        def graph(name, fn, *signature):
            return GraphFunction(f"musicvae_{name}", fn, signature, weights, parts)

        z_spec = tf.TensorSpec([None, self.z_size], tf.float32)
        x_spec = tf.TensorSpec([None, None, self.input_depth], tf.float32)
        fixed_x_spec = tf.TensorSpec([None, self.max_seq_len, self.input_depth], tf.float32)
        sampling = (tf.TensorSpec([], tf.float32), tf.TensorSpec([], tf.bool),
                    tf.TensorSpec([2], tf.int32))
        self._encode_fn = graph("encode", encode, x_spec, tf.TensorSpec([None], tf.int32))
        # The drum jobs' calls (max_seq_len steps) have graphs of their own, warmed at load:
        # a static length leaves out the loop for steps over a multiple of UNROLL and most
        # shape arithmetic, a sixth less to set up on the first call (bench/README.md).
        self._encode_full_fn = graph("encode_full", encode_full, fixed_x_spec)
        self._encode_any_fn = graph("encode_full_any", encode_full, x_spec)
        self._decode_fn = graph("decode", decode, z_spec, *sampling)
        self._decode_any_fn = graph("decode_any", decode_any, z_spec,
                                    tf.TensorSpec([], tf.int32), *sampling)
        self._logits_fn = graph("teacher_forced", teacher_forced, z_spec,
                                tf.TensorSpec([None, None, self.output_depth], tf.float32))

    def _weights(self) -> list[tf.Tensor]:
        """Every weight tensor of the model, in a fixed order (the graph cache names a
        traced graph's inputs by their place here)."""
        out: list[tf.Tensor] = []

        def walk(o: Any) -> None:
            if isinstance(o, tf.Tensor):
                out.append(o)
            elif dataclasses.is_dataclass(o):
                for f in dataclasses.fields(o):
                    walk(getattr(o, f.name))
            elif isinstance(o, (tuple, list)):
                for x in o:
                    walk(x)
        for name in ("_enc_levels", "_mu", "_sigma", "_cond_init", "_cond_layers", "_cores",
                     "_nade_w_enc", "_nade_w_dec"):
            walk(getattr(self, name, None))
        return out

    def warm(self) -> dict[str, str]:
        """Make the graphs every drum job calls (decode and encode of max_seq_len steps,
        full-length input) and run each once at batch 1, so the first request after a load runs at warm speed.
        Called by `load`; returns where each graph came from ("cache" or "traced")."""
        z = np.zeros([1, self.z_size], np.float32)
        self.decode(z, temperature=1.0, seed=0)
        self.encode(np.zeros([1, self.max_seq_len, self.input_depth], np.float32))
        self.warmed = {f.name: f.source or "" for f in (self._decode_fn, self._encode_full_fn)}
        return self.warmed

    def _encode(self, x: tf.Tensor, lengths: tf.Tensor | None) -> tuple[tf.Tensor, tf.Tensor]:
        """lengths None: every sequence has all of x's steps (no masking)."""
        mask = None
        if lengths is not None:
            mask = tf.transpose(tf.sequence_mask(lengths, tf.shape(x)[1]))[:, :, None]  # [T, B, 1]

        def reverse(seq):
            if lengths is None:
                return tf.reverse(seq, [1])
            return tf.reverse_sequence(seq, lengths, seq_axis=1, batch_axis=0)

        seq = x
        final = None
        for level, (fw, bw) in enumerate(self._enc_levels):
            outputs = level < len(self._enc_levels) - 1  # the last level gives final states only
            fw_out, fw_h = _run_lstm(fw, seq, mask, outputs)
            bw_out, bw_h = _run_lstm(bw, reverse(seq), mask, outputs)
            if outputs:
                seq = tf.concat([fw_out, reverse(bw_out)], axis=-1)
            final = tf.concat([fw_h, bw_h], axis=-1)
        mu = tf.matmul(final, self._mu[0]) + self._mu[1]
        sigma = tf.nn.softplus(tf.matmul(final, self._sigma[0]) + self._sigma[1])
        return mu, sigma

    def _decode(self, z, length, temperature, greedy, seed):
        batch = tf.shape(z)[0]
        if self.config.decoder == "hierarchical":
            bars, bar_len = self.config.level_lengths
            u = tf.random.stateless_uniform([bars, bar_len, batch, self.output_depth], seed,
                                            minval=_TINY, maxval=1.0)
            return self._hierarchical(z, self._noise(u, temperature, greedy), None)
        core = self._cores[0]
        u = tf.random.stateless_uniform([length, batch, self.output_depth], seed,
                                        minval=_TINY, maxval=1.0)
        samples, _ = self._run_core(core, z, tf.zeros([batch, core.depth]),
                                    self._noise(u, temperature, greedy), None)
        return tf.transpose(samples, [1, 0, 2])

    def _noise(self, u, temperature, greedy):
        """Sampling noise for all steps at once, pre-scaled so that drawing inside the loop
        is a single argmax or compare: categorical argmax(l/T + g) = argmax(l + T*g)
        (Gumbel-max); Bernoulli u < sigmoid(l/T) <=> l > T*logit(u). Zero when greedy
        (argmax; hit where p >= 0.5)."""
        if self.config.decoder in ("groove", "nade"):
            noise = temperature * (tf.math.log(u) - tf.math.log1p(-u))
        else:
            noise = temperature * -tf.math.log(-tf.math.log(u))
        return tf.where(greedy, tf.zeros_like(noise), noise)

    def _teacher_forced(self, z, targets):
        if self.config.decoder == "hierarchical":
            return self._hierarchical(z, None, targets)
        core = self._cores[0]
        start = tf.zeros([tf.shape(z)[0], core.depth])
        logits, _ = self._run_core(core, z, start, None, tf.transpose(targets, [1, 0, 2]))
        return tf.transpose(logits, [1, 0, 2])

    def _run_core(self, core: _CoreDecoder, emb, start, noise, targets):
        """Decode one core decoder from an embedding (z, or a conductor output), starting
        from the previous output `start`. Free run (`noise` [T, B, D]): returns time-major
        samples and the last sample. Teacher forcing (`targets` [T, B, D] fed back as the
        previous outputs): returns time-major logits and the last target."""
        state = tf.tanh(tf.matmul(emb, core.z2s_w) + core.z2s_b)
        sizes = [l.units for layer in core.layers for l in (layer, layer)]
        chunks = tf.split(state, sizes, axis=-1)
        states = tuple((chunks[2 * k], chunks[2 * k + 1]) for k in range(len(core.layers)))
        first = core.layers[0]
        z_gates = tf.matmul(emb, first.w_z) + first.b  # constant over steps
        kind = self.config.decoder
        # One-hot free run (categorical, hierarchical cores): the loop carries and stacks
        # sample indices (one-hot after it) and the output bias is added to the noise once.
        indices = targets is None and kind not in ("groove", "nade")
        out_b = None if indices else core.out_b

        def step(carry, elems, _):
            prev_gates, _, states = carry
            new_states = []
            x = None
            for k, (layer, (c, h)) in enumerate(zip(core.layers, states)):
                if k == 0:
                    c, h = _gates_step(prev_gates + z_gates + _cols_matmul([(h, layer.w_h_cols)]),
                                       c)
                else:
                    c, h = _layer_step(layer, x, c, h)
                new_states.append((c, h))
                x = h
            logits = tf.matmul(x, core.out_w)
            if out_b is not None:
                logits += out_b
            if targets is not None:
                sample, out = elems, logits
                nxt = tf.matmul(sample, first.w_in)
            elif kind in ("groove", "nade"):
                sample = (self._nade_sample(logits, elems) if kind == "nade"
                          else _groove_sample(logits, elems))
                out, nxt = sample, tf.matmul(sample, first.w_in)
            else:  # one-hot: the next step's input gates are one kernel row
                sample = out = tf.argmax(logits + elems, axis=-1, output_type=tf.int32)
                nxt = tf.gather(first.w_in, sample)
            return (nxt, sample, tuple(new_states)), out

        batch = tf.shape(emb)[0]
        width = core.out_w.shape[1] if targets is not None else core.depth
        carry = (tf.matmul(start, first.w_in), start, states)
        elems = targets if targets is not None else noise
        if indices:
            carry = (carry[0], tf.zeros([batch], tf.int32), states)
            (_, last, _), out = _scan_with_carry(step, carry, elems + core.out_b,
                                                 tf.zeros([batch], tf.int32))
            return tf.one_hot(out, core.depth), tf.one_hot(last, core.depth)
        (_, last, _), out = _scan_with_carry(step, carry, elems, tf.zeros([batch, width]))
        return out, last

    def _nade_sample(self, logits, noise):
        """RNN-NADE draw (musicvae.md §2.8); logits = [b_enc (H), b_dec (D)], noise are the
        pre-scaled Bernoulli thresholds."""
        d = self.output_depth
        hidden = logits.shape[-1] - d
        a, b_dec = logits[:, :hidden], logits[:, hidden:]
        bits = []
        for i in range(d):
            l_i = b_dec[:, i] + tf.reduce_sum(tf.sigmoid(a) * self._nade_w_dec[i], axis=-1)
            v = tf.cast(l_i > noise[:, i], tf.float32)
            bits.append(v)
            a = a + v[:, None] * self._nade_w_enc[i]
        return tf.stack(bits, axis=-1)

    def _hierarchical(self, z, noise, targets):
        """Conductor over bars, then each part's core decoder for one bar, re-initialised
        from the conductor output; each part's start input is its last output of the
        previous bar. Free run (noise [bars, bar_len, B, D]) returns samples; teacher
        forcing (targets [B, T, D]) returns logits; batch-major, parts concatenated."""
        bars, bar_len = self.config.level_lengths
        batch = tf.shape(z)[0]
        state = tf.tanh(tf.matmul(z, self._cond_init[0]) + self._cond_init[1])
        sizes = [l.units for layer in self._cond_layers for l in (layer, layer)]
        chunks = tf.split(state, sizes, axis=-1)
        cond_states = tuple((chunks[2 * k], chunks[2 * k + 1])
                            for k in range(len(self._cond_layers)))
        depths = [c.depth for c in self._cores]
        if targets is not None:
            per_bar = tf.reshape(tf.transpose(targets, [1, 0, 2]),
                                 [bars, bar_len, batch, sum(depths)])
            width = sum(int(c.out_w.shape[1]) for c in self._cores)
        else:
            per_bar = noise
            width = sum(depths)
        elems = tuple(tf.split(per_bar, depths, axis=-1))

        def bar_step(carry, elems, _):
            cond_states, prevs = carry
            new_states, x = [], None
            for k, (layer, (c, h)) in enumerate(zip(self._cond_layers, cond_states)):
                if k == 0:  # reads a constant zero of width 1: adds nothing to the gates
                    c, h = _gates_step(_cols_matmul([(h, layer.w_h_cols)]) + layer.b, c)
                else:
                    c, h = _layer_step(layer, x, c, h)
                new_states.append((c, h))
                x = h
            outs, lasts = [], []
            for core, prev, e in zip(self._cores, prevs, elems):
                out, last = self._run_core(core, x, prev, None if targets is not None else e,
                                           e if targets is not None else None)
                outs.append(out)
                lasts.append(last)
            return (tuple(new_states), tuple(lasts)), tf.concat(outs, -1)

        prevs = tuple(tf.zeros([batch, d]) for d in depths)
        _, out = _scan_with_carry(bar_step, (cond_states, prevs), elems,
                                  tf.zeros([bar_len, batch, width]), unroll=1)
        return tf.transpose(tf.reshape(out, [bars * bar_len, batch, width]), [1, 0, 2])


def _groove_sample(logits, thresholds):
    """[hits (logit above the pre-scaled threshold), sigmoid(velocity), tanh(offset)];
    temperature only affects the hits."""
    hit_l, vel_l, off_l = tf.split(logits, 3, axis=-1)
    n = hit_l.shape[-1]
    hits = tf.cast(hit_l > thresholds[:, :n], tf.float32)
    return tf.concat([hits, tf.sigmoid(vel_l), tf.tanh(off_l)], -1)


# ----------------------------------------------------------------------------- helpers

def _run_lstm(cell: _Lstm, seq: tf.Tensor, mask: tf.Tensor | None,
              outputs: bool = True) -> tuple[tf.Tensor | None, tf.Tensor]:
    """Run one encoder LSTM over a batch-major sequence from a zero state; steps where
    mask [T, B, 1] is False (None: all steps valid) keep the state and output zeros.
    Returns (outputs [B, T, u], or None when not asked for; last valid h)."""
    batch = tf.shape(seq)[0]
    x_gates = tf.transpose(tf.einsum("btd,dg->btg", seq, cell.w_in) + cell.b, [1, 0, 2])
    zero = tf.zeros([batch, cell.units])

    def step(carry, elems, j):
        c, h = carry
        g, m = elems if mask is not None else (elems, None)
        c2, h2 = _gates_step(g + _zigzag_matmul(h, cell.w_h_cols, odd=j % 2 == 1), c)
        if m is not None:
            c2, h2, out = tf.where(m, c2, c), tf.where(m, h2, h), tf.where(m, h2, 0.0)
        else:
            out = h2
        return (c2, h2), ((out,) if outputs else ())

    elems = (x_gates, mask) if mask is not None else x_gates
    (_, h), out = _scan_with_carry(step, (zero, zero), elems, (zero,) if outputs else ())
    return (tf.transpose(out[0], [1, 0, 2]) if outputs else None), h


def _zigzag_matmul(h: tf.Tensor, cols: tuple[tf.Tensor, ...], odd: bool) -> tf.Tensor:
    """h @ concat(cols, axis=1), reading the column blocks in turns (first to last on even
    steps, last to first on odd ones): the blocks read last are still in the core's L2
    cache when the next step starts with them. A 512-unit encoder's recurrent kernel (4 MB)
    does not fit L2, and read in one order every step streams it all from L3 (measured on
    the Xeon: ~25% off the encoder). Column blocks rather than row blocks: each block is a
    whole product (no partial sums to add), and at batch 2-8 oneDNN ran [B, 512] x
    [512, 256] blocks at batch-1 speed where [B, 64] x [64, 2048] ones took 1.5-2x (EPYC)."""
    order = range(len(cols) - 1, -1, -1) if odd else range(len(cols))
    parts: list[tf.Tensor | None] = [None] * len(cols)
    last: list[tf.Tensor] = []
    for i in order:  # each product waits for the one before: the read order is the point
        with tf.control_dependencies(last):
            parts[i] = tf.matmul(h, cols[i])
        last = [parts[i]]
    return tf.concat(parts, axis=-1)


def _scan_with_carry(fn, carry, elems, out_like, unroll: int = UNROLL):
    """A time loop: fn(carry, elems[t], j) -> (carry, outputs_t), j = t's place in the
    loop body (0..unroll-1). Returns the final carry and the stacked outputs (shaped like
    `out_like` with a leading time axis). The loop body runs `unroll` steps, reading and
    writing them as one block; a second loop does the steps left over."""
    first = tf.nest.flatten(elems)[0]
    static = first.shape[0]  # known in a fixed-length graph: no loop for steps left over
    steps = static if static is not None else tf.shape(first)[0]
    main = steps - steps % unroll
    arrays = tf.nest.map_structure(
        lambda o: tf.TensorArray(o.dtype, size=steps, element_shape=o.shape), out_like)

    def loop(k, start, stop, carry, arrays):
        chunked = [tf.reshape(e[start:stop], tf.concat([[-1, k], tf.shape(e)[1:]], 0))
                   for e in tf.nest.flatten(elems)]  # [n, k, ...]

        def body(i, carry, arrays):
            block = [tf.unstack(tf.gather(c, i), num=k) for c in chunked]
            outs = []
            for j in range(k):
                step = tf.nest.pack_sequence_as(elems, [b[j] for b in block])
                carry, out = fn(carry, step, j)
                outs.append(out)
            at = tf.range(k) + (start + i * k)
            arrays = tf.nest.map_structure(lambda a, *o: a.scatter(at, tf.stack(o)), arrays, *outs)
            return i + 1, carry, arrays

        n = (stop - start) // k
        _, carry, arrays = tf.while_loop(lambda i, *_: i < n, body, (0, carry, arrays))
        return carry, arrays

    carry, arrays = loop(unroll, 0, main, carry, arrays)
    if unroll > 1 and (static is None or static % unroll):
        carry, arrays = loop(1, main, steps, carry, arrays)
    return carry, tf.nest.map_structure(lambda a: a.stack(), arrays)


def _temperature(temperature: float | None) -> tuple[tf.Tensor, tf.Tensor]:
    if temperature is None or temperature <= 0:
        return tf.constant(1.0), tf.constant(True)
    return tf.constant(float(temperature)), tf.constant(False)


def _seed(seed: int) -> tf.Tensor:
    state = np.random.SeedSequence(int(seed)).generate_state(2, np.uint32)
    return tf.constant((state & 0x7FFFFFFF).astype(np.int32))


def required_variables(config: MusicVaeConfig) -> list[str]:
    """The variable names the model reads: the official config's topology (every width is
    read from the checkpoint, so only the names are required)."""
    return sorted(variables_for(config))
