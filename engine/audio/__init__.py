"""Audio: files in and out, playback, the drum sampler.

- `io`: `load_audio`, `read_audio`, `probe`, `resample` and `repitch` (libsoxr),
  `write_wav`, `export_name`, `unique_path` (float32 mono inside the engine; 16 kHz for
  the models).
- `playback`: `PlaybackBackend` with `NullBackend`, `LocalBackend` (miniaudio),
  `NetworkBackend` + `RemoteListener`; `Transport` for the panes; `open_backend`.
- `drum_kit`: `render_drums` with the synthesized kit in `sounds/kit/`;
  `soundfont.SoundFontKit` plays an .sf2 drum kit instead (tinysoundfont).
- `soundfont`: find, check and load SoundFonts (`gm`: the General MIDI one that ships).
  `midi_render`: `render_sequence`, a NoteSequence through a SoundFont, 16 channels.
- `tone`: `sine` test tone. `stderr_capture`: keep native libraries quiet.

Submodules are imported explicitly; importing this package loads nothing heavy.
"""
