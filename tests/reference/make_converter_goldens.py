"""Goldens for engine/music converters, made by magenta's own MusicVAE data converters.

    tests/reference/build_env.sh VENV
    VENV/bin/python tests/reference/make_converter_goldens.py [GMD_DIR]

GMD_DIR defaults to /work/shared/data/groove-midi (Groove MIDI Dataset, CC BY 4.0);
two of its files are stored as serialized NoteSequences in the fixtures.

Writes tests/fixtures/converters/{drums,groove,melody,trio}.npz. Per case `C`:
  C__input_ns       serialized NoteSequence fed to our converter (uint8)
  C__inputs/outputs magenta's to_tensors windows, stacked [n, steps, depth]
  C__rt_tensors     tensors fed to magenta's from_tensors (its outputs + random samples)
  C__rt_ns_<k>      magenta's from_tensors result for rt_tensors[k] (serialized)
and `cases`, `converters` (converter key per case).
Drum/melody windows come from a Python set in magenta: tests compare them as sets.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import magenta_compat  # noqa: E402

magenta_compat.apply(stub_tfds=True)

import numpy as np  # noqa: E402
import note_seq  # noqa: E402
from magenta.models.music_vae import configs, data  # noqa: E402

from common import random_drum_sequence, random_melody_sequence  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fixtures", "converters")
GMD = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/groove-midi"
GMD_FILES = ["drummer1/session1/100_neworleans-secondline_94_beat_4-4.mid",
             "drummer2/session2/7_rock_130_beat_4-4.mid",
             "drummer6/session1/2_rock_70_beat_6-8.mid"]


def ser(ns):
    return np.frombuffer(ns.SerializeToString(), dtype=np.uint8)


def stack(ts, depth):
    return np.array(ts) if len(ts) else np.zeros((0, 0, depth))


def converter(name, **overrides):
    conv = configs.CONFIG_MAP[name].data_converter
    conv.set_mode("infer")
    for k, v in overrides.items():
        setattr(conv, k, v)
    return conv


def gmd(i):
    return note_seq.midi_file_to_note_sequence(os.path.join(GMD, GMD_FILES[i]))


def add_note(ns, pitch, start, end, velocity=90, is_drum=False, program=0, instrument=0):
    ns.notes.add(pitch=pitch, start_time=start, end_time=end, velocity=velocity,
                 is_drum=is_drum, program=program, instrument=instrument)
    ns.total_time = max(ns.total_time, end)
    return ns


class Goldens:
    def __init__(self):
        self.arrays = {}
        self.cases = []
        self.convs = []

    def case(self, conv_key, conv, name, ns_ours, ns_magenta=None, extra_samples=()):
        ns_m = note_seq.NoteSequence()
        ns_m.CopyFrom(ns_magenta if ns_magenta is not None else ns_ours)
        t = conv.to_tensors(ns_m)
        c = f"{conv_key}_{name}"
        self.arrays[f"{c}__input_ns"] = ser(ns_ours)
        self.arrays[f"{c}__inputs"] = stack(t.inputs, conv.input_depth)
        self.arrays[f"{c}__outputs"] = stack(t.outputs, conv.output_depth)
        rt = list(t.outputs[:3]) + list(extra_samples)
        if rt:
            self.arrays[f"{c}__rt_tensors"] = np.array(rt)
            for k, ns in enumerate(conv.from_tensors(np.array(rt))):
                self.arrays[f"{c}__rt_ns_{k}"] = ser(ns)
        self.cases.append(c)
        self.convs.append(conv_key)
        print(f"{c}: {len(t.inputs)} windows, {len(rt)} round trips")

    def save(self, fname):
        self.arrays["cases"] = np.array(self.cases)
        self.arrays["converters"] = np.array(self.convs)
        path = os.path.join(OUT, fname)
        np.savez_compressed(path, **self.arrays)
        print("wrote", path, os.path.getsize(path), "bytes")
        self.__init__()


def random_onehot(rng, steps, depth, sparsity=None):
    idx = rng.randint(0, depth, size=steps)
    if sparsity:
        idx[rng.rand(steps) < sparsity] = 0
    out = np.zeros((steps, depth), bool)
    out[np.arange(steps), idx] = True
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.RandomState(1234)
    g = Goldens()

    # ---- MusicVAE drums (cat-drums_2bar_small, nade-drums_2bar_full)
    drums_cases = []
    drums_cases.append(("two_bars", random_drum_sequence(0, bars=2)))
    drums_cases.append(("four_bars_97qpm", random_drum_sequence(1, bars=4, qpm=97.0)))
    ns = random_drum_sequence(2, bars=2)
    add_note(ns, 90, 0.5, 0.625, is_drum=True, instrument=9)    # not a drum class
    add_note(ns, 64, 0.25, 0.5)                                  # not a drum note
    add_note(ns, 36, 0.75, 0.875, velocity=0, is_drum=True)      # silent
    add_note(ns, 38, 12.0, 12.125, is_drum=True, instrument=9)   # after a 4-bar gap
    drums_cases.append(("extras_and_gap", ns))
    ns = random_drum_sequence(3, bars=4, jitter=True)
    ns.tempos.add(time=4.0, qpm=140.0)                           # splits the sequence
    drums_cases.append(("tempo_change", ns))
    drums_cases.append(("gmd_beat", gmd(0)))
    drums_cases.append(("gmd_rock130", gmd(1)))
    drums_cases.append(("gmd_six_eight", gmd(2)))
    for key in ("cat-drums_2bar_small", "nade-drums_2bar_full"):
        conv = converter(key, max_tensors_per_notesequence=None)
        for name, ns in drums_cases:
            depth = conv.output_depth
            extra = ([random_onehot(rng, 32, 512, sparsity=0.3)] if depth == 512
                     else [rng.rand(32, depth) < 0.1])
            g.case(key, conv, name, ns, extra_samples=extra)
    g.save("drums.npz")

    # ---- GrooVAE
    groove_cases = [("two_bars", random_drum_sequence(4, bars=2, velocities=True, jitter=True)),
                    ("four_bars_131qpm", random_drum_sequence(5, bars=4, qpm=131.0,
                                                              velocities=True, jitter=True)),
                    ("gmd_beat", gmd(0)), ("gmd_rock130", gmd(1)),
                    ("gmd_six_eight", gmd(2))]
    ns = random_drum_sequence(6, bars=2, velocities=True, jitter=True)
    add_note(ns, 38, 0.5, 0.6, velocity=127, is_drum=True)       # two snares on one step
    add_note(ns, 40, 0.51, 0.6, velocity=127, is_drum=True)
    add_note(ns, 90, 1.0, 1.1, velocity=100, is_drum=True)        # unknown: magenta KeyErrors
    filtered = note_seq.NoteSequence()
    filtered.CopyFrom(ns)
    del filtered.notes[:]
    filtered.notes.extend(n for n in ns.notes if n.pitch != 90)
    for key in ("groovae_2bar_humanize", "groovae_2bar_tap_fixed_velocity", "groovae_4bar"):
        conv = converter(key)
        for name, seq in groove_cases:
            steps = 64 if key == "groovae_4bar" else 32
            samp = np.concatenate([(rng.rand(steps, 9) < 0.3).astype(float),
                                   rng.rand(steps, 9), rng.uniform(-1.3, 1.3, (steps, 9))], axis=1)
            samp[0, 9:18] = [0.5 / 127, 1.5 / 127, 2.5 / 127, 0.9999, 1.2, -0.1, 0, 0.3, 0.7]
            samp[0, :9] = 1.0
            g.case(key, conv, name, seq, extra_samples=[samp])
        g.case(key, conv, "unknown_pitch", ns, filtered)
    g.save("groove.npz")

    # ---- melodies
    mel_cases = [("two_bars", random_melody_sequence(0, bars=2)),
                 ("four_bars_90qpm", random_melody_sequence(1, bars=4, qpm=90.0))]
    ns = random_melody_sequence(2, bars=2)
    for k in range(0, 16, 4):                                      # chords: highest wins
        add_note(ns, 50 + k, k * 0.125, (k + 2) * 0.125)
    add_note(ns, 12, 0.0, 0.5)                                     # below the piano range
    add_note(ns, 115, 1.0, 1.5)                                    # above
    add_note(ns, 70, 0.25, 0.5, program=40, instrument=1)          # violin: not MEL_PROGRAMS
    add_note(ns, 38, 0.0, 0.1, is_drum=True, instrument=9)
    add_note(ns, 72, 12.0, 12.5)                                   # after a gap
    mel_cases.append(("extras_and_gap", ns))
    ns = random_melody_sequence(3, bars=2)
    ns2 = random_melody_sequence(4, bars=2)
    for n in ns2.notes:
        add_note(ns, n.pitch - 12, n.start_time, n.end_time, program=5, instrument=2)
    mel_cases.append(("two_instruments", ns))
    conv = converter("cat-mel_2bar_big", max_tensors_per_notesequence=None)
    for name, seq in mel_cases:
        g.case("cat-mel_2bar_big", conv, name, seq,
               extra_samples=[random_onehot(rng, 32, 90, sparsity=0.5)])
    conv = converter("hierdec-mel_16bar", max_tensors_per_notesequence=None)
    g.case("hierdec-mel_16bar", conv, "seventeen_bars", random_melody_sequence(5, bars=17),
           extra_samples=[random_onehot(rng, 256, 90, sparsity=0.6)])
    g.save("melody.npz")

    # ---- trio
    def trio(seed, bars, qpm=120.0, two_melodies=False, bass_gap=False):
        ns = random_melody_sequence(seed, bars=bars, qpm=qpm)
        bass = random_melody_sequence(seed + 100, bars=bars, qpm=qpm)
        for n in bass.notes:
            if bass_gap and 4 * 16 * 0.125 * 120 / qpm <= n.start_time < 7 * 16 * 0.125 * 120 / qpm:
                continue
            add_note(ns, n.pitch - 24, n.start_time, n.end_time, program=33, instrument=1)
        if two_melodies:
            m2 = random_melody_sequence(seed + 200, bars=bars, qpm=qpm)
            for n in m2.notes:
                add_note(ns, n.pitch + 5, n.start_time, n.end_time, program=24, instrument=3)
        for n in random_drum_sequence(seed + 300, bars=bars, qpm=qpm).notes:
            add_note(ns, n.pitch, n.start_time, n.end_time, is_drum=True, instrument=9)
        return ns

    conv = converter("hierdec-trio_16bar", max_tensors_per_notesequence=None)
    for name, seq in [("sixteen_bars", trio(0, 16)), ("eighteen_bars_100qpm", trio(1, 18, 100.0)),
                      ("two_melodies", trio(2, 16, two_melodies=True)),
                      ("bass_gap", trio(3, 17, bass_gap=True))]:
        samp = np.concatenate([random_onehot(rng, 256, 90, 0.6), random_onehot(rng, 256, 90, 0.6),
                               random_onehot(rng, 256, 512, 0.5)], axis=1)
        g.case("hierdec-trio_16bar", conv, name, seq, extra_samples=[samp])
    g.save("trio.npz")


if __name__ == "__main__":
    main()
