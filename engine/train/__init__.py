"""Training the starter drum models (MusicVAE cat-drums and GrooVAE humanize) on the
Groove MIDI Dataset: data windows, a trainable model with the official variable names, and
the loop that saves official-format checkpoints."""
