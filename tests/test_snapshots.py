"""SVG snapshots of each pane (update with `pytest --snapshot-update` after a deliberate change)."""

from __future__ import annotations

import pytest

from tui.app import MagstationApp
from tui.panes import PANES


@pytest.mark.parametrize("key", [p.KEY for p in PANES], ids=[p.PANE_ID for p in PANES])
def test_pane_snapshot(snap_compare, mag_home, key):
    app = MagstationApp(connect_engine=False)
    assert snap_compare(app, press=[key], terminal_size=(110, 30))


def test_help_snapshot(snap_compare, mag_home):
    app = MagstationApp(connect_engine=False)
    assert snap_compare(app, press=["question_mark"], terminal_size=(110, 30))
