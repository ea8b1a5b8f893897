"""magstation engine: the process that loads Magenta models, runs jobs and plays audio.

Importing this package (or its protocol, client and paths modules) never imports
TensorFlow: the TUI depends on that. Model code imports TensorFlow lazily.
"""

__version__ = "0.1.0"
