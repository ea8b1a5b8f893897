"""Blending NSynth encodings: slider weights, the XY pad, time-stretch."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import BadRequest
from engine.music.latent_mix import mix, time_stretch, xy_mix, xy_weights


def enc(value: float, frames: int = 5) -> np.ndarray:
    return np.full([frames, 16], value, np.float32)


@pytest.mark.parametrize("x,y,corner", [(0, 0, 0), (1, 0, 1), (0, 1, 2), (1, 1, 3)])
def test_xy_corners_give_that_corner_alone(x, y, corner):
    w = xy_weights(x, y)
    assert w[corner] == 1.0 and w.sum() == 1.0


def test_xy_weights_are_bilinear():
    np.testing.assert_allclose(xy_weights(0.5, 0.5), [0.25] * 4)
    # x = 0.25 (closer to the left), y = 0.75 (closer to the bottom)
    np.testing.assert_allclose(xy_weights(0.25, 0.75),
                               [0.75 * 0.25, 0.25 * 0.25, 0.75 * 0.75, 0.25 * 0.75])
    with pytest.raises(BadRequest, match="XY pad x"):
        xy_weights(1.2, 0.5)


def test_xy_mix_blends_the_four_corners():
    corners = [enc(1), enc(2), enc(4), enc(8)]
    out = xy_mix(corners, 0.25, 0.75)
    expected = 0.1875 * 1 + 0.0625 * 2 + 0.5625 * 4 + 0.1875 * 8
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    np.testing.assert_allclose(xy_mix(corners, 1, 0), 2.0)


def test_slider_weights_are_normalised_and_lengths_cut_to_the_shortest():
    a, b = enc(1.0, 6), enc(3.0, 4)
    out = mix([a, b], [1, 3])
    assert out.shape == (4, 16) and out.dtype == np.float32
    np.testing.assert_allclose(out, 0.25 * 1 + 0.75 * 3)
    np.testing.assert_allclose(mix([a, b], [1, 3], normalize=False), 1 + 9)
    # frame by frame, not a global blend
    ramp = np.arange(4, dtype=np.float32)[:, None] * np.ones(16, np.float32)
    np.testing.assert_allclose(mix([ramp, -ramp], [0.75, 0.25]), 0.5 * ramp)


def test_mix_rejects_bad_requests():
    with pytest.raises(BadRequest, match="2 to 4"):
        mix([enc(1)], [1])
    with pytest.raises(BadRequest, match="one weight per sound"):
        mix([enc(1), enc(2)], [1])
    with pytest.raises(BadRequest, match="add up to 0"):
        mix([enc(1), enc(2)], [1, -1])


def test_time_stretch_resamples_frames_linearly():
    ramp = np.linspace(0, 9, 10, dtype=np.float32)[:, None] * np.ones(16, np.float32)
    longer = time_stretch(ramp, 2.0)
    assert longer.shape == (20, 16)
    np.testing.assert_allclose(longer[:, 0], np.linspace(0, 9, 20), atol=1e-5)
    shorter = time_stretch(ramp, 0.5)
    assert shorter.shape == (5, 16)
    assert shorter[0, 0] == 0 and shorter[-1, 0] == 9
    np.testing.assert_array_equal(time_stretch(ramp, 1.0), ramp)
    assert time_stretch(ramp[:1], 3.0).shape == (3, 16)
    with pytest.raises(BadRequest, match="time-stretch"):
        time_stretch(ramp, 0)
