"""The engine's file policy (engine/pathpolicy.py, docs/paths.md), from the user's side:
each request as a client would send it, the reply it must get, and what must not be on
disk afterwards. Real files, the real SQLite store; nothing is mocked.

A FIFO is the sharpest probe: opening one for reading blocks until a writer comes, so
a handler that opens before it checks would hang. The calls run in a thread joined with
a generous timeout only as a safety net; the assertions are on the error."""

from __future__ import annotations

import os
import stat
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import paths, pathpolicy
from engine.errors import BadInput, BadRequest, EngineError, OutputExists
from engine.fsutil import atomic_write_bytes
from engine.local import run_method
from tests.test_drum_jobs import four_on_the_floor
from tests.test_timeline_jobs import two_track_midi

SAFETY_NET_S = 60.0


def call(method: str, **params):
    """run_method in a thread: a handler that blocks on a FIFO fails the test instead
    of hanging the run. Returns the result or raises what the handler raised."""
    box: dict = {}

    def target() -> None:
        try:
            box["result"] = run_method(method, params, quiet=True)
        except BaseException as e:  # noqa: BLE001 - re-raised below
            box["error"] = e

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(SAFETY_NET_S)
    if t.is_alive():
        # unblock it (a writer on the FIFO lets the open return) so the run can go on
        for p in params.values():
            if isinstance(p, str) and os.path.exists(p) and stat.S_ISFIFO(os.stat(p).st_mode):
                fd = os.open(p, os.O_WRONLY | os.O_NONBLOCK)
                os.close(fd)
        pytest.fail(f"{method} blocked on a special file for {SAFETY_NET_S} s")
    if "error" in box:
        raise box["error"]
    return box["result"]


def tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture
def fifo(tmp_path) -> Path:
    p = tmp_path / "kit.sf2"
    os.mkfifo(p)
    return p


def wav_file(path: Path, seconds: float = 0.25) -> Path:
    t = np.arange(int(16000 * seconds)) / 16000
    sf.write(path, (0.4 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), 16000)
    return path


# --------------------------------------------------------------------- special files

def test_drums_audition_with_a_fifo_soundfont_is_refused_at_once(mag_home, fifo):
    with pytest.raises(BadInput) as e:
        call("drums.audition", patterns=[four_on_the_floor()], soundfont=str(fifo))
    assert str(fifo) in e.value.message and "named pipe" in e.value.message
    assert "`soundfont`" in e.value.message and ".sf2" in e.value.message  # the fix
    assert e.value.details["param"] == "soundfont" and e.value.details["reason"] == "not_a_file"


