"""A trainable MelodyRNN (magenta's events_rnn_graph) in TF2, with the variables under the
names a TF >= 1.2 magenta run saves, so engine.models.melody_rnn reads the result like an
official bundle:

    rnn/multi_rnn_cell/cell_K/basic_lstm_cell/{kernel,bias}
    rnn/multi_rnn_cell/cell_0/attention_cell_wrapper/{kernel,bias}             (attention_rnn:
    rnn/multi_rnn_cell/cell_0/attention_cell_wrapper/basic_lstm_cell/...        today's magenta
    rnn/multi_rnn_cell/cell_0/attention_cell_wrapper/attention/{attn_w,attn_v,kernel,bias}
    rnn/multi_rnn_cell/cell_0/attention_cell_wrapper/attn_output_projection/{kernel,bias}
    fully_connected/{weights,biases}                                            wraps layer 0)

Math as the inference side (BasicLSTMCell with forget bias 1.0, contrib's
AttentionCellWrapper, DropoutWrapper on each layer's output while training).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CELL = "rnn/multi_rnn_cell/cell_{}/"
WRAP = "rnn/multi_rnn_cell/cell_0/attention_cell_wrapper/"


@dataclass(frozen=True)
class RnnShape:
    input_size: int
    num_classes: int
    layers: tuple[int, ...]
    attn_length: int = 0  # 0: no attention


def variable_shapes(s: RnnShape) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    x = s.input_size
    for k, u in enumerate(s.layers):
        prefix = (WRAP if k == 0 and s.attn_length else CELL.format(k)) + "basic_lstm_cell/"
        shapes[prefix + "kernel"] = (x + u, 4 * u)
        shapes[prefix + "bias"] = (4 * u,)
        x = u
    if s.attn_length:
        u = s.layers[0]
        shapes |= {WRAP + "kernel": (s.input_size + u, s.input_size), WRAP + "bias": (s.input_size,),
                   WRAP + "attention/attn_w": (1, 1, u, u), WRAP + "attention/attn_v": (u,),
                   WRAP + "attention/kernel": (2 * u, u), WRAP + "attention/bias": (u,),
                   WRAP + "attn_output_projection/kernel": (2 * u, u),
                   WRAP + "attn_output_projection/bias": (u,)}
    shapes["fully_connected/weights"] = (s.layers[-1], s.num_classes)
    shapes["fully_connected/biases"] = (s.num_classes,)
    return shapes


def initial_values(s: RnnShape, seed: int) -> dict[str, np.ndarray]:
    """Glorot-uniform matrices (TF1's default initializer), zero biases."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in sorted(variable_shapes(s).items()):
        if len(shape) == 1:
            out[name] = np.zeros(shape, np.float32)
            continue
        fan_in, fan_out = int(np.prod(shape[:-1])), shape[-1]
        lim = np.sqrt(6.0 / (fan_in + fan_out))
        out[name] = rng.uniform(-lim, lim, shape).astype(np.float32)
    return out


class TrainableEventRnn:
    def __init__(self, shape: RnnShape, seed: int = 0) -> None:
        import tensorflow as tf

        self.tf = tf
        self.shape = shape
        self.variables = {n: tf.Variable(v, name=n.replace("/", "_"))
                          for n, v in initial_values(shape, seed).items()}
        self.names = sorted(self.variables)

    def _lstm(self, k: int, x, c, h):
        from engine.models.lstm import lstm_step

        prefix = (WRAP if k == 0 and self.shape.attn_length else CELL.format(k)) + "basic_lstm_cell/"
        return lstm_step(x, c, h, self.variables[prefix + "kernel"], self.variables[prefix + "bias"])

    def logits(self, inputs, keep: float, seed):
        """inputs [B, T, in] -> logits [B, T, classes]; `keep` < 1 applies dropout."""
        tf = self.tf
        s, v = self.shape, self.variables
        b = tf.shape(inputs)[0]
        steps = tf.shape(inputs)[1]
        state = [(tf.zeros([b, u]), tf.zeros([b, u])) for u in s.layers]
        u0 = s.layers[0]
        attns = tf.zeros([b, u0])
        history = tf.zeros([b, max(s.attn_length, 1), u0])
        xs = tf.transpose(inputs, [1, 0, 2])
        outs = tf.TensorArray(tf.float32, size=steps)

        def drop(t, k, i):
            if keep >= 1.0:
                return t
            return tf.nn.experimental.stateless_dropout(
                t, 1.0 - keep, seed=tf.stack([seed[0], seed[1] * 1009 + i * 8 + k]))

        def body(i, state, attns, history, outs):
            x = xs[i]
            new = list(state)
            if s.attn_length:
                x = tf.matmul(tf.concat([x, attns], -1), v[WRAP + "kernel"]) + v[WRAP + "bias"]
                c, h = self._lstm(0, x, *state[0])
                new[0] = (c, h)
                query = tf.concat([c, h], -1)
                attn_w = tf.reshape(v[WRAP + "attention/attn_w"], [u0, u0])
                features = tf.einsum("bla,av->blv", history, attn_w)
                y = tf.matmul(query, v[WRAP + "attention/kernel"]) + v[WRAP + "attention/bias"]
                score = tf.reduce_sum(v[WRAP + "attention/attn_v"] * tf.tanh(features + y[:, None, :]), -1)
                a = tf.nn.softmax(score, -1)
                attns = tf.reduce_sum(a[:, :, None] * history, 1)
                out = tf.matmul(tf.concat([h, attns], -1), v[WRAP + "attn_output_projection/kernel"]) \
                    + v[WRAP + "attn_output_projection/bias"]
                history = tf.concat([history[:, 1:], out[:, None, :]], 1)
                x = drop(out, 0, i)
                first = 1
            else:
                first = 0
            for k in range(first, len(s.layers)):
                c, h = self._lstm(k, x, *state[k])
                new[k] = (c, h)
                x = drop(h, k, i)
            return i + 1, new, attns, history, outs.write(i, x)

        _, _, _, _, outs = tf.while_loop(lambda i, *_: i < steps, body,
                                         (0, state, attns, history, outs))
        h = tf.transpose(outs.stack(), [1, 0, 2])
        return tf.einsum("btu,uc->btc", h, v["fully_connected/weights"]) + v["fully_connected/biases"]

    def losses(self, x, y, mask, keep: float, seed):
        """Mean cross-entropy per event (nats) and accuracy over the unmasked steps."""
        tf = self.tf
        logits = self.logits(x, keep, seed)
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        n = tf.maximum(tf.reduce_sum(mask), 1.0)
        correct = tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), y), tf.float32)
        return {"loss": tf.reduce_sum(ce * mask) / n,
                "accuracy": tf.reduce_sum(correct * mask) / n, "events": n}
