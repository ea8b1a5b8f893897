"""MelodyRNN (basic_rnn, lookback_rnn, attention_rnn) and PerformanceRNN
(performance_with_dynamics) from Magenta `.mag` bundles, natively in TF2 (melody_rnn.md).
Both are the same event RNN; only the encoding and the primer/section handling differ
(engine.music.melody_rnn, engine.music.performance_rnn).

Network: a stack of BasicLSTMCells (same math as engine.models.lstm: [x, h] @ kernel,
gates i, j, f, o, forget bias 1.0), then `fully_connected` logits. attention_rnn wraps the
first layer (today's magenta) or the whole stack (older bundles) in an AttentionCellWrapper
over the last `attn_length` outputs; which one is read from the variable names.
Layer count and widths come from the checkpoint shapes. Variable names of every TF
generation (kernel/bias, weights/biases, Linear/Matrix/Bias, CamelCase scopes) are
normalised to today's names before use.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import note_seq
import numpy as np
from note_seq import NoteSequence

from engine.errors import BadInput, CheckpointError
from engine.music import melody_rnn as mr
from engine.music import performance_rnn as pr

CONFIGS = mr.CONFIGS + pr.CONFIGS

OUTPUT_KERNEL, OUTPUT_BIAS = "fully_connected/weights", "fully_connected/biases"
# Optimizer slots and counters some bundles carry: never read (they triple the memory).
_TRAINING_ONLY = re.compile(r"(/Adam(_\d+)?$|/Momentum$|^beta[12]_power|global_step$)")
WRAPPER = "attention_cell_wrapper"

# Older names -> today's (applied in order to the lowercased name).
_RENAMES = [
    (r"/linear/matrix$", "/kernel"), (r"/linear/bias$", "/bias"),
    (r"/weights$", "/kernel"), (r"/biases$", "/bias"), (r"/matrix$", "/kernel"),
    (r"multirnncell", "multi_rnn_cell"), (r"\bcell(\d+)\b", r"cell_\1"),
    (r"basiclstmcell", "basic_lstm_cell"), (r"attentioncellwrapper", WRAPPER),
    (r"attnoutputprojection", "attn_output_projection"),
    (r"attention_output_projection", "attn_output_projection"),
    (r"/attention_0/", "/attention/"),
    (r"(?<!/attention)/attnw(_0)?$", "/attention/attn_w"),
    (r"(?<!/attention)/attnv(_0)?$", "/attention/attn_v"),
    (r"/attnw(_0)?$", "/attn_w"), (r"/attnv(_0)?$", "/attn_v"),
]


def encoder_decoder(config: str):
    """note-seq's encoder-decoder for any supported config."""
    return pr.encoder_decoder(config) if config in pr.CONFIGS else mr.encoder_decoder(config)


def normalise_name(name: str) -> str:
    if name in (OUTPUT_KERNEL, OUTPUT_BIAS):
        return name
    n = name.lower()
    for pat, rep in _RENAMES:
        n = re.sub(pat, rep, n)
    return n


def expected_variables(config: str) -> dict[str, tuple[int, ...] | None]:
    """Variables every bundle of `config` holds, in today's naming (`normalise_name` maps
    older generations). Widths vary, so only the class count is a fixed shape. For
    attention_rnn only the output layer: where the attention wrapper's variables live
    depends on the bundle's structure (first layer or whole stack). Used by `models verify`."""
    enc = encoder_decoder(config)
    out: dict[str, tuple[int, ...] | None] = {
        OUTPUT_KERNEL: (-1, enc.num_classes), OUTPUT_BIAS: (enc.num_classes,)}
    if config != "attention_rnn":
        out["rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel"] = None  # [in + units, 4 units]
        out["rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias"] = None
    return out


@dataclass
class _Attention:
    in_kernel: np.ndarray  # [input + attn, input]
    in_bias: np.ndarray
    attn_w: np.ndarray  # [attn, attn_vec]
    attn_v: np.ndarray  # [attn_vec]
    query_kernel: np.ndarray  # [state, attn_vec]
    query_bias: np.ndarray
    out_kernel: np.ndarray  # [cell_out + attn, attn]
    out_bias: np.ndarray
    length: int
    layers: int  # how many LSTM layers it wraps (1: first only; all: whole stack)


