"""Drum and melody jobs on the real MusicVAE/GrooVAE code with small fixture checkpoints."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pretty_midi
import pytest

from engine import checkpoints, player
from engine.errors import BadInput, BadRequest, ModelNotInstalled, OutputExists
from engine.local import run_method
from tests.conftest import ROOT

FIX = ROOT / "tests" / "fixtures" / "musicvae"
DRUMS = {"checkpoint": str(FIX / "cat-drums_2bar_small"), "config": "cat-drums_2bar_small"}
GROOVE = {"checkpoint": str(FIX / "groovae_2bar_humanize"), "config": "groovae_2bar_humanize"}
NADE = {"checkpoint": str(FIX / "nade-drums_2bar_full"), "config": "nade-drums_2bar_full"}
TAP = {"checkpoint": str(FIX / "groovae_2bar_tap_fixed_velocity"),
       "config": "groovae_2bar_tap_fixed_velocity"}


def run(method, **params):
    return run_method(method, params, quiet=True)


@pytest.fixture
def no_checkpoints(tmp_path, monkeypatch):
    monkeypatch.setenv("MAGSTATION_CHECKPOINTS", str(tmp_path / "ckpts"))
    return tmp_path / "ckpts"


def four_on_the_floor(qpm: float = 100.0) -> dict:
    vel = [[0] * 32 for _ in range(9)]
    for s in range(0, 32, 4):
        vel[0][s] = 100
    for s in range(4, 32, 8):
        vel[1][s] = 90
    for s in range(0, 32, 2):
        vel[2][s] = 70
    return {"velocities": vel, "offsets": [[0.0] * 32 for _ in range(9)], "qpm": qpm}


def notes(patterns: list[dict]) -> list[tuple]:
    """What is heard of patterns (not where they came from)."""
    return [(p["velocities"], p["offsets"], p["qpm"]) for p in patterns]


def test_sample_is_seeded_and_well_formed():
    a = run("drums.sample", n=3, seed=11, temperature=1.0, qpm=96, **DRUMS)
    b = run("drums.sample", n=3, seed=11, temperature=1.0, qpm=96, **DRUMS)
    c = run("drums.sample", n=3, seed=12, temperature=1.0, qpm=96, **DRUMS)
    assert a["patterns"] == b["patterns"] and a["patterns"] != c["patterns"]
    assert a["seed"] == 11 and len(a["patterns"]) == 3
    for p in a["patterns"]:
        vel = np.array(p["velocities"])
        assert vel.shape == (9, 32) and p["qpm"] == 96
        assert set(np.unique(vel)) <= {0, 80}  # MusicVAE drums write velocity 80


def test_sample_draws_and_reports_a_seed_when_none_is_given():
    r = run("drums.sample", n=1, **DRUMS)
    again = run("drums.sample", n=1, seed=r["seed"], **DRUMS)
    assert isinstance(r["seed"], int) and again["patterns"] == r["patterns"]


def test_out_of_range_parameters_are_refused():
    with pytest.raises(BadRequest, match="temperature"):
        run("drums.sample", temperature=5.0, seed=1, **DRUMS)
    with pytest.raises(BadRequest, match="steps"):
        run("drums.interpolate", a=four_on_the_floor(), b=four_on_the_floor(), steps=40, seed=1, **DRUMS)
    with pytest.raises(BadRequest, match="9 rows|length >= 9"):
        run("drums.humanize", pattern={"velocities": [[0] * 32] * 4}, seed=1, **GROOVE)
    short = four_on_the_floor()
    short["velocities"] = [row[:16] for row in short["velocities"]]
    short["offsets"] = [row[:16] for row in short["offsets"]]
    with pytest.raises(BadRequest, match="16 steps"):
        run("drums.humanize", pattern=short, seed=1, **GROOVE)


def test_missing_model_names_the_pull_command(no_checkpoints):
    # tap->drums has no starter model to fall back to (sample and humanize do: see
    # tests/test_starter_models.py)
    with pytest.raises(ModelNotInstalled,
                       match="magstation models pull groovae_2bar_tap_fixed_velocity"):
        run("drums.tap", pattern=four_on_the_floor(), seed=1)
    with pytest.raises(ModelNotInstalled, match="magstation models pull cat-drums_2bar_small.lokl"):
        run("drums.sample", seed=1, model="cat-drums_2bar_small.lokl")


def test_an_imported_checkpoint_is_used_by_name(no_checkpoints):
    checkpoints.import_checkpoint(FIX / "cat-drums_2bar_small", name="cat-drums_2bar_small.lokl")
    by_name = run("drums.sample", n=2, seed=5)
    by_path = run("drums.sample", n=2, seed=5, **DRUMS)
    assert by_name["model"] == "cat-drums_2bar_small.lokl"
    assert notes(by_name["patterns"]) == notes(by_path["patterns"])  # provenance names the model
    assert by_name["patterns"][0]["provenance"]["model"] == "cat-drums_2bar_small.lokl"


def test_interpolate_gives_a_chain_of_the_asked_length():
    a = run("drums.sample", n=2, seed=3, **DRUMS)["patterns"]
    chain = run("drums.interpolate", a=a[0], b=a[1], steps=5, seed=9, temperature=0.0, **DRUMS)
    again = run("drums.interpolate", a=a[0], b=a[1], steps=5, seed=9, temperature=0.0, **DRUMS)
    assert len(chain["patterns"]) == 5 and chain["patterns"] == again["patterns"]


def test_the_full_kit_model_samples_and_interpolates_on_the_nine_rows():
    """nade-drums_2bar_full plays 61 drum pitches: the grid shows what Magenta's converter
    writes for its output (a NoteSequence at those pitches) read back onto the 9 rows, and
    A→B encodes what that converter reads from the pattern's MIDI (exemplar pitches)."""
    from engine.handlers.drums import _encoder_input
    from engine.models.musicvae import MusicVae
    from engine.music.converters import converter_for
    from engine.music.grids import DrumGrid

    got = run("drums.sample", n=3, seed=5, temperature=1.0, **NADE)
    model = MusicVae.load("nade-drums_2bar_full", NADE["checkpoint"])
    outputs, _ = model.sample(3, temperature=1.0, seed=5)
    full_kit = converter_for("nade-drums_2bar_full")
    for p, ns in zip(got["patterns"], full_kit.from_tensors(outputs), strict=True):
        assert (np.array(p["velocities"]) > 0).tolist() == DrumGrid.from_sequence(ns, 32).hits.tolist()
    grid = DrumGrid(np.array(four_on_the_floor()["velocities"]) > 0)
    np.testing.assert_array_equal(_encoder_input(model, grid),
                                  full_kit.to_tensors(grid.to_sequence()).inputs[0])
    a, b = got["patterns"][:2]
    chain = run("drums.interpolate", a=a, b=b, steps=4, seed=2, temperature=0.0, **NADE)
    assert len(chain["patterns"]) == 4
    assert all(np.array(p["velocities"]).shape == (9, 32) for p in chain["patterns"])
    assert chain["patterns"][0]["velocities"] == a["velocities"]  # the ends are yours


