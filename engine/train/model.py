"""A trainable MusicVAE / GrooVAE with the official checkpoint variable names.

The variables are plain `tf.Variable`s in a dict keyed by the names of the official graph
(engine.models.musicvae_configs.variables_for), at any width, so a saved checkpoint is read
by `engine.models.musicvae.MusicVae.load` exactly like an official one. The LSTM cell math
is engine.models.lstm's; this module adds teacher forcing, the losses and the KL term as
Magenta trains them (musicvae.md §3):

    r_loss  = Σ_t step loss (categorical: softmax CE over the 512 drum classes; GrooVAE:
              Σ_classes sigmoid CE of the hits + (v - σ(v̂))² + (o - tanh(ô))²)
    kl      = KL(N(μ, σ) || N(0, I)) summed over z
    loss    = mean(r_loss) + β · mean(max(kl - free_bits·ln 2, 0))
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import tensorflow as tf

from engine.models.lstm import lstm_gates_step, lstm_step
from engine.models.musicvae_configs import ENC_LSTM, MusicVaeConfig, get_config, variables_for


@dataclass(frozen=True)
class Widths:
    z: int
    enc: int
    dec: tuple[int, ...]


# Named widths for `--width`. "official" is the released checkpoints' size.
WIDTHS: dict[str, Widths] = {
    "tiny": Widths(z=16, enc=32, dec=(32, 32)),
    "small": Widths(z=64, enc=256, dec=(128, 128)),
}


def widths_for(config: MusicVaeConfig, name: str) -> Widths:
    if name == "official":
        return Widths(config.z_size, config.enc_rnn_size[0], config.dec_rnn_size)
    try:
        w = WIDTHS[name]
    except KeyError:
        raise KeyError(f"unknown width {name!r}; use one of: official, "
                       f"{', '.join(WIDTHS)}") from None
    # the official number of decoder layers (cat-mel has 3): the loader reads those names
    return Widths(w.z, w.enc, (w.dec[0],) * len(config.dec_rnn_size))


@dataclass(frozen=True)
class HParams:
    """Training settings; defaults per config come from `default_hparams`."""
    free_bits: float
    max_beta: float
    beta_rate: float = 0.0
    learning_rate: float = 1e-3
    decay_rate: float = 0.9999
    min_learning_rate: float = 1e-5
    grad_clip: float = 1.0
    dropout_keep: float = 1.0
    batch_size: int = 64

    def to_dict(self) -> dict:
        return asdict(self)


def default_hparams(config: str) -> HParams:
    """Magenta's configs.py settings (free bits 48, β 0.2 for both drum configs), except
    GrooVAE's input dropout: keep 0.7 instead of 0.3, since a starter model trains for
    minutes, not days. (Free bits 0 and β 0.8, the released "lokl" drums settings, made
    the small model's KL collapse to ~0 bits within 200 steps: z was ignored.)"""
    if config.startswith("groovae"):
        return HParams(free_bits=48.0, max_beta=0.2, dropout_keep=0.7)
    return HParams(free_bits=48.0, max_beta=0.2)


def _glorot(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    limit = math.sqrt(6.0 / (shape[0] + shape[-1]))
    return rng.uniform(-limit, limit, shape).astype(np.float32)


class TrainableMusicVae:
    """The trainable variables of one config at given widths, and its forward pass."""

    def __init__(self, config_name: str, widths: Widths, seed: int = 0) -> None:
        self.config = get_config(config_name)
        if self.config.decoder not in ("categorical", "groove") or len(self.config.enc_rnn_size) != 1:
            raise ValueError(f"training {config_name} is not supported: only flat categorical "
                             f"and GrooVAE 2-bar configs")
        self.widths = widths
        self.shapes = variables_for(self.config, z_size=widths.z, enc_rnn_size=(widths.enc,),
                                    dec_rnn_size=widths.dec)
        rng = np.random.default_rng(seed)
        self.variables: dict[str, tf.Variable] = {}
        for name, shape in sorted(self.shapes.items()):
            init = _glorot(rng, shape) if name.endswith("kernel") else np.zeros(shape, np.float32)
            self.variables[name] = tf.Variable(init, name=name.replace("/", "__"))

    @property
    def names(self) -> list[str]:
        return sorted(self.variables)

    def _v(self, name: str) -> tf.Variable:
        return self.variables[name]

    # -- forward

    def encode(self, x: tf.Tensor, keep: float = 1.0, seed: tf.Tensor | None = None
               ) -> tuple[tf.Tensor, tf.Tensor]:
        """(mu, sigma) of full-length inputs x [B, T, input_depth]."""
        finals = []
        for i, direction in enumerate(("fw", "bw")):
            p = ENC_LSTM.format(level=0, direction=direction)
            seq = x if direction == "fw" else tf.reverse(x, axis=[1])
            seq = _dropout(seq, keep, seed, 10 + i)
            kernel, bias = self._v(f"{p}/kernel"), self._v(f"{p}/bias")
            depth = x.shape[-1]
            gx = tf.einsum("btd,dg->btg", seq, kernel[:depth]) + bias
            w_h = kernel[depth:]
            units = bias.shape[0] // 4
            c = h = tf.zeros([tf.shape(x)[0], units])
            for t in range(x.shape[1]):
                c, h = lstm_gates_step(gx[:, t] + tf.matmul(h, w_h), c)
            finals.append(h)
        final = tf.concat(finals, axis=-1)
        mu = tf.matmul(final, self._v("encoder/mu/kernel")) + self._v("encoder/mu/bias")
        sigma = tf.nn.softplus(tf.matmul(final, self._v("encoder/sigma/kernel"))
                               + self._v("encoder/sigma/bias"))
        return mu, sigma

    def decode_logits(self, z: tf.Tensor, targets: tf.Tensor, keep: float = 1.0,
                      seed: tf.Tensor | None = None) -> tf.Tensor:
        """Teacher forcing: step t reads [targets[t-1] (zeros at t=0), z]. [B, T, out]."""
        depth = targets.shape[-1]
        prev = tf.concat([tf.zeros_like(targets[:, :1]), targets[:, :-1]], axis=1)
        state = tf.tanh(tf.matmul(z, self._v("decoder/z_to_initial_state/kernel"))
                        + self._v("decoder/z_to_initial_state/bias"))
        sizes = [u for u in self.widths.dec for _ in (0, 1)]
        chunks = tf.split(state, sizes, axis=-1)
        states = [(chunks[2 * k], chunks[2 * k + 1]) for k in range(len(self.widths.dec))]
        cell = "decoder/multi_rnn_cell/cell_{}/lstm_cell"
        k0, b0 = self._v(cell.format(0) + "/kernel"), self._v(cell.format(0) + "/bias")
        zdim = z.shape[-1]
        inp = _dropout(tf.concat([prev, tf.repeat(z[:, None], tf.shape(prev)[1], axis=1)], -1),
                       keep, seed, 20)
        gx = tf.einsum("btd,dg->btg", inp, k0[:depth + zdim]) + b0
        w_h0 = k0[depth + zdim:]
        tops = []
        for t in range(targets.shape[1]):
            c, h = lstm_gates_step(gx[:, t] + tf.matmul(states[0][1], w_h0), states[0][0])
            states[0] = (c, h)
            x = h
            for k in range(1, len(states)):
                x = _dropout(x, keep, seed, 30 + 100 * k + t)
                c, h = lstm_step(x, states[k][0], states[k][1], self._v(cell.format(k) + "/kernel"),
                                 self._v(cell.format(k) + "/bias"))
                states[k] = (c, h)
                x = h
            tops.append(x)
        top = tf.stack(tops, axis=1)
        return (tf.einsum("btu,ud->btd", top, self._v("decoder/output_projection/kernel"))
                + self._v("decoder/output_projection/bias"))

    # -- losses

    def reconstruction_loss(self, targets: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
        """Per-example reconstruction loss summed over time, [B]."""
        if self.config.decoder == "categorical":
            ce = tf.nn.softmax_cross_entropy_with_logits(labels=targets, logits=logits)
            return tf.reduce_sum(ce, axis=1)
        hits, vels, offs = tf.split(targets, 3, axis=-1)
        hl, vl, ol = tf.split(logits, 3, axis=-1)
        per = (tf.nn.sigmoid_cross_entropy_with_logits(labels=hits, logits=hl)
               + tf.square(vels - tf.sigmoid(vl)) + tf.square(offs - tf.tanh(ol)))
        return tf.reduce_sum(per, axis=[1, 2])

    def losses(self, inputs: tf.Tensor, targets: tf.Tensor, hp: HParams, beta: tf.Tensor,
               seed: tf.Tensor, training: bool = True) -> dict[str, tf.Tensor]:
        keep = hp.dropout_keep if training else 1.0
        mu, sigma = self.encode(inputs, keep, seed)
        eps = tf.random.stateless_normal(tf.shape(mu), seed)
        z = mu + sigma * eps
        logits = self.decode_logits(z, targets, keep, seed)
        r = self.reconstruction_loss(targets, logits)
        kl = tf.reduce_sum(0.5 * (tf.square(mu) + tf.square(sigma) - 1.0)
                           - tf.math.log(sigma + 1e-12), axis=-1)
        kl_cost = tf.maximum(kl - hp.free_bits * math.log(2.0), 0.0)
        loss = tf.reduce_mean(r) + beta * tf.reduce_mean(kl_cost)
        return {"loss": loss, "r_loss": tf.reduce_mean(r), "kl_bits": tf.reduce_mean(kl) / math.log(2.0),
                "accuracy": self.accuracy(targets, logits)}

    def accuracy(self, targets: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
        """Categorical: steps whose argmax is the target; GrooVAE: hit cells right at 0.5."""
        if self.config.decoder == "categorical":
            same = tf.equal(tf.argmax(logits, -1), tf.argmax(targets, -1))
        else:
            n = targets.shape[-1] // 3
            same = tf.equal(logits[..., :n] > 0, targets[..., :n] > 0.5)
        return tf.reduce_mean(tf.cast(same, tf.float32))


def _dropout(x: tf.Tensor, keep: float, seed: tf.Tensor | None, salt: int) -> tf.Tensor:
    """Input dropout of a DropoutWrapper (identity when keep is 1)."""
    if keep >= 1.0 or seed is None:
        return x
    return tf.nn.experimental.stateless_dropout(x, rate=1.0 - keep, seed=seed + salt)
