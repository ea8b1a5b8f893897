"""Music data code, no TensorFlow: drum classes (`drums`), drum grids and MusicVAE drum
tensors (`grids`), GrooVAE tensors (`groove`), melody and trio tensors (`melody`), the
converter for each MusicVAE config (`converters`), NoteSequence helpers (`sequences`),
MIDI files (`midi_io`) and GANSynth arrangements (`arrangement`).

Importing this package does not import note_seq (the TUI imports `drums` and must start
fast); the modules that use note_seq import it themselves.
"""

import warnings as _warnings

# note_seq imports pydub, which warns on stderr when ffmpeg is missing; we never use it.
# A filter, not an import: the TUI imports engine.music.drums and must not load note_seq.
_warnings.filterwarnings("ignore", message="Couldn't find ffmpeg", category=RuntimeWarning)
