"""The sample library in the engine: scanning good and broken files, re-scans, tags,
imports, overviews and audition buffers, in process and over the protocol."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine import library, player
from engine.context import JobContext
from engine.errors import BadInput, BadRequest, JobCancelled
from engine.local import run_method
from engine.store import get_store

RATE = 16000


def tone(seconds: float, rate: int, hz: float = 440.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def riff(rate: int = RATE, bits: int = 16, fmt: int = 1, data: bytes = b"\0" * 800,
         declared: int | None = None) -> bytes:
    """A hand-made WAV: lets a test write headers no audio library would."""
    align = (bits + 7) // 8
    fmt_chunk = struct.pack("<HHIIHH", fmt, 1, rate, rate * align, align, bits)
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt_chunk)) + fmt_chunk
            + b"data" + struct.pack("<I", len(data) if declared is None else declared) + data)
    return b"RIFF" + struct.pack("<I", len(body)) + body


GOOD = {  # name -> (rate, channels, subtype)
    "pcm16.wav": (16000, 1, "PCM_16"),
    "pcm8.wav": (16000, 1, "PCM_U8"),
    "pcm24.wav": (44100, 1, "PCM_24"),
    "float.wav": (48000, 1, "FLOAT"),
    "low-8k.wav": (8000, 1, "PCM_16"),
    "high-96k.wav": (96000, 1, "PCM_24"),
    "stereo.wav": (44100, 2, "PCM_16"),
    "pad.flac": (22050, 1, "PCM_16"),
    "lead.mp3": (44100, 1, "MPEG_LAYER_III"),
}
BAD = {  # name -> status
    "empty.wav": "empty",
    "header-cut.wav": "unreadable",
    "data-cut.wav": "truncated",
    "notes.wav": "not_audio",
    "odd-rate.wav": "odd_rate",
    "int64.wav": "odd_format",
    "huge.wav": "too_large",
}


def make_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (rate, ch, subtype) in GOOD.items():
        x = tone(0.25, rate)
        data = np.stack([x, 0.5 * x], axis=1) if ch == 2 else x
        sub = None if subtype == "MPEG_LAYER_III" else subtype
        sf.write(folder / name, data, rate, subtype=sub)
    (folder / "empty.wav").write_bytes(b"")
    (folder / "header-cut.wav").write_bytes((folder / "pcm16.wav").read_bytes()[:30])
    (folder / "data-cut.wav").write_bytes((folder / "pcm16.wav").read_bytes()[:2000])
    (folder / "notes.wav").write_text("this is not a sound, just notes named .wav\n")
    (folder / "odd-rate.wav").write_bytes(riff(rate=1000))
    (folder / "int64.wav").write_bytes(riff(bits=64))
    with open(folder / "huge.wav", "wb") as fh:  # sparse: 201 MiB on paper, nothing on disk
        fh.write(riff())
        fh.truncate(201 * 2**20)
    (folder / "readme.txt").write_text("not picked up: not an audio suffix")
    (folder / ".hidden.wav").write_bytes(riff())
    return folder


@pytest.fixture
def sounds(mag_home, tmp_path):
    folder = make_folder(tmp_path / "my sounds")
    run_method("library.add_folder", {"path": str(folder)}, quiet=True)
    return folder


def scan(folder: Path, **params) -> dict:
    return run_method("library.scan", {"only": [str(folder)], **params}, quiet=True)


def listing(folder: Path, **params) -> dict[str, dict]:
    rows = run_method("library.list", {"folder": str(folder), **params}, quiet=True)["sounds"]
    return {r["name"]: r for r in rows}


def test_scan_indexes_good_files_and_records_why_bad_ones_are_bad(sounds):
    result = scan(sounds)
    assert result["files"] == len(GOOD) + len(BAD)
    assert result["indexed"] == len(GOOD) + len(BAD) and result["bad"] == len(BAD)
    rows = listing(sounds)
    assert set(rows) == set(GOOD) | set(BAD)
    for name, (rate, ch, subtype) in GOOD.items():
        r = rows[name]
        assert r["status"] == "ok" and r["error"] is None, (name, r["error"])
        assert (r["rate"], r["channels"], r["subtype"]) == (rate, ch, subtype)
        assert r["duration"] == pytest.approx(0.25, abs=0.06)  # MP3 adds encoder padding
        assert len(r["hash"]) == 64
    for name, status in BAD.items():
        r = rows[name]
        assert r["status"] == status, (name, r["status"], r["error"])
        assert r["error"].startswith(str(sounds / name)) and r["hash"] is None
    assert "truncated" in rows["data-cut.wav"]["error"] and "get it again" in rows["data-cut.wav"]["error"]
    assert "not an audio file" in rows["notes.wav"]["error"]
    assert "1000 Hz" in rows["odd-rate.wav"]["error"]
    assert "too large" in rows["huge.wav"]["error"]


def test_identical_content_has_the_same_hash(sounds):
    (sounds / "copy.wav").write_bytes((sounds / "pcm16.wav").read_bytes())
    scan(sounds)
    rows = listing(sounds)
    assert rows["copy.wav"]["hash"] == rows["pcm16.wav"]["hash"] != rows["pcm8.wav"]["hash"]


def test_a_rescan_skips_unchanged_files_and_sees_changes_and_removals(sounds):
    scan(sounds)
    again = scan(sounds)
    assert again["indexed"] == 0 and again["unchanged"] == len(GOOD) + len(BAD)
    assert again["bad"] == len(BAD)
    old = listing(sounds)
    sf.write(sounds / "pcm16.wav", tone(0.5, RATE), RATE)  # changed: new size
    (sounds / "notes.wav").unlink()
    (sounds / "sub").mkdir()
    sf.write(sounds / "sub" / "new.wav", tone(0.1, RATE), RATE)
    third = scan(sounds)
    assert (third["indexed"], third["removed"]) == (2, 1)
    rows = listing(sounds)
    assert rows["pcm16.wav"]["hash"] != old["pcm16.wav"]["hash"]
    assert rows["pcm16.wav"]["duration"] == pytest.approx(0.5)
    assert "notes.wav" not in rows and "new.wav" in rows
    assert rows["pcm8.wav"]["scanned"] == old["pcm8.wav"]["scanned"]  # not read again
    forced = scan(sounds, rehash=True)
    assert forced["indexed"] == forced["files"]


def test_a_too_long_sound_is_reported_not_loaded(sounds, monkeypatch):
    monkeypatch.setattr(library, "MAX_SECONDS", 0.2)
    scan(sounds)
    r = listing(sounds)["pcm16.wav"]
    assert r["status"] == "too_long" and "Trim it" in r["error"]


def test_a_sound_whose_header_hides_its_length_is_reported(sounds):
    path = sounds / "stream.flac"
    sf.write(path, tone(0.25, RATE), RATE, format="FLAC")
    b = bytearray(path.read_bytes())  # zero STREAMINFO's 36-bit sample count, as streamers do
    b[18:26] = (int.from_bytes(b[18:26], "big") & ~((1 << 36) - 1)).to_bytes(8, "big")
    path.write_bytes(bytes(b))
    scan(sounds)
    r = listing(sounds)["stream.flac"]
    assert r["status"] == "unknown_length" and r["error"].startswith(str(path))
    assert "Convert it to WAV" in r["error"] and r["hash"] is None


def test_scan_reports_progress_and_can_be_cancelled(sounds):
    seen: list[tuple[float, float, str]] = []
    ctx = JobContext(_sink=lambda d, t, m, eta: seen.append((d, t, m)))
    library.scan(get_store(), ctx, only=[str(sounds)])
    assert seen[-1][:2] == (len(GOOD) + len(BAD),) * 2
    assert {m for _, _, m in seen} >= {"empty.wav", "lead.mp3"}

    def cancel_after_two(d, t, m, eta):
        if d >= 2:
            ctx2.cancel()
    ctx2 = JobContext(_sink=cancel_after_two)
    with pytest.raises(JobCancelled):
        library.scan(get_store(), ctx2, only=[str(sounds)], rehash=True)


def test_scan_only_accepts_library_folders(sounds, tmp_path):
    with pytest.raises(BadRequest, match="add them first"):
        scan(tmp_path / "elsewhere")


def test_a_removed_folder_leaves_the_index_but_its_files_stay(sounds):
    scan(sounds)
    run_method("library.remove_folder", {"path": str(sounds)}, quiet=True)
    assert listing(sounds) == {} and (sounds / "pcm16.wav").exists()


def test_add_folder_refuses_what_is_not_a_folder(mag_home, tmp_path):
    with pytest.raises(BadRequest, match="absolute"):
        run_method("library.add_folder", {"path": "relative/dir"}, quiet=True)
    with pytest.raises(BadInput, match="no such folder"):
        run_method("library.add_folder", {"path": str(tmp_path / "nope")}, quiet=True)
    (tmp_path / "f.wav").write_bytes(riff())
    with pytest.raises(BadInput, match="not a folder"):
        run_method("library.add_folder", {"path": str(tmp_path / "f.wav")}, quiet=True)


def test_tags_are_added_removed_normalised_and_filtered(sounds):
    scan(sounds)
    path = str(sounds / "pcm24.wav")
    res = run_method("library.tag", {"path": path, "add": ["Kick", "  warm pad ", "kick"]}, quiet=True)
    assert res["tags"] == ["kick", "warm-pad"]
    res = run_method("library.tag", {"path": path, "add": "dry", "remove": ["KICK"]}, quiet=True)
    assert res["tags"] == ["dry", "warm-pad"]
    assert list(listing(sounds, tag="dry")) == ["pcm24.wav"]
    assert list(listing(sounds, text="warm")) == ["pcm24.wav"]
    assert "dry" in run_method("library.list", {}, quiet=True)["tags"]
    with pytest.raises(BadRequest, match="not usable"):
        run_method("library.tag", {"path": path, "add": ["a,b"]}, quiet=True)
    with pytest.raises(BadRequest, match="not in the library"):
        run_method("library.tag", {"path": str(sounds / "nope.wav"), "add": ["x"]}, quiet=True)
    sf.write(sounds / "pcm24.wav", tone(0.3, 44100), 44100, subtype="PCM_24")
    scan(sounds)
    assert listing(sounds)["pcm24.wav"]["tags"] == ["dry", "warm-pad"]  # kept across a change


def test_import_copies_into_the_library_and_keeps_the_original(sounds, mag_home):
    src = sounds / "stereo.wav"
    before = (src.read_bytes(), src.stat().st_mtime_ns)
    res = run_method("library.import", {"path": str(src)}, quiet=True)
    dest = Path(res["sound"]["path"])
    assert dest.parent == mag_home / "library" and dest.name == "stereo.wav"
    assert dest.read_bytes() == before[0]
    assert (src.read_bytes(), src.stat().st_mtime_ns) == before
    assert res["sound"]["status"] == "ok" and not res["already"]
    x, rate = sf.read(res["derivative_path"], dtype="float32")
    assert rate == 16000 and x.ndim == 1 and len(x) == 4000
    assert sf.info(res["derivative_path"]).subtype == "FLOAT"
    assert not [p for p in (mag_home / "library").iterdir() if p.name.startswith(".")]  # no temp left
    # the same sound again is recognised; a different one with the same name is not overwritten
    assert run_method("library.import", {"path": str(src)}, quiet=True)["already"]
    other = sounds / "sub" / "stereo.wav"
    other.parent.mkdir()
    sf.write(other, tone(0.1, RATE), RATE)
    res2 = run_method("library.import", {"path": str(other)}, quiet=True)
    assert Path(res2["sound"]["path"]).name == "stereo-2.wav" and dest.read_bytes() == before[0]
    named = run_method("library.import", {"path": str(sounds / "lead.mp3"), "name": "My Lead"}, quiet=True)
    assert Path(named["sound"]["path"]).name == "My Lead.mp3"
    # a later scan of the library folder finds them unchanged
    scan_all = run_method("library.scan", {"only": [str(mag_home / "library")]}, quiet=True)
    assert scan_all["files"] == 3 and scan_all["unchanged"] == 3


@pytest.mark.parametrize("name,match", [("data-cut.wav", "truncated"), ("notes.wav", "not an audio"),
                                        ("empty.wav", "empty"), ("readme.txt", "WAV, FLAC or MP3")])
def test_import_of_a_bad_file_copies_nothing(sounds, mag_home, name, match):
    with pytest.raises(BadInput, match=match):
        run_method("library.import", {"path": str(sounds / name)}, quiet=True)
    assert not (mag_home / "library").exists() or not list((mag_home / "library").iterdir())


def test_import_needs_an_existing_absolute_file(mag_home, tmp_path):
    with pytest.raises(BadRequest, match="absolute"):
        run_method("library.import", {"path": "x.wav"}, quiet=True)
    with pytest.raises(BadInput, match="no such file"):
        run_method("library.import", {"path": str(tmp_path / "x.wav")}, quiet=True)


def test_overview_draws_the_envelope_and_puts_energy_in_the_right_band(sounds):
    x = np.concatenate([np.zeros(RATE // 2, np.float32), tone(0.5, RATE, hz=3000.0, amp=0.8)])
    sf.write(sounds / "half.wav", x, RATE, subtype="FLOAT")
    scan(sounds)
    o = run_method("library.overview", {"path": str(sounds / "half.wav"), "columns": 40, "bands": 12},
                   quiet=True)
    assert o["seconds"] == pytest.approx(1.0) and o["columns"] == 40
    assert max(o["max"][:19]) == 0.0 and min(o["min"][:19]) == 0.0  # silent first half
    assert all(m == pytest.approx(0.8, abs=0.01) for m in o["max"][21:])
    spec = np.array(o["spectrogram"])
    assert spec.shape == (12, 40)
    edges = o["bands_hz"]
    band = next(b for b in range(12) if edges[b] <= 3000 < edges[b + 1])
    assert spec[:, 30].argmax() == band and spec[band, 30] == 1.0
    assert spec[:, 5].max() == 0.0  # silence is at the floor
    # cached by content: the same answer again, and a changed file gets a new one
    again = run_method("library.overview", {"path": str(sounds / "half.wav"), "columns": 40, "bands": 12},
                       quiet=True)
    assert again == o
    sf.write(sounds / "half.wav", x[::-1].copy(), RATE, subtype="FLOAT")
    flipped = run_method("library.overview", {"path": str(sounds / "half.wav"), "columns": 40, "bands": 12},
                         quiet=True)
    assert flipped["hash"] != o["hash"] and max(flipped["max"][21:]) == 0.0


def test_overview_and_audition_of_a_bad_file_say_why(sounds):
    scan(sounds)
    for m in ("library.overview", "library.audition"):
        with pytest.raises(BadInput, match="truncated"):
            run_method(m, {"path": str(sounds / "data-cut.wav")}, quiet=True)
    with pytest.raises(BadRequest, match="not in the library"):
        run_method("library.audition", {"path": str(sounds / "unknown.wav")}, quiet=True)
    with pytest.raises(BadRequest, match="columns"):
        run_method("library.overview", {"path": str(sounds / "pcm16.wav"), "columns": 2}, quiet=True)


def test_audition_prepares_a_16k_mono_buffer(sounds):
    scan(sounds)
    player.install(None)  # a fresh headless player: its null device records what it plays
    res = run_method("library.audition", {"path": str(sounds / "high-96k.wav")}, quiet=True)
    x, rate = sf.read(res["buffer_path"], dtype="float32")
    assert rate == 16000 and x.ndim == 1 and len(x) == 4000 and res["seconds"] == 0.25
    assert res["played"] is True and res["played_rate"] == 96000
    assert player.get().device.played[-1].rate == 96000
    # 96 kHz -> 16 kHz keeps a 440 Hz tone at 440 Hz
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    assert np.fft.rfftfreq(len(x), 1 / 16000)[spectrum.argmax()] == pytest.approx(440, abs=8)


async def test_over_the_protocol_list_answers_at_once_while_a_job_runs(connect, sounds):
    client = await connect()
    busy = await client.start("engine.sleep", {"seconds": 120, "steps": 1200})
    listed = await client.call("library.list", {"folder": str(sounds)})
    assert not busy._future.done()  # answered while the worker is busy
    assert listed["sounds"] == [] and any(f["path"] == str(sounds) for f in listed["folders"])
    await busy.cancel()
    with pytest.raises(JobCancelled):
        await busy.result()
    progress: list[dict] = []
    result = await client.call("library.scan", {"only": [str(sounds)]}, on_progress=progress.append)
    assert result["files"] == len(GOOD) + len(BAD) and progress
    listed = await client.call("library.list", {"folder": str(sounds), "text": "stereo"})
    assert [s["name"] for s in listed["sounds"]] == ["stereo.wav"]
    with pytest.raises(BadRequest):
        await client.call("library.tag", {"path": 3})


async def test_audition_plays_the_original_or_what_the_models_hear(connect, server, sounds):
    client = await connect()
    await client.call("library.scan", {"only": [str(sounds)]})
    stereo = sounds / "stereo.wav"
    st = await client.call("library.audition", {"path": str(stereo)})
    heard = server.player.device.played[-1]
    original, rate = sf.read(stereo, dtype="float32")
    assert st["played"] and st["playing"] and st["label"] == "stereo.wav" and not st["loop"]
    # the file itself, at its own rate, both channels mixed to mono
    assert heard.rate == rate == st["played_rate"] == 44100 and not heard.loop
    np.testing.assert_allclose(heard.samples, original.mean(axis=1), atol=1e-6)
    assert st["duration_s"] == pytest.approx(0.25)
    # model_rate: exactly the 16 kHz buffer the models read, here looped over what plays
    st = await client.call("library.audition", {"path": str(stereo), "model_rate": True,
                                                "loop": True, "layer": True})
    heard = server.player.device.played[-1]
    buffer, buffer_rate = sf.read(st["buffer_path"], dtype="float32")
    assert heard.rate == buffer_rate == st["played_rate"] == 16000 and st["model_rate"]
    np.testing.assert_array_equal(heard.samples, buffer)
    assert heard.loop and heard.layer and st["loop"]
    # a sound that can't be used plays nothing and says why
    count = len(server.player.device.played)
    with pytest.raises(BadInput, match="truncated"):
        await client.call("library.audition", {"path": str(sounds / "data-cut.wav")})
    with pytest.raises(BadRequest, match="model_rate"):
        await client.call("library.audition", {"path": str(stereo), "model_rate": "yes"})
    assert len(server.player.device.played) == count


def test_an_unplugged_folder_keeps_its_sounds_and_tags(sounds, tmp_path):
    scan(sounds)
    run_method("library.tag", {"path": str(sounds / "pad.flac"), "add": ["pad"]}, quiet=True)
    away = sounds.rename(tmp_path / "unplugged")
    res = scan(sounds)
    assert res["missing_folders"] == [str(sounds)] and res["removed"] == 0
    assert listing(sounds)["pad.flac"]["tags"] == ["pad"]
    away.rename(sounds)
    assert scan(sounds)["unchanged"] == len(GOOD) + len(BAD)


def test_list_says_when_it_was_cut_short(sounds):
    scan(sounds)
    assert run_method("library.list", {"folder": str(sounds), "limit": 2}, quiet=True)["truncated"]
    assert not run_method("library.list", {"folder": str(sounds)}, quiet=True)["truncated"]


def test_the_headless_cli_scans_tags_lists_and_imports(mag_home, tmp_path, capsys):
    from engine.cli import main
    folder = make_folder(tmp_path / "cli")
    assert main(["library", "add", str(folder)]) == 0
    assert main(["library", "scan"]) == 0
    assert main(["library", "tag", str(folder / "pad.flac"), "+pad", "warm"]) == 0
    capsys.readouterr()
    assert main(["library", "list", "--tag", "pad"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].endswith("pad.flac  [pad warm]") and "22050 Hz" in out[0]
    assert main(["library", "list", "notes"]) == 0
    assert "not_audio" in capsys.readouterr().out
    assert main(["library", "import", str(folder / "data-cut.wav")]) == 2
    assert "truncated" in capsys.readouterr().err
    assert main(["library", "import", str(folder / "pcm16.wav"), "--name", "hit.wav"]) == 0
    assert (mag_home / "library" / "hit.wav").read_bytes() == (folder / "pcm16.wav").read_bytes()


def test_generated_audio_is_kept_in_the_library(mag_home):
    x = tone(0.5, RATE, hz=220.0)
    first = library.keep_sound(get_store(), x, RATE, "mix: A+B/0.5", tags=["NSynth"])
    second = library.keep_sound(get_store(), x, RATE, "mix: A+B/0.5")
    assert Path(first.path).parent == mag_home / "library"
    assert Path(first.path).name == "mix-A+B-0.5.wav"
    assert Path(second.path).name == "mix-A+B-0.5-2.wav"
    assert first.ok and first.tags == ["nsynth"] and first.duration == 0.5
    y, rate = sf.read(first.path, dtype="float32")
    assert rate == RATE and np.array_equal(x, y)
    assert library.derivative_path(first.hash).exists()
    with pytest.raises(BadRequest):
        library.keep_sound(get_store(), np.zeros((2, 2)), RATE, "x")
