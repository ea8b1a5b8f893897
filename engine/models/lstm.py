"""The LSTMBlockCell math MusicVAE uses (musicvae.md §2.1), written with plain TF ops.

Kernel rows are [input; h], gate columns are [i, c~, f, o] (TF's ICFO layout), a forget
bias of 1.0 is added at run time, no peepholes, no cell clipping.

Step loops are op-dispatch bound at small batches, so MusicVAE keeps a step to few ops:
it folds the forget bias into the bias once (`fold_forget_bias`, then `forget_bias=0`),
and that path takes one sigmoid over all four gates (the c~ quarter is computed and
unused, cheaper than three slices). Same math; the last bits can differ from the
reference formulation, which `forget_bias != 0` keeps.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

FORGET_BIAS = 1.0


def fold_forget_bias(bias: np.ndarray, forget_bias: float = FORGET_BIAS) -> np.ndarray:
    """A checkpoint bias [4u] with the run-time forget bias added to its f quarter."""
    bias = np.array(bias, np.float32)
    u = bias.shape[0] // 4
    bias[2 * u:3 * u] += np.float32(forget_bias)
    return bias


def lstm_gates_step(gates: tf.Tensor, c: tf.Tensor,
                    forget_bias: float = FORGET_BIAS) -> tuple[tf.Tensor, tf.Tensor]:
    """One step from precomputed pre-activations `gates` = [x, h] @ kernel + bias
    (`forget_bias=0` when the bias already holds it). Returns the new (c, h)."""
    if forget_bias:  # the reference formulation (Melody RNN's goldens are this tight)
        i, j, f, o = tf.split(gates, 4, axis=-1)
        c = tf.sigmoid(f + forget_bias) * c + tf.sigmoid(i) * tf.tanh(j)
        return c, tf.sigmoid(o) * tf.tanh(c)
    i, _, f, o = tf.split(tf.sigmoid(gates), 4, axis=-1)
    j = tf.split(gates, 4, axis=-1)[1]
    c = f * c + i * tf.tanh(j)
    return c, o * tf.tanh(c)


def lstm_step(x: tf.Tensor, c: tf.Tensor, h: tf.Tensor, kernel: tf.Tensor,
              bias: tf.Tensor, forget_bias: float = FORGET_BIAS) -> tuple[tf.Tensor, tf.Tensor]:
    """One LSTMBlockCell step with the checkpoint's fused kernel [in + units, 4 * units]."""
    return lstm_gates_step(tf.matmul(tf.concat([x, h], axis=-1), kernel) + bias, c, forget_bias)
