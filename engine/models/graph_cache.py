"""Traced TF functions kept between engine starts (bench/README.md, "MusicVAE first call
after a load"; docs/drums.md, "Models").

A model's first call used to pay for building its graph: Python tracing of the unrolled
loops (~100 ms for cat-drums' decoder on the 2-core dev machine), then TF's graph
optimizer (Grappler, ~60-100 ms) and kernel set-up (~80 ms). `GraphFunction` cuts the
first two:

- The traced graph (a FunctionDef and the loop bodies it calls) is written once to
  `$MAGSTATION_HOME/cache/graphs/<key>.pb` and imported by later engine starts (~1 ms).
  The graph holds no weights (they are inputs, listed by their place in the model's
  weight list), so the key is what the graph is made from: the model's config and weight
  shapes, the function's input signature, the TF version and the source of the modules
  that build it. Any of these changing gives a new key (a rebuild); an unreadable file is
  deleted and traced again.
- Calls go through `PartitionedCall` with Grappler off for this function only: the graphs
  are already written op by op for speed (measured: warm calls no slower), and the
  optimizer was a third of the first call. Other models keep the process-wide defaults.

Same graph either way, so numbers do not depend on where it came from.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path
from typing import Any, Callable, Sequence

import tensorflow as tf
from tensorflow.core.framework import function_pb2
from tensorflow.core.protobuf import config_pb2
from tensorflow.python.eager import context

from engine import paths
from engine.fsutil import atomic_write_bytes

log = logging.getLogger(__name__)

FORMAT = b"magstation-graph-v1"
_CAPTURES_ATTR = "_magstation_captures"
_NO_GRAPPLER = config_pb2.ConfigProto()
_NO_GRAPPLER.graph_options.rewrite_options.disable_meta_optimizer = True
_NO_GRAPPLER_BYTES = _NO_GRAPPLER.SerializeToString()
_register_lock = threading.Lock()


def cache_folder() -> Path:
    return paths.cache_dir() / "graphs"


def source_digest(*files: str | Path) -> str:
    """A hash of the modules that build a graph: editing one of them rebuilds the cache."""
    h = hashlib.sha256()
    for f in files:
        h.update(Path(f).read_bytes())
    return h.hexdigest()


def graph_key(name: str, parts: Sequence[Any], weights: Sequence[tf.Tensor],
              tf_version: str = tf.__version__) -> str:
    """The cache key of one function: its name, what the caller says shapes the graph
    (config, signature, source digest), each weight's shape and dtype, the TF version."""
    h = hashlib.sha256(FORMAT)
    h.update(f"\0{name}\0{tf_version}\0".encode())
    for p in parts:
        h.update(repr(p).encode() + b"\0")
    for w in weights:
        h.update(f"{w.dtype.name}{tuple(w.shape)}\0".encode())
    return h.hexdigest()[:32]


