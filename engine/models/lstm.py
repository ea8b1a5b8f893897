"""The LSTMBlockCell math MusicVAE uses (musicvae.md §2.1), written with plain TF ops.

Kernel rows are [input; h], gate columns are [i, c~, f, o] (TF's ICFO layout), a forget
bias of 1.0 is added at run time, no peepholes, no cell clipping.
"""

from __future__ import annotations

import tensorflow as tf

FORGET_BIAS = 1.0


def lstm_gates_step(gates: tf.Tensor, c: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """One step from precomputed pre-activations `gates` = [x, h] @ kernel + bias.
    Returns the new (c, h)."""
    i, j, f, o = tf.split(gates, 4, axis=-1)
    c = tf.sigmoid(f + FORGET_BIAS) * c + tf.sigmoid(i) * tf.tanh(j)
    return c, tf.sigmoid(o) * tf.tanh(c)


def lstm_step(x: tf.Tensor, c: tf.Tensor, h: tf.Tensor, kernel: tf.Tensor,
              bias: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """One LSTMBlockCell step with the checkpoint's fused kernel [in + units, 4 * units]."""
    return lstm_gates_step(tf.matmul(tf.concat([x, h], axis=-1), kernel) + bias, c)
