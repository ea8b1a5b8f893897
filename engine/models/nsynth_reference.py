"""The NSynth WaveNet decoder written plainly: Magenta's `h512_bo16` decoder as causal
convolutions over a whole sequence, in numpy (float64), with none of the speed work of
`engine.models.nsynth` (ring buffers, past taps a block at a time, fused conditioning and
skip products, XLA or oneDNN graphs).

It is here to be read, and to check the fast generator: fed the same audio, both give the
same logits, and these match Magenta's fastgen goldens (tests/test_nsynth_reference.py).
Every step would redo the whole sequence, so nothing synthesises with it.

The network (Magenta's `wavenet/h512_bo16.py` decoder, restated), for audio x and encoding
frames en (one per 512 samples):

    x'  = μ-law(x) / 128, shifted right one step (step t sees x[t-1])
    l   = startconv(x')                                   causal, 3 taps
    s   = skip_start(l)                                   1x1
    for layer i = 1..L, dilation d = 2^((i-1) mod 10):
        z  = dilatedconv_i(l, taps t-2d, t-d, t) + cond_map_i(en)    [.., 2W]
        z  = sigmoid(z[:W]) * tanh(z[W:])
        l += res_i(z);  s += skip_i(z)                    1x1 each
    s   = relu(out1(relu(s)) + cond_map_out1(en))
    logits = logits(s)                                    [.., 256]

A conv's kernel `name/W` is [1, k, C_in, C_out]; tap j of k reads x[t - (k-1-j)·d]; the
conditioning of step t comes from frame t // 512.
"""

from __future__ import annotations

import numpy as np

from engine.audio.mulaw import network_input

HOP_LENGTH = 512
NUM_STAGES = 10


def decoder_logits(weights: dict[str, np.ndarray], audio: np.ndarray,
                   encodings: np.ndarray) -> np.ndarray:
    """Logits [B, T, 256] at every step of audio [B, T] (teacher forcing: step t's
    distribution is over sample t, given samples before it), conditioned on encodings
    [B, ceil(T / 512), 16]."""
    w = {k: np.asarray(v, np.float64) for k, v in weights.items()}
    en = np.asarray(encodings, np.float64)

    def conv(x: np.ndarray, name: str, dilation: int = 1) -> np.ndarray:
        kernel, bias = w[f"{name}/W"][0], w[f"{name}/biases"]
        k, steps = kernel.shape[0], x.shape[1]
        out = np.zeros(x.shape[:2] + (kernel.shape[2],)) + bias
        for j in range(k):
            shift = (k - 1 - j) * dilation
            past = np.pad(x, ((0, 0), (shift, 0), (0, 0)))[:, :steps]
            out += past @ kernel[j]
        return out

    def condition(x: np.ndarray, name: str) -> np.ndarray:
        frame = np.arange(x.shape[1]) // HOP_LENGTH
        return x + conv(en, name)[:, frame]

    x = network_input(np.asarray(audio, np.float32)).astype(np.float64)[:, :, None]
    x = np.pad(x, ((0, 0), (1, 0), (0, 0)))[:, :-1]
    layers = sum(1 for name in w if name.startswith("dilatedconv_") and name.endswith("/W"))
    l = conv(x, "startconv")
    s = conv(l, "skip_start")
    for i in range(layers):
        z = condition(conv(l, f"dilatedconv_{i + 1}", 2 ** (i % NUM_STAGES)), f"cond_map_{i + 1}")
        half = z.shape[2] // 2
        z = _sigmoid(z[..., :half]) * np.tanh(z[..., half:])
        l = l + conv(z, f"res_{i + 1}")
        s = s + conv(z, f"skip_{i + 1}")
    s = np.maximum(condition(conv(np.maximum(s, 0.0), "out1"), "cond_map_out1"), 0.0)
    return conv(s, "logits")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))