class GraphFunction:
    """A tf.function with a full input_signature, called as one graph whose definition
    comes from the on-disk cache when it is there (`source` says "cache") and is traced
    and saved otherwise ("traced"). `weights` are the tensors the traced function may
    capture (every other capture makes it uncacheable: it is then only traced)."""

    def __init__(self, name: str, fn: Callable, input_signature: Sequence[tf.TensorSpec],
                 weights: Sequence[tf.Tensor], key_parts: Sequence[Any],
                 folder: Path | None = None) -> None:
        self.name = name
        self._fn = tf.function(fn, autograph=False, input_signature=list(input_signature))
        self._weights = list(weights)
        self._n_args = len(input_signature)
        self.key = graph_key(name, [*key_parts, [(s.shape, s.dtype.name) for s in input_signature]],
                             self._weights)
        self._folder = folder
        self._lock = threading.Lock()
        self._call: Callable[..., list[tf.Tensor]] | None = None
        self.source: str | None = None  # "cache" or "traced" once prepared

    @property
    def path(self) -> Path:
        return (self._folder or cache_folder()) / f"{self.key}.pb"

    def __call__(self, *args: tf.Tensor) -> Any:
        call = self._call or self.prepare()
        out = call(*args)
        return out[0] if len(out) == 1 else tuple(out)

    def prepare(self) -> Callable[..., list[tf.Tensor]]:
        """Import or trace the graph (once); returns the call."""
        with self._lock:
            if self._call is None:
                self._call = self._from_cache() or self._trace()
            return self._call

    # -- the two ways to a graph

    def _from_cache(self) -> Callable[..., list[tf.Tensor]] | None:
        path = self.path
        try:
            data = path.read_bytes()
        except OSError:
            return None
        try:
            lib = function_pb2.FunctionDefLibrary.FromString(data)
            main = lib.function[-1]
            captures = list(main.attr[_CAPTURES_ATTR].list.i)
            if (main.signature.name != self._fn_name()
                    or len(main.signature.input_arg) != self._n_args + len(captures)
                    or any(not 0 <= i < len(self._weights) for i in captures)):
                raise ValueError("the file does not hold this function")
            call = self._partitioned_call(lib, captures)
        except Exception as e:  # damaged or foreign: trace again and replace it
            log.warning("graph cache %s unusable (%s); tracing again", path, e)
            path.unlink(missing_ok=True)
            return None
        self.source = "cache"
        return call

    def _trace(self) -> Callable[..., list[tf.Tensor]]:
        concrete = self._fn.get_concrete_function()
        self.source = "traced"
        index = {id(w): i for i, w in enumerate(self._weights)}
        captures = [index.get(id(t)) for t in concrete.captured_inputs]
        if None in captures:  # a capture that is not a weight: not cacheable, call as traced
            log.info("graph %s captures a non-weight tensor; not cached", self.name)
            return lambda *args: tf.nest.flatten(concrete(*args))
        lib = self._library(concrete, captures)
        try:
            atomic_write_bytes(self.path, lib.SerializeToString())
        except OSError as e:  # a read-only home only costs the next start a trace
            log.warning("could not save the traced graph %s: %s", self.path, e)
        return self._partitioned_call(lib, captures)

    # -- helpers

    def _fn_name(self) -> str:
        return f"magstation_{self.name}_{self.key}"

    def _library(self, concrete: Any, captures: list[int]) -> function_pb2.FunctionDefLibrary:
        """The function and the functions it calls (loop bodies), renamed after the key so
        that no name can clash with another graph in the process; the main one last."""
        lib = function_pb2.FunctionDefLibrary()
        lib.function.extend(concrete.graph.as_graph_def().library.function)
        main = function_pb2.FunctionDef.FromString(concrete.function_def.SerializeToString())
        lib.function.append(main)
        old = [f.signature.name for f in lib.function]
        new = {n: f"{self._fn_name()}_{i}" for i, n in enumerate(old[:-1])}
        new[old[-1]] = self._fn_name()
        for f in lib.function:
            f.signature.name = new[f.signature.name]
            for node in f.node_def:
                for value in node.attr.values():
                    if value.HasField("func") and value.func.name in new:
                        value.func.name = new[value.func.name]
                    for func in value.list.func:
                        if func.name in new:
                            func.name = new[func.name]
        lib.function[-1].attr[_CAPTURES_ATTR].list.i.extend(captures)  # (append copied main)
        for f in lib.function:
            _merge_constants(f)
        return lib

    def _partitioned_call(self, lib: function_pb2.FunctionDefLibrary,
                          captures: list[int]) -> Callable[..., list[tf.Tensor]]:
        ctx = context.context()
        ctx.ensure_initialized()
        with _register_lock:
            for f in lib.function:
                if not ctx.has_function(f.signature.name):
                    ctx.add_function_def(f)
        main = lib.function[-1]
        tout = [tf.dtypes.as_dtype(a.type) for a in main.signature.output_arg]
        weights = [self._weights[i] for i in captures]
        name = main.signature.name

        def call(*args: tf.Tensor) -> list[tf.Tensor]:
            return tf.raw_ops.PartitionedCall(args=[*args, *weights], Tout=tout, f=name,
                                              config_proto=_NO_GRAPPLER_BYTES)
        return call


def _merge_constants(f: function_pb2.FunctionDef) -> None:
    """Keep one node per distinct constant of a function (tracing writes a new Const for
    every axis, shape and scalar: a third of the nodes). TF's set-up of a function's first
    call (lowering the loops, placement, partitioning, kernels) is paid per node, and
    Grappler, which would merge them, is off; the graph computes the same either way."""
    keep: dict[bytes, str] = {}
    rename: dict[str, str] = {}
    nodes = []
    for node in f.node_def:
        if node.op == "Const" and not node.input:
            key = node.device.encode() + b"\0" + b"".join(
                k.encode() + b"=" + node.attr[k].SerializeToString(deterministic=True)
                for k in sorted(node.attr))
            first = keep.setdefault(key, node.name)
            if first != node.name:
                rename[node.name] = first
                continue
        nodes.append(node)
    if not rename:
        return

    def new(ref: str) -> str:
        control = ref.startswith("^")
        name, sep, rest = ref.lstrip("^").partition(":")
        if name not in rename:
            return ref
        return ("^" if control else "") + rename[name] + sep + rest

    del f.node_def[:]
    f.node_def.extend(nodes)
    for node in f.node_def:
        refs = [new(r) for r in node.input]
        seen: set[str] = set()  # a control input named twice after the merge: keep one
        refs = [r for r in refs if not r.startswith("^") or not (r in seen or seen.add(r))]
        del node.input[:]
        node.input.extend(refs)
    for k, v in list(f.ret.items()):
        f.ret[k] = new(v)