@dataclass
class Weights:
    lstm: list[tuple[np.ndarray, np.ndarray]]  # (kernel [in + units, 4 units], bias)
    out_kernel: np.ndarray
    out_bias: np.ndarray
    attention: _Attention | None = None

    @property
    def units(self) -> list[int]:
        return [b.shape[0] // 4 for _, b in self.lstm]


def _get(vars_: dict[str, np.ndarray], name: str, where: str) -> np.ndarray:
    if name not in vars_:
        raise CheckpointError(f"{where}: variable {name} is missing (found: "
                              f"{', '.join(sorted(vars_)[:12])}...); is this a MelodyRNN "
                              f"bundle?", file=where)
    return vars_[name]


def read_weights(vars_: dict[str, np.ndarray], where: str, attn_length: int) -> Weights:
    """Map normalised checkpoint variables to the network's weights."""
    cells: dict[int, str] = {}  # layer -> variable prefix ending in basic_lstm_cell/
    for name in vars_:
        m = re.search(r"cell_(\d+)/(?:.*/)?basic_lstm_cell/kernel$", name)
        if m:
            cells[int(m.group(1))] = name[: -len("kernel")]
    if not cells:  # a single layer without MultiRNNCell
        cells = {0: n[: -len("kernel")] for n in vars_ if n.endswith("basic_lstm_cell/kernel")}
    if not cells:
        raise CheckpointError(f"{where}: no LSTM layers found; is this a MelodyRNN bundle?",
                              file=where)
    lstm = [(_get(vars_, cells[k] + "kernel", where), _get(vars_, cells[k] + "bias", where))
            for k in sorted(cells)]
    w = Weights(lstm, _get(vars_, OUTPUT_KERNEL, where), _get(vars_, OUTPUT_BIAS, where))
    wrapper = sorted({n[: n.index(WRAPPER) + len(WRAPPER)] for n in vars_ if WRAPPER in n})
    if wrapper:
        base = wrapper[0]
        whole = not re.search(r"cell_\d+/" + WRAPPER + "$", base)  # wraps the stack
        g = lambda s: _get(vars_, f"{base}/{s}", where)  # noqa: E731
        attn_w = g("attention/attn_w")
        w.attention = _Attention(
            g("kernel"), g("bias"), attn_w.reshape(attn_w.shape[-2], attn_w.shape[-1]),
            g("attention/attn_v"), g("attention/kernel"), g("attention/bias"),
            g("attn_output_projection/kernel"), g("attn_output_projection/bias"),
            attn_length, len(lstm) if whole else 1)
    return w


class MelodyRnn:
    """A loaded bundle. `continue_sequence` is what jobs call."""

    def __init__(self, config: str, weights: Weights, name: str = ""):
        import tensorflow as tf

        self.config = config
        self.name = name or config
        self.enc = encoder_decoder(config)
        self.weights = weights
        in_size = weights.lstm[0][0].shape[0] - weights.units[0]
        if weights.attention is not None:
            in_size = weights.attention.in_kernel.shape[1]
        if in_size != self.enc.input_size or weights.out_bias.shape[0] != self.enc.num_classes:
            raise CheckpointError(
                f"{self.name}: the checkpoint's input/output sizes ({in_size}, "
                f"{weights.out_bias.shape[0]}) do not match {config} ({self.enc.input_size}, "
                f"{self.enc.num_classes}); is the bundle's config right?")
        c = lambda a: tf.constant(a, tf.float32)  # noqa: E731
        self._lstm = [(c(k), c(b)) for k, b in weights.lstm]
        self._out = (c(weights.out_kernel), c(weights.out_bias))
        a = weights.attention
        self._attn = None if a is None else {
            k: c(getattr(a, k)) for k in ("in_kernel", "in_bias", "attn_w", "attn_v",
                                          "query_kernel", "query_bias", "out_kernel",
                                          "out_bias")}
        self._step_fn = tf.function(self._step, reduce_retracing=True)

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, path: str | Path, config: str | None = None, name: str = "") -> "MelodyRnn":
        """Load a `.mag` bundle; its generator id names the config unless `config` does."""
        import tensorflow as tf

        from engine.models.mag_bundle import read_bundle, write_checkpoint

        bundle = read_bundle(path)
        config = config or bundle.generator_id
        if config not in CONFIGS:
            raise CheckpointError(f"{path}: bundle for {config!r}, which magstation's event "
                                  f"RNNs do not know ({', '.join(CONFIGS)})", file=str(path))
        with tempfile.TemporaryDirectory(prefix="magstation-mag-") as tmp:
            prefix = write_checkpoint(bundle, Path(tmp))
            try:
                reader = tf.train.load_checkpoint(str(prefix))
                vars_ = {normalise_name(n): reader.get_tensor(n)
                         for n in reader.get_variable_to_shape_map()
                         if not _TRAINING_ONLY.search(n)}
            except Exception as e:  # tf.errors.*
                raise CheckpointError(f"{path}: the bundle's checkpoint cannot be read "
                                      f"({type(e).__name__}); download it again",
                                      file=str(path)) from None
        weights = read_weights(vars_, str(path), mr.ATTN_LENGTH.get(config, 0))
        return cls(config, weights, name or Path(path).stem)

    # ------------------------------------------------------------------ network
    def zero_state(self):
        import tensorflow as tf

        state = [(tf.zeros([1, u]), tf.zeros([1, u])) for u in self.weights.units]
        if self._attn is None:
            return state, ()
        a = self.weights.attention
        size = int(a.out_bias.shape[0])
        return state, (tf.zeros([1, size]), tf.zeros([1, a.length, size]))

    def _layers(self, x, state, lo: int, hi: int):
        from engine.models.lstm import lstm_step

        new = list(state)
        for k in range(lo, hi):
            kernel, bias = self._lstm[k]
            c, h = lstm_step(x, state[k][0], state[k][1], kernel, bias)
            new[k] = (c, h)
            x = h
        return x, new

    def _step(self, x, state, attn_state):
        """One RNN step for a [1, input] vector -> (logits [1, classes], state, attn)."""
        import tensorflow as tf

        n = len(self._lstm)
        if self._attn is None:
            h, state = self._layers(x, state, 0, n)
        else:
            a, p = self.weights.attention, self._attn
            attns, history = attn_state
            x = tf.matmul(tf.concat([x, attns], -1), p["in_kernel"]) + p["in_bias"]
            cell_out, state = self._layers(x, state, 0, a.layers)
            query = tf.concat([t for k in range(a.layers) for t in state[k]], -1)
            features = tf.einsum("bla,av->blv", history, p["attn_w"])
            y = tf.matmul(query, p["query_kernel"]) + p["query_bias"]
            score = tf.reduce_sum(p["attn_v"] * tf.tanh(features + y[:, None, :]), -1)
            weights = tf.nn.softmax(score, -1)
            new_attns = tf.reduce_sum(weights[:, :, None] * history, 1)
            out = tf.matmul(tf.concat([cell_out, new_attns], -1), p["out_kernel"]) + p["out_bias"]
            attn_state = (new_attns, tf.concat([history[:, 1:], out[:, None, :]], 1))
            h, state = self._layers(out, state, a.layers, n)
        logits = tf.matmul(h, self._out[0]) + self._out[1]
        return logits, state, attn_state

    def stepper(self):
        """A fresh `step(input_vector) -> logits` closure over a zero state."""
        import tensorflow as tf

        state, attn = self.zero_state()
        box = [state, attn]

        def step(x: np.ndarray) -> np.ndarray:
            logits, box[0], box[1] = self._step_fn(tf.constant(x[None, :]), box[0], box[1])
            return logits.numpy()[0]

        return step

    def softmax_of(self, events, temperature: float = 1.0) -> np.ndarray:
        """Teacher forced: the model's softmax after each event of an EventSequence."""
        step = self.stepper()
        out = []
        for pos in range(len(events)):
            z = step(np.asarray(self.enc.events_to_input(events, pos), np.float32)) / temperature
            p = np.exp(z - z.max())
            out.append(p / p.sum())
        return np.stack(out)

    # ------------------------------------------------------------------ generation
    def generate(self, primer: NoteSequence, start_time: float, end_time: float,
                 temperature: float = 1.0, seed: int = 0, choose: mr.Choose | None = None,
                 progress: mr.Progress | None = None) -> "Continuation":
        """MelodyRnnSequenceGenerator.generate for the section [start_time, end_time):
        returns primer + continuation (magenta's output) and the continuation's notes."""
        if not temperature > 0:
            raise BadInput(f"temperature must be above 0, got {temperature}")
        if self.config in pr.CONFIGS:
            return self._generate_performance(primer, start_time, end_time, temperature,
                                              choose or mr.sampler(seed), progress)
        prep = mr.prepare_primer(primer, start_time, end_time)
        melody = prep.melody
        dists = mr.generate_events(melody, prep.num_steps, self.enc, self.stepper(),
                                   temperature, choose or mr.sampler(seed), progress)
        seq = mr.melody_sequence(melody, prep.transpose, prep.qpm)
        cont = [n for n in seq.notes if n.start_time >= start_time - 1e-6]
        return Continuation(seq, cont, prep.warnings, np.stack(dists) if dists else
                            np.zeros((0, self.enc.num_classes)), start_time)

    def _generate_performance(self, primer, start_time, end_time, temperature, choose,
                              progress=None):
        """PerformanceRnnSequenceGenerator.generate (one generation pass, as magenta's
        generator map configures it; the result is cut or padded to the section)."""
        prep = pr.prepare_primer(primer, self.config, start_time, end_time)
        perf = prep.performance
        dists = mr.generate_events(perf, prep.rnn_steps, self.enc, self.stepper(),
                                   temperature, choose, progress)
        seq = pr.performance_sequence(perf, prep.total_steps)
        cont = [n for n in seq.notes if n.start_time >= start_time - 1e-6]
        return Continuation(seq, cont, prep.warnings, np.stack(dists), start_time)

    def continue_sequence(self, primer: NoteSequence, steps: int, temperature: float = 1.0,
                          seed: int = 0, progress: mr.Progress | None = None
                          ) -> "Continuation":
        """Continue `primer` for `steps` 16th notes (at the primer's tempo) after its last
        note ends (plain sampling, no beam search, as magenta's generators by default)."""
        qpm = float(primer.tempos[0].qpm) if primer.tempos else mr.DEFAULT_QPM
        start = max((n.end_time for n in primer.notes), default=0.0)
        start = max(start, primer.total_time)
        return self.generate(primer, start, start + steps * 60.0 / qpm / mr.STEPS_PER_QUARTER,
                             temperature, seed, progress=progress)