def test_humanize_adds_velocity_and_timing_and_keeps_tempo():
    out = run("drums.humanize", pattern=four_on_the_floor(), seed=4, **GROOVE)
    p = out["patterns"][0]
    vel, off = np.array(p["velocities"]), np.array(p["offsets"])
    hits = vel > 0
    assert hits.any() and p["qpm"] == 100
    assert len(np.unique(vel[hits])) > 1  # not one flat velocity
    assert np.abs(off[hits]).max() > 0 and np.abs(off).max() <= 0.5
    assert (off[~hits] == 0).all()
    chain = run("drums.humanize", patterns=[four_on_the_floor()] * 2, seed=4, **GROOVE)
    assert len(chain["patterns"]) == 2


def test_tap_turns_one_voice_into_drums():
    taps = {"velocities": [[0] * 32] * 2 + [[100 if s % 3 == 0 else 0 for s in range(32)]] + [[0] * 32] * 6}
    out = run("drums.tap", pattern=taps, seed=2, **TAP)
    assert np.array(out["patterns"][0]["velocities"]).shape == (9, 32)


def test_export_midi_and_wav_as_heard(tmp_path):
    pats = [four_on_the_floor(), four_on_the_floor()]
    res = run("drums.export", patterns=pats, swing=0.25, folder=str(tmp_path), wav=True,
              model="cat-drums_2bar_small.lokl", seed=42)
    mid = [f for f in res["files"] if f.endswith(".mid")][0]
    assert "seed42" in mid and "cat-drums" in mid
    pm = pretty_midi.PrettyMIDI(mid)
    assert pm.instruments[0].is_drum and pm.get_tempo_changes()[1][0] == pytest.approx(100)
    starts = sorted({round(n.start, 4) for n in pm.instruments[0].notes if n.pitch == 42})
    step = 60 / 100 / 4
    assert starts[:2] == [0.0, pytest.approx(2 * step, abs=1e-3)]  # even 16ths are not swung
    assert len(pm.instruments[0].notes) == 2 * (8 + 4 + 16)
    wav = [f for f in res["files"] if f.endswith(".wav")][0]
    import soundfile as sf
    info = sf.info(wav)
    assert info.duration == pytest.approx(2 * 32 * step, abs=0.01)
    with pytest.raises(OutputExists):
        run("drums.export", patterns=pats, folder=str(tmp_path), model="cat-drums_2bar_small.lokl", seed=42)
    run("drums.export", patterns=pats, folder=str(tmp_path), model="cat-drums_2bar_small.lokl",
        seed=42, overwrite=True)


