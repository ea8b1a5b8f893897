"""engine.models.fastconv: the faster conv algorithms equal the direct TF convolutions."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from engine.models.fastconv import upsample_conv2d, upsample_conv_kernel


def _upsample_then_conv(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """The direct computation in float64: nearest 2x upsample, 3x3 SAME conv."""
    up = np.repeat(np.repeat(x.astype(np.float64), 2, axis=1), 2, axis=2)
    return tf.nn.conv2d(up, k.astype(np.float64), 1, "SAME").numpy()


@pytest.mark.parametrize("b,h,w,cin,cout", [(1, 1, 1, 3, 2), (2, 3, 5, 4, 3), (1, 4, 7, 8, 5)])
def test_upsample_conv_equals_upsample_then_conv(b, h, w, cin, cout):
    rng = np.random.RandomState(h * 100 + w)
    x = rng.normal(size=(b, h, w, cin)).astype(np.float32)
    k = rng.normal(size=(3, 3, cin, cout)).astype(np.float32)
    got = upsample_conv2d(tf.constant(x), tf.constant(upsample_conv_kernel(k))).numpy()
    want = _upsample_then_conv(x, k)
    assert got.shape == (b, 2 * h, 2 * w, cout) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * np.abs(want).max())
    # and as close as TF's own float32 conv of the upsampled input
    direct = tf.nn.conv2d(np.repeat(np.repeat(x, 2, 1), 2, 2), k, 1, "SAME").numpy()
    assert np.abs(got - want).max() <= 4 * np.abs(direct - want).max() + 1e-6


def test_upsample_conv_kernel_folds_taps():
    k = np.arange(9, dtype=np.float32).reshape(3, 3, 1, 1)  # k[i, j] = 3 i + j
    t = upsample_conv_kernel(k)
    assert t.shape == (4, 4, 1, 1)
    # along each axis the transposed taps are (k2, k1+k2, k0+k1, k0): column tap 0 is
    # the kernel's column 2 alone, row tap 3 its row 0 alone
    c = k[:, 2, 0, 0]
    np.testing.assert_array_equal(t[:, 0, 0, 0], [c[2], c[1] + c[2], c[0] + c[1], c[0]])
    r = k[0, :, 0, 0]
    np.testing.assert_array_equal(t[3, :, 0, 0], [r[2], r[1] + r[2], r[0] + r[1], r[0]])
    assert upsample_conv_kernel(np.zeros((3, 3, 5, 7), np.float32)).shape == (4, 4, 7, 5)
    with pytest.raises(ValueError, match="3x3"):
        upsample_conv_kernel(np.zeros((1, 1, 2, 2), np.float32))
