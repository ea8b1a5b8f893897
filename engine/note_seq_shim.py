"""note_seq's package __init__ imports its notebook helpers (bokeh, pandas, IPython: about
half a second to a second of every engine start and first job); the engine never uses them.
`defer_notebook_utils()` puts a stand-in for `note_seq.notebook_utils` in sys.modules before
note_seq is first imported; its two functions load the real module if ever called. It is
called by engine.methods.load_handlers, not on `import engine`: the TUI must not have any
note_seq module in sys.modules (tests/test_tui.py checks)."""

from __future__ import annotations

import sys
import types

_NAME = "note_seq.notebook_utils"


def _real_notebook_utils() -> types.ModuleType:
    import importlib.util
    import os

    import note_seq

    path = os.path.join(os.path.dirname(note_seq.__file__), "notebook_utils.py")
    spec = importlib.util.spec_from_file_location("note_seq._notebook_utils", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _deferred(name: str):
    def call(*args, **kwargs):
        return getattr(_real_notebook_utils(), name)(*args, **kwargs)
    call.__name__ = name
    return call


def defer_notebook_utils() -> None:
    """Install the stand-in unless note_seq (or the real module) is already imported."""
    if "note_seq" in sys.modules or _NAME in sys.modules:
        return
    stub = types.ModuleType(_NAME, "Stand-in installed by engine.note_seq_shim.")
    stub.play_sequence = _deferred("play_sequence")  # type: ignore[attr-defined]
    stub.plot_sequence = _deferred("plot_sequence")  # type: ignore[attr-defined]
    sys.modules[_NAME] = stub
