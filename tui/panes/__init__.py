"""The four panes. Each is a widget with its own bindings and autosaved state."""

from tui.panes.drum_grid import DrumGridPane
from tui.panes.latent_mix import LatentMixPane
from tui.panes.library import LibraryPane
from tui.panes.timeline import TimelinePane

PANES = [LibraryPane, LatentMixPane, TimelinePane, DrumGridPane]
