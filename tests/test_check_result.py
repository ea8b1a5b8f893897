"""engine.methods.check_result: every non-finite number in a job's result is found and
named by its place, however it is nested (the fast fsum scan must not miss one), and
large finite numbers whose sum overflows are still accepted."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.errors import EngineError
from engine.methods import check_result


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, np.float64("nan")])
@pytest.mark.parametrize("shape", ["numbers", "mixed", "nested", "scalar"])
def test_a_non_finite_number_is_named_by_its_place(bad, shape):
    rows = [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    if shape == "numbers":
        rows[1][2] = bad
        result, where = {"rows": rows}, "rows[1][2]"
    elif shape == "mixed":
        result, where = {"items": ["a", None, 3, bad, True]}, "items[3]"
    elif shape == "nested":
        result, where = {"patterns": [{"offsets": rows}, {"offsets": [[1.0, bad]]}]}, \
            "patterns[1].offsets[0][1]"
    else:
        result, where = {"peak": bad}, "peak"
    with pytest.raises(EngineError) as e:
        check_result("test.job", result)
    assert "non-finite" in str(e.value) and where in str(e.value)


def test_inf_and_minus_inf_in_one_list_are_found():
    with pytest.raises(EngineError, match=r"x\[0\]|x\[1\]"):
        check_result("test.job", {"x": [math.inf, -math.inf]})


def test_finite_numbers_whose_sum_overflows_are_accepted():
    result = {"x": [1e308, 1e308, -1e308]}
    assert check_result("test.job", result) is result


def test_a_drum_result_passes_unchanged():
    result = {"patterns": [{"velocities": [[0, 80] * 16] * 9, "offsets": [[0.0, -0.1] * 16] * 9,
                            "qpm": 120.0, "provenance": {"method": "drums.sample", "seed": 3}}]}
    assert check_result("drums.sample", result) is result
