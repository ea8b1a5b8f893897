"""engine/models/graph_cache.py on a small function: the cached graph keeps one node per
distinct constant and computes what the traced function computes, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from tensorflow.core.framework import function_pb2  # noqa: E402

from engine.models.graph_cache import GraphFunction  # noqa: E402


def _fn(w):
    def f(x):
        # the same axis / scalar constants written again and again, as the models' steps do
        parts = [tf.split(x @ w + 1.0, 2, axis=1) for _ in range(3)]
        y = tf.concat([a * 2.0 + b for a, b in parts], axis=1)

        def body(i, acc):
            return i + 1, tf.concat(tf.split(acc, 3, axis=1)[::-1], axis=1) * 2.0 + 1.0
        return tf.while_loop(lambda i, _: i < 3, body, (0, y))[1]
    return f


def _consts(lib: function_pb2.FunctionDefLibrary) -> list[int]:
    """Per function: how many Const nodes, and how many distinct ones."""
    out = []
    for f in lib.function:
        consts = [n for n in f.node_def if n.op == "Const" and not n.input]
        distinct = {n.attr["value"].SerializeToString(deterministic=True)
                    + n.attr["dtype"].SerializeToString() for n in consts}
        out.append((len(consts), len(distinct)))
    return out


def test_constants_are_merged_and_the_numbers_do_not_change(mag_home):
    w = tf.constant(np.random.RandomState(0).randn(4, 6).astype(np.float32))
    x = tf.constant(np.random.RandomState(1).randn(3, 4).astype(np.float32))
    spec = [tf.TensorSpec([None, 4], tf.float32)]
    expected = tf.function(_fn(w), input_signature=spec)(x).numpy()
    traced = GraphFunction("merge_test", _fn(w), spec, [w], ["v1"])
    np.testing.assert_array_equal(traced(x).numpy(), expected)
    assert traced.source == "traced"

    lib = function_pb2.FunctionDefLibrary.FromString(traced.path.read_bytes())
    counts = _consts(lib)
    assert all(n == distinct for n, distinct in counts), counts  # no duplicate left
    raw = tf.function(_fn(w), input_signature=spec).get_concrete_function()
    raw_consts = sum(1 for n in raw.function_def.node_def if n.op == "Const")
    assert counts[-1][0] < raw_consts  # the main function had duplicates to merge

    again = GraphFunction("merge_test", _fn(w), spec, [w], ["v1"])
    np.testing.assert_array_equal(again(x).numpy(), expected)
    assert again.source == "cache"
