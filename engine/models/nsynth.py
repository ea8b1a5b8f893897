"""NSynth WaveNet autoencoder (`h512_bo16`), native TensorFlow 2.

Reads Magenta's `wavenet-ckpt` by variable name (the RAW `W`/`biases`, not the
`/ExponentialMovingAverage` shadows: that is what magenta's encode/generate restore).
Sizes (layers, widths) come from the checkpoint, so small test checkpoints work too.

- `NSynth.encode(audio)`: non-causal dilated encoder -> [B, T, 16] frames, one per 512
  samples (audio trimmed to a multiple of 512 as magenta does).
- `NSynth.synthesize(encodings, seed)`: autoregressive "fast generation": each causal
  layer keeps a ring buffer of its last 2·d inputs, so one step costs one pass through
  the layers, and the terms of its past taps are computed a block of d steps at a time
  (at batch 1 a step is bound by reading weights; this reads the past-tap half of them
  once per d steps). The loop runs inside `tf.while_loop`s in chunks of about a
  second; between chunks it reports progress and honours cancellation, returning the
  audio made so far. Below GRAPH_MIN_BATCH voices a chunk is one XLA program (fused
  step, ring buffers updated in place); from it up a plain TensorFlow graph, whose
  oneDNN matmuls are faster for the [B, 512] x [512, 1024] products of a batch (its
  ring buffers live in a variable). One synthesis at a time per NSynth object (the
  engine has a single model worker).

Sampling draws u ~ U[0, 1) per step and voice from `np.random.RandomState(seed).rand`,
in the order magenta's `fastgen.synthesize` draws from `np.random` after
`np.random.seed(seed)`, and picks the first class whose CDF reaches u. Same seed, same
encodings -> the same audio as magenta.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import tensorflow as tf

from engine.audio.mulaw import NUM_CLASSES, class_to_audio_table, network_input
from engine.errors import BadInput, BadRequest, CheckpointError
from engine.models import tf_checkpoint

SAMPLE_RATE = 16000
HOP_LENGTH = 512  # samples per encoding frame (ae_hop_length)
NUM_STAGES = 10  # dilation of layer i is 2 ** (i % NUM_STAGES), fixed by the config
FILTER_LENGTH = 3
BLOCK = 64  # decoder steps per compiled block (see NSynth._run)
# From this batch size up, synthesis runs as a plain TensorFlow graph (oneDNN's matmul
# kernels) instead of XLA: at batch 16 oneDNN's [16, 512] x [512, 1024] products are
# faster than XLA's, at batch 1-4 XLA's fused step wins (bench/RESULTS.md, issue 22).
GRAPH_MIN_BATCH = 8
PATHS = ("xla", "graph")

ProgressFn = Callable[[int, int], None]  # (samples done per voice, total per voice)
CancelledFn = Callable[[], bool]


@dataclass(frozen=True)
class NSynthSizes:
    num_layers: int  # decoder residual layers (30)
    width: int  # decoder residual width (512)
    skip_width: int  # (256)
    ae_num_layers: int  # encoder layers (30)
    ae_width: int  # (128)
    bottleneck: int  # encoding channels (16)


@dataclass
class SynthResult:
    audio: np.ndarray  # [B, samples_done] float32 at 16 kHz
    codes: np.ndarray  # [B, samples_done] int16 softmax classes (μ-law code + 128)
    samples_done: int
    total_samples: int
    seconds: float

    @property
    def partial(self) -> bool:
        return self.samples_done < self.total_samples


def trim_for_encoding(audio: np.ndarray, max_length: int | None = None) -> np.ndarray:
    """Cut audio ([L] or [B, L]) to a multiple of 512 samples (at most `max_length`)."""
    n = audio.shape[-1] if max_length is None else min(max_length, audio.shape[-1])
    return audio[..., : (n // HOP_LENGTH) * HOP_LENGTH]


def variable_shapes_for(sizes: NSynthSizes) -> dict[str, tuple[int, ...]]:
    """Every variable the model reads (raw weights), name -> shape."""
    s = sizes
    out: dict[str, tuple[int, ...]] = {}

    def conv(name: str, k: int, cin: int, cout: int) -> None:
        out[f"{name}/W"] = (1, k, cin, cout)
        out[f"{name}/biases"] = (cout,)

    conv("ae_startconv", 3, 1, s.ae_width)
    for i in range(1, s.ae_num_layers + 1):
        conv(f"ae_dilatedconv_{i}", 3, s.ae_width, s.ae_width)
        conv(f"ae_res_{i}", 1, s.ae_width, s.ae_width)
    conv("ae_bottleneck", 1, s.ae_width, s.bottleneck)
    conv("startconv", 3, 1, s.width)
    conv("skip_start", 1, s.width, s.skip_width)
    for i in range(1, s.num_layers + 1):
        conv(f"dilatedconv_{i}", 3, s.width, 2 * s.width)
        conv(f"cond_map_{i}", 1, s.bottleneck, 2 * s.width)
        conv(f"res_{i}", 1, s.width, s.width)
        conv(f"skip_{i}", 1, s.width, s.skip_width)
    conv("out1", 1, s.skip_width, s.skip_width)
    conv("cond_map_out1", 1, s.bottleneck, s.skip_width)
    conv("logits", 1, s.skip_width, NUM_CLASSES)
    return out


H512_BO16 = NSynthSizes(num_layers=30, width=512, skip_width=256, ae_num_layers=30,
                        ae_width=128, bottleneck=16)


def expected_variables(config: str = "h512_bo16") -> dict[str, tuple[int, ...]]:
    """For `magstation models verify`: the variables the official checkpoint must hold."""
    if config != "h512_bo16":
        raise BadRequest(f"unknown NSynth config {config!r}; the one known is h512_bo16")
    return variable_shapes_for(H512_BO16)


def sizes_from_shapes(shapes: dict[str, tuple[int, ...]], source: str) -> NSynthSizes:
    """Layer counts and widths of a checkpoint, from its variable shapes."""
    def need(name: str) -> tuple[int, ...]:
        if name not in shapes:
            raise CheckpointError(
                f"checkpoint {source} has no variable `{name}`: it is not an NSynth WaveNet "
                "(h512_bo16) checkpoint, or it is incomplete; download it again "
                "(`magstation models pull nsynth-wavenet --force`)", path=source, variable=name)
        return shapes[name]

    def count(prefix: str) -> int:
        n = 0
        while f"{prefix}{n + 1}/W" in shapes:
            n += 1
        if n == 0:
            need(f"{prefix}1/W")
        return n

    return NSynthSizes(num_layers=count("dilatedconv_"), width=need("startconv/W")[-1],
                       skip_width=need("skip_start/W")[-1],
                       ae_num_layers=count("ae_dilatedconv_"),
                       ae_width=need("ae_startconv/W")[-1],
                       bottleneck=need("ae_bottleneck/W")[-1])


class _TensorRing:
    """XLA: the ring buffers are one loop-carried tensor, updated in place by XLA."""

    def read(self, state: tf.Tensor, rows: tf.Tensor) -> tf.Tensor:
        return tf.gather(state, rows)

    def write(self, state: tf.Tensor, slots: tf.Tensor, values: tf.Tensor) -> tf.Tensor:
        return tf.tensor_scatter_nd_update(state, slots[:, None], values)


class _VariableRing:
    """Plain graph: the ring buffers are a variable updated in place by a scatter op (a
    loop-carried tensor would be copied per step there); the carried state is a token
    that orders the steps."""

    def __init__(self, var: tf.Variable) -> None:
        self.var = var

    def read(self, state: tf.Tensor, rows: tf.Tensor) -> tf.Tensor:
        return tf.gather(self.var, rows)

    def write(self, state: tf.Tensor, slots: tf.Tensor, values: tf.Tensor) -> tf.Tensor:
        op = self.var.scatter_nd_update(slots[:, None], values)
        with tf.control_dependencies([op]):
            return tf.identity(state)


class NSynth:
    """The WaveNet autoencoder with its weights loaded; reusable across jobs."""

    def __init__(self, weights: dict[str, np.ndarray], source: str = "<weights>",
                 key: str | None = None) -> None:
        self.source = source
        self.key = key or source  # identifies the weights (encoding cache key)
        self.sizes = sizes_from_shapes({k: tuple(v.shape) for k, v in weights.items()}, source)
        self._w = weights
        for name, shape in variable_shapes_for(self.sizes).items():
            self._get(name, shape)
        self._build_encoder()
        self._build_decoder()
        self._chunk_fns: dict[tuple[int, str], Callable] = {}
        # the plain-graph path's ring variable: (batch, variable), one batch size at a time
        self._ring_var: tuple[int, tf.Variable] | None = None

    @classmethod
    def load(cls, path: str | os.PathLike) -> "NSynth":
        """From a checkpoint prefix, a folder holding one, or wavenet-ckpt.tar. Reads the
        raw weights only (not the EMA shadows), like magenta's fastgen."""
        prefix = tf_checkpoint.resolve_prefix(path)
        sizes = sizes_from_shapes(tf_checkpoint.variable_shapes(prefix), str(prefix))
        weights = tf_checkpoint.read_variables(prefix, list(variable_shapes_for(sizes)))
        return cls(weights, source=str(prefix), key=tf_checkpoint.checkpoint_key(prefix))

    # ------------------------------------------------------------------ weights
    def _get(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        if name not in self._w:
            raise CheckpointError(
                f"checkpoint {self.source} has no variable {name!r}: it is not an NSynth "
                "WaveNet (h512_bo16) checkpoint, or it is incomplete. Re-download "
                "wavenet-ckpt.tar.", path=self.source, variable=name)
        a = self._w[name]
        if tuple(a.shape) != shape:
            raise CheckpointError(
                f"variable {name!r} in {self.source} has shape {tuple(a.shape)}, expected "
                f"{shape}: the checkpoint does not match the h512_bo16 layout.",
                path=self.source, variable=name)
        return a

    def _conv(self, name: str, k: int, cin: int, cout: int) -> tuple[np.ndarray, np.ndarray]:
        return (self._get(f"{name}/W", (1, k, cin, cout)),
                self._get(f"{name}/biases", (cout,)))

    # ------------------------------------------------------------------ encoder
    def _build_encoder(self) -> None:
        s = self.sizes
        # [1, k, cin, cout] -> conv1d filters [k, cin, cout]
        def conv(name, k, cin, cout):
            w, b = self._conv(name, k, cin, cout)
            return tf.constant(w[0]), tf.constant(b)

        self._enc_start = conv("ae_startconv", 3, 1, s.ae_width)
        self._enc_layers = [
            (2 ** (i % NUM_STAGES),
             conv(f"ae_dilatedconv_{i + 1}", 3, s.ae_width, s.ae_width),
             conv(f"ae_res_{i + 1}", 1, s.ae_width, s.ae_width))
            for i in range(s.ae_num_layers)]
        self._enc_bottleneck = conv("ae_bottleneck", 1, s.ae_width, s.bottleneck)
        self._encode_fn = tf.function(self._encode_graph, reduce_retracing=True)

    def _encode_graph(self, x: tf.Tensor) -> tf.Tensor:
        """x: [B, L, 1] μ-law network input, L a multiple of 512 -> [B, L/512, bottleneck]."""
        def conv(v, wb, d=1):
            w, b = wb
            return tf.nn.conv1d(v, w, stride=1, padding="SAME", dilations=d) + b

        en = conv(x, self._enc_start)
        for d, dil, res in self._enc_layers:
            h = tf.nn.relu(conv(tf.nn.relu(en), dil, d))
            en = en + conv(h, res)
        en = conv(en, self._enc_bottleneck)
        shape = tf.shape(en)
        en = tf.reshape(en, [shape[0], shape[1] // HOP_LENGTH, HOP_LENGTH, shape[2]])
        return tf.reduce_mean(en, axis=2)

    @property
    def receptive_radius(self) -> int:
        """Samples either side of a point that the encoder output depends on."""
        return 1 + sum(2 ** (i % NUM_STAGES) for i in range(self.sizes.ae_num_layers))

    def encode(self, audio: np.ndarray, max_chunk: int = 16000 * 20) -> np.ndarray:
        """Audio [L] or [B, L] (float, 16 kHz, in [−1, 1]) -> encodings [B, L // 512, 16].

        Long audio is encoded in windows of `max_chunk` samples with enough overlap that
        the result equals a single pass (the encoder's receptive field is finite).
        """
        audio = np.asarray(audio, dtype=np.float32)
        if audio.ndim == 1:
            audio = audio[None]
        if audio.ndim != 2:
            raise BadInput(f"audio must be [samples] or [batch, samples], got {audio.shape}")
        audio = trim_for_encoding(audio)
        n = audio.shape[1]
        if n == 0:
            raise BadInput("audio is shorter than 512 samples (32 ms at 16 kHz): nothing "
                           "to encode; use a longer sound")
        x = network_input(audio)[..., None]
        margin = -(-self.receptive_radius // HOP_LENGTH) * HOP_LENGTH
        step = max(HOP_LENGTH, (max_chunk // HOP_LENGTH) * HOP_LENGTH)
        if n <= step + 2 * margin:
            return self._encode_fn(tf.constant(x)).numpy()
        frames = []
        for start in range(0, n, step):
            stop = min(n, start + step)
            lo, hi = max(0, start - margin), min(n, stop + margin)
            enc = self._encode_fn(tf.constant(x[:, lo:hi])).numpy()
            first = (start - lo) // HOP_LENGTH
            frames.append(enc[:, first: first + (stop - start) // HOP_LENGTH])
        return np.concatenate(frames, axis=1)

    # ------------------------------------------------------------------ decoder
    def _build_decoder(self) -> None:
        s = self.sizes
        L, W, S = s.num_layers, s.width, s.skip_width
        g = self._conv
        self._dilations = [2 ** (i % NUM_STAGES) for i in range(L)]
        sw, sb = g("startconv", 3, 1, W)
        self._start_w = tf.constant(sw[0, :, 0, :])  # [3, W]: taps t-2, t-1, t
        self._start_b = tf.constant(sb)
        # Each dilated conv's kernel [3, W, 2W] over (x[t-2d], x[t-d], x[t]) is split into
        # its past taps [2W, 2W], whose inputs are known d steps ahead and so are applied
        # to a whole block of steps in one matmul, and its present tap [W, 2W].
        dil_k = [g(f"dilatedconv_{i + 1}", 3, W, 2 * W)[0][0] for i in range(L)]
        self._past_w = [tf.constant(k[:2].reshape(2 * W, 2 * W)) for k in dil_k]
        self._now_w = [tf.constant(k[2]) for k in dil_k]
        self._res_w = [tf.constant(g(f"res_{i + 1}", 1, W, W)[0][0, 0]) for i in range(L)]
        self._res_b = [tf.constant(g(f"res_{i + 1}", 1, W, W)[1]) for i in range(L)]
        # Conditioning of every layer and of out1 in one matmul; the dilated-conv and
        # out1 biases are folded into its bias (all are added before the nonlinearity).
        cond_w = [g(f"cond_map_{i + 1}", 1, s.bottleneck, 2 * W)[0][0, 0] for i in range(L)]
        cond_b = [g(f"cond_map_{i + 1}", 1, s.bottleneck, 2 * W)[1]
                  + g(f"dilatedconv_{i + 1}", 3, W, 2 * W)[1] for i in range(L)]
        cw1, cb1 = g("cond_map_out1", 1, s.bottleneck, S)
        o1w, o1b = g("out1", 1, S, S)
        self._cond_w = tf.constant(np.concatenate(cond_w + [cw1[0, 0]], axis=1))
        self._cond_b = tf.constant(np.concatenate(cond_b + [cb1 + o1b]))
        # All skip projections (skip_start on the first residual input, skip_i on each
        # gate output) summed by one matmul over their concatenated inputs.
        ssw, ssb = g("skip_start", 1, W, S)
        skip_w = [ssw[0, 0]] + [g(f"skip_{i + 1}", 1, W, S)[0][0, 0] for i in range(L)]
        skip_b = ssb + sum(g(f"skip_{i + 1}", 1, W, S)[1] for i in range(L))
        self._skip_w = tf.constant(np.concatenate(skip_w, axis=0))
        self._skip_b = tf.constant(skip_b)
        self._out1_w = tf.constant(o1w[0, 0])
        lw, lb = g("logits", 1, S, NUM_CLASSES)
        self._logits_w = tf.constant(lw[0, 0])
        self._logits_b = tf.constant(lb)
        # Ring buffers of all dilated layers live in one [slots, B, W] tensor; layer i
        # owns 2·d_i slots from offset o_i, and slot o_i + t mod 2d holds x[t] (so, until
        # step t overwrites it, x[t-2d]).
        sizes = np.array([2 * d for d in self._dilations], np.int32)
        self._ring_sizes = tf.constant(sizes)
        self._ring_offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int32)
        self._num_slots = int(sizes.sum())
        # Layer i's past taps are computed at the block level min(d_i, BLOCK) (see _run).
        self._layers_at: dict[int, list[int]] = {}
        for i, d in enumerate(self._dilations):
            self._layers_at.setdefault(min(d, BLOCK), []).append(i)
        self._class_audio = tf.constant(class_to_audio_table())

    def _initial_state(self, batch: int) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        ring = tf.zeros([self._num_slots, batch, self.sizes.width], tf.float32)
        start_hist = tf.zeros([batch, 2], tf.float32)  # startconv inputs x[t-2], x[t-1]
        prev = tf.zeros([batch], tf.float32)  # network input of this step (last sample)
        return ring, start_hist, prev

    def _ring_for(self, path: str, batch: int) -> tuple[_TensorRing | _VariableRing, tf.Tensor]:
        """The ring-buffer access of `path` and its zeroed initial state."""
        if path == "xla":
            return _TensorRing(), self._initial_state(batch)[0]
        if self._ring_var is None or self._ring_var[0] != batch:
            # one batch size at a time: a new size frees the old ring and its functions
            self._chunk_fns = {k: f for k, f in self._chunk_fns.items() if k[1] != "graph"}
            self._ring_var = None
            self._ring_var = (batch, tf.Variable(self._initial_state(batch)[0],
                                                 trainable=False))
        else:
            self._ring_var[1].assign(tf.zeros_like(self._ring_var[1]))
        return _VariableRing(self._ring_var[1]), tf.constant(0)

    # The decoder runs in blocks of BLOCK steps, split recursively in halves down to
    # single steps. On entering a level of K steps from step t, every layer of dilation
    # d = K (d ≥ K at the top) gets its past taps for steps t..t+K-1 in one matmul: their
    # inputs x[t-2d+j] and x[t-d+j] are all known by then. So a layer's [2W, 2W] past
    # kernel is read once per d steps instead of every step (at batch 1 the step is
    # bound by reading weights), and the block matmuls are large. Same arithmetic as
    # one [3W, 2W] matmul per step, summed in a different order. The block's
    # conditioning terms (one encoding frame covers all K steps) are added there too.

    def _past_block(self, ring, state, i: int, t, k: int, cond) -> tf.Tensor:
        """Layer i's past-tap and conditioning terms for steps t..t+k-1 (t a multiple of
        k): [k, B, 2W]. cond [B, C]: the conditioning terms of the block's frame."""
        d, o = self._dilations[i], int(self._ring_offsets[i])
        W2 = 2 * self.sizes.width
        rows = tf.range(k)
        old = o + tf.math.floormod(t, 2 * d) + rows  # x[t-2d+j]
        mid = o + tf.math.floormod(t + d, 2 * d) + rows  # x[t-d+j]
        x = ring.read(state, tf.concat([old, mid], 0))  # [2k, B, W]
        shape = tf.shape(x)
        x = tf.concat([x[:k], x[k:]], axis=2)
        out = tf.matmul(tf.reshape(x, [-1, W2]), self._past_w[i])
        return tf.reshape(out, [k, shape[1], W2]) + cond[None, :, W2 * i: W2 * (i + 1)]

    def _conditioning(self, frames: tf.Tensor) -> tf.Tensor:
        """Encoding frames [B, K, 16] -> every layer's conditioning terms [B, K, C] (once per
        frame of 512 steps, not per step)."""
        shape = tf.shape(frames)
        c = tf.matmul(tf.reshape(frames, [-1, self.sizes.bottleneck]), self._cond_w) + self._cond_b
        return tf.reshape(c, [shape[0], shape[1], -1])

    def _step(self, ring, state, start_hist, x_in, t, cond, past):
        """One sample for every voice. x_in [B]: this step's input (q/128 of the previous
        sample); cond [B, C]: its frame's conditioning terms (only out1's are read here);
        past: layer -> (its block of past-tap and conditioning terms, the block's first
        step). Returns the new ring state, history and logits [B, 256]."""
        W = self.sizes.width
        taps = tf.concat([start_hist, x_in[:, None]], axis=1)  # [B, 3]
        l = tf.matmul(taps, self._start_w) + self._start_b
        start_hist = taps[:, 1:]
        inputs, gates = [], []
        for i in range(self.sizes.num_layers):
            inputs.append(l)
            block, t_block = past[i]
            d = tf.gather(block, t - t_block) + tf.matmul(l, self._now_w[i])
            filt, gate = tf.split(d, 2, axis=1)
            z = tf.sigmoid(filt) * tf.tanh(gate)
            gates.append(z)
            if i + 1 < self.sizes.num_layers:  # the last residual output feeds nothing
                # (bias on the product first: one fused oneDNN op in the plain graph)
                l = l + (tf.matmul(z, self._res_w[i]) + self._res_b[i])
        slots = self._ring_offsets + tf.math.floormod(t, self._ring_sizes)
        state = ring.write(state, slots, tf.stack(inputs))
        s = tf.matmul(tf.concat([inputs[0]] + gates, axis=1), self._skip_w) + self._skip_b
        s = tf.nn.relu(tf.matmul(tf.nn.relu(s), self._out1_w)
                       + cond[:, 2 * W * self.sizes.num_layers:])
        logits = tf.matmul(s, self._logits_w) + self._logits_b
        return state, start_hist, logits

    @staticmethod
    def _loop(n, body, state, carry):
        """for j < n: state, carry = body(j, state, carry), one iteration at a time."""
        def loop_body(j, state, carry):
            return (j + 1, *body(j, state, carry))
        _, state, carry = tf.while_loop(lambda j, *_: j < n, loop_body,
                                        (tf.constant(0), state, carry), parallel_iterations=1)
        return state, carry

    def _run(self, ring, state, carry, t0, num_blocks, cond_at, step):
        """Graph code: num_blocks·BLOCK steps from t0 (a multiple of BLOCK). cond_at(t) ->
        [B, C] the conditioning terms of step t's frame; step(t, state, carry, past, cond)
        -> (state, carry) does one step's work."""
        def level(k, t, state, carry, past, cond):
            past = dict(past)
            for i in self._layers_at.get(k, ()):
                past[i] = (self._past_block(ring, state, i, t, k, cond), t)
            if k == 1:
                return step(t, state, carry, past, cond)
            half = k // 2
            return self._loop(2, lambda j, state, carry: level(
                half, t + j * half, state, carry, past, cond), state, carry)

        def block(b, state, carry):
            t = t0 + b * BLOCK
            return level(BLOCK, t, state, carry, {}, cond_at(t))

        return self._loop(num_blocks, block, state, carry)

    def _chunk_fn(self, max_blocks: int, path: str = "xla") -> Callable:
        key = (max_blocks, path)
        if key not in self._chunk_fns:
            ring = _TensorRing() if path == "xla" else _VariableRing(self._ring_var[1])

            def chunk(state, start_hist, prev, t0, blocks, u, frames, frame0):
                """Run blocks·BLOCK ≤ max_blocks·BLOCK steps from sample t0. u [max steps, B]
                float64; frames [B, K, 16] encoding frames from frame index frame0."""
                codes = tf.zeros([max_blocks * BLOCK, tf.shape(u)[1]], tf.int32)
                cond = self._conditioning(frames)

                def step(t, state, carry, past, c):
                    start_hist, prev, codes = carry
                    i = t - t0
                    state, start_hist, logits = self._step(ring, state, start_hist, prev, t,
                                                           c, past)
                    cdf = tf.cumsum(tf.cast(tf.nn.softmax(logits), tf.float64), axis=1)
                    # (tf.gather, not u[i]: a sliced index would make XLA compile per t0)
                    k = tf.reduce_sum(tf.cast(cdf < tf.gather(u, i)[:, None], tf.int32), axis=1)
                    k = tf.minimum(k, NUM_CLASSES - 1)
                    codes = tf.tensor_scatter_nd_update(codes, [[i]], k[None])
                    prev = tf.cast(k - NUM_CLASSES // 2, tf.float32) / 128.0
                    return state, (start_hist, prev, codes)

                state, (start_hist, prev, codes) = self._run(
                    ring, state, (start_hist, prev, codes), t0, blocks,
                    lambda t: tf.gather(cond, t // HOP_LENGTH - frame0, axis=1), step)
                return state, start_hist, prev, codes

            self._chunk_fns[key] = tf.function(chunk, jit_compile=path == "xla")
        return self._chunk_fns[key]

    @staticmethod
    def path_for(batch: int, path: str | None = None) -> str:
        """The decoder path for a batch size: XLA below GRAPH_MIN_BATCH, else the plain
        graph; `path` ("xla" or "graph") overrides."""
        if path is None:
            return "graph" if batch >= GRAPH_MIN_BATCH else "xla"
        if path not in PATHS:
            raise BadRequest(f"unknown NSynth decoder path {path!r}; use one of {PATHS}")
        return path

    def synthesize(self, encodings: np.ndarray, seed: int = 0, *,
                   progress: ProgressFn | None = None,
                   cancelled: CancelledFn | None = None,
                   chunk_seconds: float = 1.0, max_chunk: int = 512,
                   path: str | None = None) -> SynthResult:
        """Encodings [B, T, 16] (or [T, 16]) -> audio [B, T·512], sampled with `seed`.

        Every voice draws from the same seeded stream, interleaved per step, exactly as
        magenta does for a batch. `progress(done, total)` is called between chunks of
        about `chunk_seconds` (at least BLOCK steps, at most `max_chunk`); when
        `cancelled()` turns true the audio generated so far is returned (`result.partial`).
        `path` picks the decoder ("xla" or "graph"; default by batch size, `path_for`).
        """
        enc = np.asarray(encodings, dtype=np.float32)
        if enc.ndim == 2:
            enc = enc[None]
        if enc.ndim != 3 or enc.shape[2] != self.sizes.bottleneck or enc.shape[1] == 0:
            raise BadInput(f"encodings must be [batch, frames, {self.sizes.bottleneck}] "
                           f"with at least one frame, got {enc.shape}")
        batch, frames, _ = enc.shape
        path = self.path_for(batch, path)
        total = frames * HOP_LENGTH  # a multiple of BLOCK
        rng = np.random.RandomState(seed)
        max_blocks = max(1, max_chunk // BLOCK)
        _, state = self._ring_for(path, batch)
        fn = self._chunk_fn(max_blocks, path)
        k = max_blocks * BLOCK // HOP_LENGTH + 2  # frames one chunk can touch
        enc_padded = np.concatenate([enc, np.zeros([batch, k, enc.shape[2]], np.float32)], 1)
        _, start_hist, prev = self._initial_state(batch)
        codes = np.zeros([batch, total], np.int16)
        done, blocks = 0, 1
        t_start = time.perf_counter()
        while done < total:
            if cancelled is not None and cancelled():
                break
            blocks = min(blocks, (total - done) // BLOCK)
            n = blocks * BLOCK
            u = np.zeros([max_blocks * BLOCK, batch])
            u[:n] = rng.rand(n, batch)  # row i = magenta's np.random.rand(batch) at step i
            f0 = done // HOP_LENGTH
            t0 = time.perf_counter()
            state, start_hist, prev, c = fn(state, start_hist, prev, tf.constant(done),
                                            tf.constant(blocks), tf.constant(u),
                                            tf.constant(enc_padded[:, f0:f0 + k]),
                                            tf.constant(f0))
            codes[:, done:done + n] = c.numpy()[:n].T
            done += n
            dt = time.perf_counter() - t0
            if progress is not None:
                progress(done, total)
            # Size the next chunk to about chunk_seconds (the first call also compiles).
            if done > BLOCK:
                blocks = int(np.clip(blocks * chunk_seconds / max(dt, 1e-6), 1, max_blocks))
        out = codes[:, :done]
        audio = class_to_audio_table()[out.astype(np.int64)]
        return SynthResult(audio=audio, codes=out, samples_done=done, total_samples=total,
                           seconds=time.perf_counter() - t_start)

    def teacher_forced_logits(self, inputs: np.ndarray, encodings: np.ndarray,
                              path: str | None = None) -> np.ndarray:
        """Logits [N, B, 256] of the fast generator fed audio `inputs[:, t-1]` at step t
        (input 0 at t = 0). For parity tests and scoring; runs the same step as synthesis."""
        x = network_input(np.asarray(inputs, np.float32))
        n = x.shape[1]
        path = self.path_for(x.shape[0], path)
        blocks = -(-n // BLOCK)
        x = np.concatenate([np.zeros([x.shape[0], 1], np.float32), x[:, :-1],
                            np.zeros([x.shape[0], blocks * BLOCK - n], np.float32)], axis=1)
        enc = np.asarray(encodings, np.float32)
        enc = np.concatenate([enc, np.repeat(enc[:, -1:], 1 + blocks * BLOCK // HOP_LENGTH, 1)], 1)
        ring, state0 = self._ring_for(path, x.shape[0])

        @tf.function(jit_compile=path == "xla")
        def run(state, x, enc):
            _, start_hist, _ = self._initial_state(x.shape[0])
            cond = self._conditioning(enc)

            def step(t, state, carry, past, c):
                start_hist, out = carry
                state, start_hist, logits = self._step(ring, state, start_hist, x[:, t], t, c,
                                                       past)
                return state, (start_hist, out.write(t, logits))

            out = tf.TensorArray(tf.float32, size=blocks * BLOCK)
            _, (_, out) = self._run(ring, state, (start_hist, out), tf.constant(0), blocks,
                                    lambda t: tf.gather(cond, t // HOP_LENGTH, axis=1), step)
            return out.stack()

        return run(state0, tf.constant(x), tf.constant(enc)).numpy()[:n]