@dataclass
class Continuation:
    sequence: NoteSequence  # primer + continuation, as magenta returns it
    notes: list  # the continuation's NoteSequence.Note objects
    warnings: list[str] = field(default_factory=list)
    softmax: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    start_time: float = 0.0  # where the continuation starts (seconds)

    def note_rows(self) -> list[list[float]]:
        return [[n.start_time, n.end_time, n.pitch, n.velocity] for n in self.notes]


def sequence_from_notes(notes, qpm: float = mr.DEFAULT_QPM) -> NoteSequence:
    """A NoteSequence from [start, end, pitch, velocity] rows (seconds)."""
    from engine.music.sequences import new_sequence

    ns = new_sequence(qpm)
    for row in notes:
        if not isinstance(row, (list, tuple)) or len(row) != 4:
            raise BadInput(f"a primer note must be [start, end, pitch, velocity], got {row!r}")
        s, e, p, v = row
        if not (0 <= float(s) < float(e)) or not 0 <= int(p) <= 127 or not 0 < int(v) <= 127:
            raise BadInput(f"bad primer note {row!r}: need 0 <= start < end, pitch 0-127, "
                           f"velocity 1-127")
        ns.notes.add(start_time=float(s), end_time=float(e), pitch=int(p), velocity=int(v))
    ns.total_time = max((n.end_time for n in ns.notes), default=0.0)
    return ns


__all__ = ["MelodyRnn", "Continuation", "expected_variables", "sequence_from_notes",
           "normalise_name", "note_seq"]