def test_swing_delays_the_offbeat_sixteenths(tmp_path):
    pat = {"velocities": [[0] * 32, [0] * 32, [90] * 32] + [[0] * 32] * 6, "qpm": 120}
    res = run("drums.export", patterns=[pat], swing=0.3, folder=str(tmp_path), seed=1)
    notes = pretty_midi.PrettyMIDI(res["files"][0]).instruments[0].notes
    starts = sorted(n.start for n in notes)
    step = 0.125
    assert starts[1] == pytest.approx(step * 1.3, abs=2e-3) and starts[2] == pytest.approx(2 * step, abs=2e-3)


def test_audition_plays_the_rendered_loop():
    player.install(None)
    st = run("drums.audition", patterns=[four_on_the_floor(120)], swing=0.0)
    played = player.get().device.played[-1]
    assert st["playing"] and played.loop and played.rate == 44100
    assert len(played.samples) == 44100 * 4  # 2 bars at 120 bpm
    assert np.abs(played.samples).max() > 0.1


def test_melody_sample_writes_midi(tmp_path):
    mel = {"checkpoint": str(FIX / "cat-mel_2bar_big"), "config": "cat-mel_2bar_big"}
    r = run("melody.sample", n=2, seed=8, folder=str(tmp_path), **mel)
    assert len(r["files"]) == 2 and all(os.path.exists(f["path"]) for f in r["files"])