def test_drums_export_with_a_fifo_soundfont_writes_nothing(mag_home, fifo, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(BadInput, match="named pipe"):
        call("drums.export", patterns=[four_on_the_floor()], folder=str(out), wav=True,
             soundfont=str(fifo), seed=1)
    assert tree(out) == []  # not even the MIDI half


@pytest.mark.parametrize("special", ["folder", "fifo", "/dev/zero"])
def test_reading_a_special_file_as_wav_or_midi_names_the_file(mag_home, tmp_path, special):
    if special == "folder":
        target = tmp_path / "song.mid"
        target.mkdir()
    elif special == "fifo":
        target = tmp_path / "song.mid"
        os.mkfifo(target)
    else:
        target = Path(special)
    for method, params, param in [
        ("timeline.load_midi", {"path": str(target)}, "path"),
        ("drums.import_midi", {"path": str(target)}, "path"),
        ("melody.continue", {"primer": str(target), "seed": 1}, "primer"),
        ("gansynth.render", {"midi": str(target)}, "midi"),
        ("audio.play", {"path": str(target)}, "path"),
        ("library.import", {"path": str(target)}, "path"),
        ("nsynth.mix", {"sources": [str(target.with_suffix(".npy")) if special == "fifo"
                                    else str(target), str(target)]}, "sources"),
    ]:
        if method == "nsynth.mix" and special == "fifo":
            os.mkfifo(target.with_suffix(".npy"))
        with pytest.raises(BadInput) as e:
            call(method, **params)
        msg = e.value.message
        assert str(target) in msg or str(target.with_suffix(".npy")) in msg, (method, msg)
        if special != "folder" or method not in ("timeline.load_midi", "library.import"):
            # (those two answered "is a folder" before the policy, and still do)
            assert f"`{param}`" in msg, (method, msg)
            assert e.value.details.get("reason") == "not_a_file", (method, e.value.details)


def test_timeline_export_with_a_fifo_midi_writes_nothing(mag_home, tmp_path):
    render = wav_file(tmp_path / "render.wav")
    midi = tmp_path / "render.mid"
    os.mkfifo(midi)
    out = tmp_path / "exports"
    with pytest.raises(BadInput, match="`midi_path`"):
        call("timeline.export", path=str(render), midi_path=str(midi), folder=str(out), name="song")
    assert not out.exists()


def test_mix_keep_of_a_fifo_is_refused(mag_home, tmp_path):
    wav = tmp_path / "mix.wav"
    os.mkfifo(wav)
    with pytest.raises(BadInput, match="`wav_path`"):
        call("mix.keep", wav_path=str(wav), recipe={"sources": ["a.wav"], "seed": 1})
    assert not (mag_home / "library").exists() or tree(mag_home / "library") == []


def test_checkpoint_import_of_a_fifo_is_refused(mag_home, tmp_path, monkeypatch):
    from engine import checkpoints
    monkeypatch.setenv("MAGSTATION_CHECKPOINTS", str(tmp_path / "ckpts"))
    archive = tmp_path / "model.tar"
    os.mkfifo(archive)
    box: dict = {}
    t = threading.Thread(target=lambda: box.setdefault("e", _raises(
        lambda: checkpoints.import_checkpoint(archive, "mine", family="musicvae"))), daemon=True)
    t.start()
    t.join(SAFETY_NET_S)
    if t.is_alive():
        os.close(os.open(archive, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("checkpoint import blocked on a FIFO")
    assert isinstance(box["e"], BadInput) and "named pipe" in box["e"].message


def _raises(fn):
    try:
        fn()
    except EngineError as e:
        return e
    return None


# --------------------------------------------------------------------------- writing

def test_drums_export_name_cannot_leave_the_folder(mag_home, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(BadRequest) as e:
        call("drums.export", patterns=[four_on_the_floor()], folder=str(out),
             name="../elsewhere/x", wav=True, seed=1)
    assert "`name`" in e.value.message and e.value.details["param"] == "name"
    assert not (tmp_path / "elsewhere").exists()
    assert tree(tmp_path) == ["out"]  # nothing written anywhere


def test_drums_export_makes_only_the_chosen_folder(mag_home, tmp_path):
    res = call("drums.export", patterns=[four_on_the_floor()], folder=str(tmp_path / "new"),
               name="beat", seed=1)
    assert res["files"] == [str(tmp_path / "new" / "beat-pattern.mid")]
    with pytest.raises(BadRequest, match="does not exist either"):
        call("drums.export", patterns=[four_on_the_floor()],
             folder=str(tmp_path / "a" / "b"), name="beat", seed=1)
    assert not (tmp_path / "a").exists()
    assert [p.name for p in (tmp_path / "new").iterdir()] == ["beat-pattern.mid"]  # no .part


def test_save_midi_never_replaces_without_overwrite(mag_home, tmp_path):
    src = two_track_midi(tmp_path / "a.mid")
    dst = tmp_path / "mine.mid"
    dst.write_bytes(b"my own file")
    with pytest.raises(OutputExists) as e:
        call("timeline.save_midi", midi=str(src), add=[], path=str(dst))
    assert str(dst) in e.value.message
    assert dst.read_bytes() == b"my own file"
    res = call("timeline.save_midi", midi=str(src), add=[], path=str(dst), overwrite=True)
    assert res["path"] == str(dst) and dst.read_bytes().startswith(b"MThd")


def test_save_midi_makes_no_folders(mag_home, tmp_path):
    src = two_track_midi(tmp_path / "a.mid")
    with pytest.raises(BadRequest) as e:
        call("timeline.save_midi", midi=str(src), add=[], path=str(tmp_path / "x" / "y" / "e.mid"))
    assert "no such folder" in e.value.message and e.value.details["param"] == "path"
    assert not (tmp_path / "x").exists()


def test_a_symlink_at_the_target_is_not_followed(mag_home, tmp_path):
    src = two_track_midi(tmp_path / "a.mid")
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    folder = tmp_path / "exports"
    folder.mkdir()
    link = folder / "e.mid"
    link.symlink_to(outside)
    with pytest.raises(OutputExists):
        call("timeline.save_midi", midi=str(src), add=[], path=str(link))
    call("timeline.save_midi", midi=str(src), add=[], path=str(link), overwrite=True)
    assert outside.read_text() == "precious"  # the link was replaced, not written through
    assert not link.is_symlink() and link.read_bytes().startswith(b"MThd")


def test_gansynth_output_name_cannot_leave_the_job_folder(mag_home, tmp_path):
    midi = two_track_midi(tmp_path / "a.mid")
    with pytest.raises(BadRequest, match="`output`"):
        call("gansynth.render", midi=str(midi), output="../../escaped.wav")
    assert not list(tmp_path.rglob("escaped.wav"))


def test_library_import_name_is_a_plain_name(mag_home, tmp_path):
    src = wav_file(tmp_path / "hit.wav")
    with pytest.raises(BadRequest, match="`name`"):
        call("library.import", path=str(src), name="../../hit")
    assert not (mag_home / "library").exists() or tree(mag_home / "library") == []
    res = call("library.import", path=str(src), name="kick")
    assert res["sound"]["path"] == str(mag_home / "library" / "kick.wav")


TOKENS = ["a", "b", ".", "..", "-", "/", "\\", " ", "\x00", "é", "\udcff", "~", "\n"]
NAMES = st.one_of(st.lists(st.sampled_from(TOKENS), max_size=8).map("".join),
                  st.text(max_size=20), st.integers(250, 300).map(lambda n: "é" * (n // 2)))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=NAMES, overwrite=st.booleans())
def test_any_name_stays_inside_the_folder_or_is_refused(name, overwrite):
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        folder = root / "out"
        folder.mkdir()
        (root / "taken").write_text("x")
        try:
            target = pathpolicy.output_file(folder, name, overwrite=overwrite)
        except BadRequest as e:
            assert e.details["param"] == "name"
            return
        except OutputExists:
            assert name in os.listdir(folder)
            return
        assert target.parent == folder and target.name == name
        atomic_write_bytes(target, b"data")
        assert os.listdir(folder) == [name]
        assert sorted(os.listdir(root)) == ["out", "taken"]
        assert (root / "taken").read_text() == "x"


# ----------------------------------------------------------------- non-UTF-8 names

def test_scan_skips_a_file_whose_name_is_not_utf8(mag_home, tmp_path):
    folder = tmp_path / "sounds"
    folder.mkdir()
    wav_file(folder / "good.wav")
    wav_file(folder / "fine.flac")
    data = (folder / "good.wav").read_bytes()
    bad = os.path.join(os.fsencode(folder), b"bad\xff.wav")
    fd = os.open(bad, os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, data)
    os.close(fd)
    os.mkdir(os.path.join(os.fsencode(folder), b"dir\xfe"))
    fd = os.open(os.path.join(os.fsencode(folder), b"dir\xfe", b"inner.wav"),
                 os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, data)
    os.close(fd)
    call("library.add_folder", path=str(folder))
    res = call("library.scan", only=[str(folder)])
    assert res["indexed"] == 2 and res["bad"] == 0
    names = {s["name"]: s["reason"] for s in res["skipped"]}
    assert set(names) == {"bad\\xff.wav", "dir\\xfe"}
    assert all("UTF-8" in r and "rename" in r for r in names.values())
    listed = call("library.list", folder=str(folder))["sounds"]
    assert sorted(s["name"] for s in listed) == ["fine.flac", "good.wav"]
    again = call("library.scan", only=[str(folder)])  # and again: still no abort
    assert again["unchanged"] == 2 and len(again["skipped"]) == 2


# ------------------------------------------------------------ the engine's own files

def test_home_files_are_private_whatever_the_umask(mag_home, tmp_path):
    from engine.jobs import ResultCache
    from tui.session import Session

    old = os.umask(0o022)
    try:
        os.chmod(mag_home, 0o755)  # as an older version, or `mkdir`, might have left it
        src = wav_file(tmp_path / "hit.wav")
        imported = call("library.import", path=str(src))
        call("library.overview", path=imported["sound"]["path"])
        ResultCache(paths.cache_dir() / "results").put("k", {"x": 1})
        Session().save()
        pathpolicy.output_file(mag_home / "timeline", "e.mid", overwrite=False)  # may be made
        call("timeline.save_midi", midi=str(two_track_midi(tmp_path / "a.mid")), add=[],
             path=str(mag_home / "timeline" / "a_edited.mid"))
    finally:
        os.umask(old)
    seen = {"dirs": 0, "files": 0}
    for p in [mag_home, *mag_home.rglob("*")]:
        mode = stat.S_IMODE(p.lstat().st_mode)
        if p.is_dir():
            seen["dirs"] += 1
            assert mode == 0o700, (p, oct(mode))
        else:
            seen["files"] += 1
            assert mode == 0o600, (p, oct(mode))
    names = {p.name for p in mag_home.rglob("*")}
    assert {"magstation.db", "library", "cache", "session.json", "a_edited.mid"} <= names
    assert seen["files"] >= 5


def test_user_exports_keep_the_users_umask(mag_home, tmp_path):
    from engine import fsutil
    res = call("drums.export", patterns=[four_on_the_floor()], folder=str(tmp_path / "x"),
               name="beat", seed=1)
    # a user's export is not made private: it gets what a plain open() would give it
    assert stat.S_IMODE(os.stat(res["files"][0]).st_mode) == 0o666 & ~fsutil._UMASK