def test_cli_drums_sample_prints_the_seed_and_writes_channel_10(tmp_path):
    code = "import sys; from engine.cli import main; sys.exit(main())"
    out = subprocess.run([sys.executable, "-c", code, "drums", "sample", "-n", "2", "--seed", "77",
                          "--checkpoint", DRUMS["checkpoint"], "--config", DRUMS["config"],
                          "-o", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "seed: 77" in out.stdout
    files = sorted(tmp_path.glob("*.mid"))
    assert len(files) == 2
    pm = pretty_midi.PrettyMIDI(str(files[0]))
    assert all(i.is_drum for i in pm.instruments)


def _write_midi(path, drums: bool) -> None:
    pm = pretty_midi.PrettyMIDI(initial_tempo=90)
    inst = pretty_midi.Instrument(program=0, is_drum=drums)
    for i in range(40):
        t = i * 60 / 90 / 4
        inst.notes.append(pretty_midi.Note(100, 36 if i % 4 == 0 else 42, t, t + 0.1))
    pm.instruments.append(inst)
    pm.write(str(path))


def test_import_drum_midi_into_patterns(tmp_path):
    _write_midi(tmp_path / "beat.mid", drums=True)
    res = run("drums.import_midi", path=str(tmp_path / "beat.mid"))
    assert res["qpm"] == pytest.approx(90, abs=0.01)  # MIDI stores microseconds per beat
    assert len(res["patterns"]) == 2  # 40 sixteenths → two 2-bar patterns
    vel = np.array(res["patterns"][0]["velocities"])
    assert (vel[0, ::4] == 100).all() and vel[2, 1] == 100


def test_import_midi_without_drums_says_so(tmp_path):
    _write_midi(tmp_path / "piano.mid", drums=False)
    with pytest.raises(BadInput, match="no drum notes.*channel 10"):
        run("drums.import_midi", path=str(tmp_path / "piano.mid"))
    (tmp_path / "junk.mid").write_bytes(b"MThd nonsense")
    with pytest.raises(BadInput, match="junk.mid"):
        run("drums.import_midi", path=str(tmp_path / "junk.mid"))


def test_wav_export_rate_and_format(tmp_path):
    import soundfile as sf
    res = run("drums.export", patterns=[four_on_the_floor()], folder=str(tmp_path), wav=True,
              rate=48000, format="FLOAT", seed=1)
    info = sf.info([f for f in res["files"] if f.endswith(".wav")][0])
    assert info.samplerate == 48000 and info.subtype == "FLOAT"
    with pytest.raises(BadRequest, match="sample format"):
        run("drums.export", patterns=[four_on_the_floor()], folder=str(tmp_path / "x"), wav=True,
            format="MP3", seed=1)
    assert not (tmp_path / "x").exists()  # nothing half-exported


def test_audition_with_a_soundfont():
    from engine.audio.soundfont import pretty_midi_soundfont
    sf2 = pretty_midi_soundfont()
    if sf2 is None:
        pytest.skip("pretty_midi ships no SoundFont in this install")
    player.install(None)
    run("drums.audition", patterns=[four_on_the_floor(120)], soundfont=str(sf2))
    with_sf2 = player.get().device.played[-1].samples
    run("drums.audition", patterns=[four_on_the_floor(120)])
    with_kit = player.get().device.played[-1].samples
    assert len(with_sf2) == len(with_kit) and not np.allclose(with_sf2, with_kit)


def test_export_through_the_general_midi_kit(tmp_path):
    """`gm` names the General MIDI SoundFont that ships: its full kit plays every hit of
    the exported pattern at the time the exported MIDI gives it."""
    import soundfile as sf

    from engine.audio.soundfont import general_midi_soundfont
    from tests.test_audio_soundfont import onsets

    if general_midi_soundfont() is None:
        pytest.skip("pretty_midi ships no SoundFont in this install")
    assert run("drums.check", soundfont="gm")["soundfont"] == str(general_midi_soundfont())
    res = run("drums.export", patterns=[four_on_the_floor(120)], folder=str(tmp_path),
              wav=True, soundfont="GM", seed=1)
    mid = next(f for f in res["files"] if f.endswith(".mid"))
    wav = next(f for f in res["files"] if f.endswith(".wav"))
    starts = sorted({round(n.start, 4) for n in pretty_midi.PrettyMIDI(mid).instruments[0].notes})
    audio, rate = sf.read(wav, dtype="float32")
    assert onsets(audio, rate, rel=0.1) == pytest.approx(starts, abs=0.015)
