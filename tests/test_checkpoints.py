"""Checkpoint manifest, `models list/pull/import/verify`, resolve() — against small real
TF checkpoints with official-style variable names and a local HTTP server."""

from __future__ import annotations

import argparse
import io
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from engine import checkpoints as ck
from engine.commands import models as models_cmd
from engine.errors import BadInput, CheckpointError, EngineError, ModelNotInstalled

# Small stand-ins for real variables: official names, small shapes, plus training-only extras.
VARS = {
    "encoder/mu/kernel": (6, 4),
    "encoder/mu/bias": (4,),
    "decoder/output_projection/kernel": (5, 7),
    "decoder/output_projection/bias": (7,),
}
EXTRA = {"decoder/output_projection/kernel/Adam": (5, 7)}


def _save_tf_checkpoint(prefix: Path, v1_single_file: bool = False) -> None:
    import tensorflow as tf

    tf1 = tf.compat.v1
    g = tf.Graph()
    with g.as_default():
        rng = np.random.RandomState(0)
        for name, shape in {**VARS, **EXTRA}.items():
            tf1.get_variable(name, initializer=rng.randn(*shape).astype(np.float32))
        tf1.train.get_or_create_global_step()
        saver = (tf1.train.Saver(sharded=False, write_version=tf1.train.SaverDef.V1)
                 if v1_single_file else tf1.train.Saver())
        with tf1.Session(graph=g) as sess:
            sess.run(tf1.global_variables_initializer())
            saver.save(sess, str(prefix), write_meta_graph=False, write_state=False)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A V2 checkpoint folder, the same as an official-style .tar and .tar.gz, and a .mag."""
    root = tmp_path_factory.mktemp("made")
    ckdir = root / "drums_ckpt"
    ckdir.mkdir()
    _save_tf_checkpoint(ckdir / "model.ckpt-1234")
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w") as tf_:
        for f in sorted(ckdir.iterdir()):
            tf_.add(f, arcname=f"cat-drums_2bar_small.lokl/{f.name}")
    (root / "cat-drums_2bar_small.lokl.tar").write_bytes(tar_bytes.getvalue())
    with tarfile.open(root / "cat-drums_2bar_small.hikl.tar.gz", "w:gz") as tf_:
        for f in sorted(ckdir.iterdir()):
            tf_.add(f, arcname=f.name)
    # a .mag bundle: GeneratorBundle{generator_details, checkpoint_file=[V1 checkpoint]}
    from note_seq.protobuf import generator_pb2

    v1 = root / "v1"
    v1.mkdir()
    _save_tf_checkpoint(v1 / "model.ckpt", v1_single_file=True)
    bundle = generator_pb2.GeneratorBundle()
    bundle.generator_details.id = "basic_rnn"
    bundle.checkpoint_file.append((v1 / "model.ckpt").read_bytes())
    (root / "basic_rnn.mag").write_bytes(bundle.SerializeToString())
    return root


class _Server:
    """Serves files from a dict with HTTP Range support; can cut a response short."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.cut_next_after: int | None = None
        self.honour_range = True
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def do_GET(self):
                server.requests.append({"path": self.path, "range": self.headers.get("Range")})
                data = server.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                start = 0
                rng = self.headers.get("Range")
                if rng and server.honour_range:
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.cut_next_after is not None:
                    body = body[:server.cut_next_after]
                    server.cut_next_after = None
                    self.wfile.write(body)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = _Server()
    yield s
    s.close()


REAL_MANIFEST = Path(__file__).resolve().parent.parent / "checkpoints" / "manifest"


@pytest.fixture
def env(tmp_path, monkeypatch, server, made):
    """Checkpoints go to a temp folder; the manifest is the real one plus entries that
    download from the local server."""
    monkeypatch.setenv("MAGSTATION_CHECKPOINTS", str(tmp_path / "checkpoints"))
    server.files["/ckpt/cat-drums_2bar_small.lokl.tar"] = (
        made / "cat-drums_2bar_small.lokl.tar").read_bytes()
    server.files["/mag/basic_rnn.mag"] = (made / "basic_rnn.mag").read_bytes()
    text = REAL_MANIFEST.read_text()
    text = text.replace(
        "https://storage.googleapis.com/magentadata/models/music_vae/checkpoints/"
        "cat-drums_2bar_small.lokl.tar", f"{server.url}/ckpt/cat-drums_2bar_small.lokl.tar")
    text = text.replace(
        "https://storage.googleapis.com/download.magenta.tensorflow.org/models/basic_rnn.mag",
        f"{server.url}/mag/basic_rnn.mag")
    manifest = tmp_path / "manifest"
    manifest.write_text(text)
    monkeypatch.setenv("MAGSTATION_MANIFEST", str(manifest))
    return tmp_path / "checkpoints"


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="magstation")
    models_cmd.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    return args.func(args)


# ---------------------------------------------------------------- manifest

def test_manifest_lists_the_official_checkpoints():
    m = ck.load_manifest(REAL_MANIFEST)
    want = {
        "cat-drums_2bar_small.lokl": "musicvae", "cat-drums_2bar_small.hikl": "musicvae",
        "groovae_2bar_humanize": "musicvae", "groovae_2bar_tap_fixed_velocity": "musicvae",
        "cat-mel_2bar_big": "musicvae", "hierdec-trio_16bar": "musicvae",
        "nade-drums_2bar_full": "musicvae", "gansynth-acoustic_only": "gansynth",
        "gansynth-all_instruments": "gansynth", "nsynth-wavenet": "nsynth",
        "basic_rnn": "melody_rnn", "lookback_rnn": "melody_rnn", "attention_rnn": "melody_rnn",
        "performance_with_dynamics": "melody_rnn"}
    assert {n: m[n].family for n in want} == want
    assert m["cat-drums_2bar_small.hikl"].config == "cat-drums_2bar_small"
    assert m["hierdec-trio_16bar"].url == ("https://storage.googleapis.com/magentadata/models/"
                                           "music_vae/checkpoints/hierdec-trio_16bar.tar")
    assert m["gansynth-acoustic_only"].url.endswith("/gansynth/acoustic_only.zip")
    assert m["nsynth-wavenet"].url.endswith("/nsynth/wavenet-ckpt.tar")
    assert m["basic_rnn"].archive == "file" and m["basic_rnn"].url.endswith("/models/basic_rnn.mag")
    for info in m.values():
        if info.shipped:  # the project's starter models: in the source tree, no download
            assert not info.url and info.install_dir.is_dir() and info.files
            continue
        assert info.url.startswith("https://storage.googleapis.com/")
        assert info.size > 0 and info.files and info.description
        assert info.family in ck.FAMILY_MODULES


def test_bad_manifest_is_named(tmp_path):
    bad = tmp_path / "manifest"
    bad.write_text("[[checkpoint]]\nname = 'x'\n")
    with pytest.raises(BadInput, match="has no 'family'"):
        ck.load_manifest(bad)


def test_resolve_missing_names_the_pull_line_and_size(env):
    with pytest.raises(ModelNotInstalled) as e:
        ck.resolve("cat-drums_2bar_small.hikl")
    assert "`magstation models pull cat-drums_2bar_small.hikl` (~18.6 MB)" in e.value.message
    with pytest.raises(ModelNotInstalled, match="magstation models pull gansynth-acoustic_only"):
        ck.resolve("acoustic_only")  # aliases work
    with pytest.raises(ModelNotInstalled, match="unknown checkpoint 'nope'"):
        ck.resolve("nope")


# ---------------------------------------------------------------- pull

def test_pull_resumes_an_interrupted_download(env, server, made, capsys):
    tar = server.files["/ckpt/cat-drums_2bar_small.lokl.tar"]
    half = len(tar) // 2
    server.cut_next_after = half
    seen: list[tuple[float, float, str]] = []
    with pytest.raises(EngineError, match="run the same `models pull` again to resume"):
        ck.pull("cat-drums_2bar_small.lokl", progress=lambda d, t, m: seen.append((d, t, m)))
    part = env / ".downloads" / "cat-drums_2bar_small.lokl.tar.part"
    assert part.stat().st_size == half
    assert not (env / "cat-drums_2bar_small.lokl").exists()
    with pytest.raises(ModelNotInstalled):
        ck.resolve("cat-drums_2bar_small.lokl")

    seen.clear()
    path = ck.pull("cat-drums_2bar_small.lokl", progress=lambda d, t, m: seen.append((d, t, m)))
    assert server.requests[-1]["range"] == f"bytes={half}-"
    assert path == env / "cat-drums_2bar_small.lokl" / "cat-drums_2bar_small.lokl" / "model.ckpt-1234"
    assert ck.resolve("cat-drums_2bar_small.lokl") == path
    assert not part.exists()
    downloads = [s for s in seen if s[2].startswith("downloading")]
    assert downloads[-1][:2] == (len(tar), len(tar))
    assert all(d >= half for d, _, _ in downloads)  # resumed, not restarted
    # the installed copy is the same checkpoint, byte for byte
    for f in (made / "drums_ckpt").iterdir():
        assert (path.parent / f.name).read_bytes() == f.read_bytes()

    # listed as installed, with where
    assert _cli("models", "list") == 0
    line = [ln for ln in capsys.readouterr().out.splitlines()
            if ln.startswith("cat-drums_2bar_small.lokl ")][0]
    assert "installed" in line and str(path) in line
    # pulling again is a no-op; --force downloads again
    n = len(server.requests)
    ck.pull("cat-drums_2bar_small.lokl")
    assert len(server.requests) == n
    ck.pull("cat-drums_2bar_small.lokl", force=True)
    assert len(server.requests) == n + 1


def test_pull_restarts_when_the_server_ignores_range(env, server):
    tar = server.files["/ckpt/cat-drums_2bar_small.lokl.tar"]
    server.cut_next_after = 1000
    with pytest.raises(EngineError):
        ck.pull("cat-drums_2bar_small.lokl")
    server.honour_range = False
    path = ck.pull("cat-drums_2bar_small.lokl")
    assert server.requests[-1]["range"] == "bytes=1000-"
    assert (path.parent / "model.ckpt-1234.index").is_file()
    assert sum(f.stat().st_size for f in path.parent.iterdir()) < len(tar)


def test_pull_cli_with_mirror_url_and_mag_file(env, server, capsys):
    assert _cli("models", "pull", "basic_rnn") == 0
    assert "basic_rnn: installed at" in capsys.readouterr().out
    assert ck.resolve("basic_rnn") == env / "basic_rnn" / "basic_rnn.mag"
    server.files["/mirror/x.tar"] = server.files["/ckpt/cat-drums_2bar_small.lokl.tar"]
    assert _cli("models", "pull", "cat-drums_2bar_small.hikl", "--url",
                f"{server.url}/mirror/x.tar") == 0
    assert ck.resolve("cat-drums_2bar_small.hikl").name == "model.ckpt-1234"
    with pytest.raises(EngineError, match="HTTP 404"):
        ck.pull("lookback_rnn", url=f"{server.url}/missing.mag")


def test_unreachable_server_suggests_import(env):
    with pytest.raises(EngineError, match="models import FILE"):
        ck.pull("attention_rnn", url="http://127.0.0.1:9/attention_rnn.mag")


# ---------------------------------------------------------------- import

def test_import_folder_prefix_tar_gz_and_mag(env, made, capsys):
    # a .tar.gz whose file name says which checkpoint it is
    assert _cli("models", "import", str(made / "cat-drums_2bar_small.hikl.tar.gz")) == 0
    assert "cat-drums_2bar_small.hikl: imported" in capsys.readouterr().out
    assert ck.resolve("cat-drums_2bar_small.hikl") == env / "cat-drums_2bar_small.hikl" / "model.ckpt-1234"
    # a checkpoint prefix, under an explicit name
    p = ck.import_checkpoint(made / "drums_ckpt" / "model.ckpt-1234", "groovae_2bar_humanize")
    assert p == env / "groovae_2bar_humanize" / "model.ckpt-1234"
    # a folder, under a name the manifest does not know: a custom checkpoint
    p = ck.import_checkpoint(made / "drums_ckpt", "my-drums", family="musicvae",
                             config="cat-drums_2bar_small")
    assert ck.resolve("my-drums") == p
    info = ck.get_info("my-drums")
    assert info.custom and info.family == "musicvae" and info.config == "cat-drums_2bar_small"
    assert "my-drums" in {s.info.name for s in ck.list_checkpoints() if s.installed}
    # a .mag bundle
    p = ck.import_checkpoint(made / "basic_rnn.mag")
    assert p == env / "basic_rnn" / "basic_rnn.mag"
    # not a checkpoint at all
    junk = made.parent / "junk"
    junk.mkdir(exist_ok=True)
    (junk / "readme.txt").write_text("hi")
    with pytest.raises(CheckpointError, match="no musicvae checkpoint found"):
        ck.import_checkpoint(junk, "cat-mel_2bar_big")
    assert not (env / "cat-mel_2bar_big").exists()
    with pytest.raises(BadInput, match="no such file"):
        ck.import_checkpoint(made / "nothing-here.tar")


def _evil_tar(path: Path, kind: str) -> Path:
    with tarfile.open(path, "w") as tf_:
        data = b"x"
        info = tarfile.TarInfo("model.ckpt.index")
        info.size = 1
        tf_.addfile(info, io.BytesIO(data))
        if kind == "absolute":
            info = tarfile.TarInfo("/tmp/evil-absolute")
            info.size = 1
            tf_.addfile(info, io.BytesIO(data))
        elif kind == "dotdot":
            info = tarfile.TarInfo("ok/../../evil-dotdot")
            info.size = 1
            tf_.addfile(info, io.BytesIO(data))
        elif kind == "symlink":
            info = tarfile.TarInfo("model.ckpt.data-00000-of-00001")
            info.type = tarfile.SYMTYPE
            info.linkname = "../../outside"
            tf_.addfile(info)
        elif kind == "abs_symlink":
            info = tarfile.TarInfo("model.ckpt.data-00000-of-00001")
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/passwd"
            tf_.addfile(info)
        elif kind == "hardlink":
            info = tarfile.TarInfo("model.ckpt.data-00000-of-00001")
            info.type = tarfile.LNKTYPE
            info.linkname = "../outside"
            tf_.addfile(info)
    return path


@pytest.mark.parametrize("kind,why", [("absolute", "absolute path"), ("dotdot", "escapes"),
                                      ("symlink", "outside"), ("abs_symlink", "outside"),
                                      ("hardlink", "outside")])
def test_import_refuses_unsafe_archives(env, tmp_path, kind, why):
    evil = _evil_tar(tmp_path / f"evil-{kind}.tar", kind)
    with pytest.raises(BadInput, match=why):
        ck.import_checkpoint(evil, "cat-mel_2bar_big")
    assert not (env / "cat-mel_2bar_big").exists()
    assert not (tmp_path / "evil-dotdot").exists() and not (tmp_path / "outside").exists()
    assert not [p for p in env.iterdir() if ".installing-" in p.name]


def test_safe_extract_keeps_links_inside(tmp_path):
    arc = tmp_path / "ok.tar"
    with tarfile.open(arc, "w") as tf_:
        info = tarfile.TarInfo("a/real")
        info.size = 2
        tf_.addfile(info, io.BytesIO(b"hi"))
        info = tarfile.TarInfo("a/link")
        info.type = tarfile.SYMTYPE
        info.linkname = "real"
        tf_.addfile(info)
    ck.safe_extract(arc, tmp_path / "out")
    assert (tmp_path / "out" / "a" / "link").read_bytes() == b"hi"


# ---------------------------------------------------------------- verify and damage

def test_verify_checks_names_and_shapes(env, made, capsys):
    ck.import_checkpoint(made / "drums_ckpt", "cat-drums_2bar_small.lokl")
    res = ck.verify("cat-drums_2bar_small.lokl", expected=VARS)
    assert res.ok and res.checked == len(VARS), res.problems

    wrong = {**VARS, "encoder/mu/kernel": (6, 5), "encoder/sigma/kernel": (6, 4)}
    res = ck.verify("cat-drums_2bar_small.lokl", expected=wrong)
    assert not res.ok
    prefix = str(env / "cat-drums_2bar_small.lokl" / "model.ckpt-1234")
    assert f"encoder/mu/kernel: shape [6, 4] in {prefix}, expected [6, 5]" in res.problems
    assert f"encoder/sigma/kernel: missing from {prefix}" in res.problems
    # a .mag bundle's embedded V1 checkpoint is checked the same way
    ck.import_checkpoint(made / "basic_rnn.mag")
    assert ck.verify("basic_rnn", expected=VARS).ok


def test_verify_uses_the_family_module(env, made, tmp_path, monkeypatch, capsys):
    ck.import_checkpoint(made / "drums_ckpt", "cat-drums_2bar_small.lokl")
    fam = tmp_path / "fam"
    fam.mkdir()
    (fam / "fake_family_ok.py").write_text(
        "def expected_variables(config):\n"
        "    assert config == 'cat-drums_2bar_small'\n"
        f"    return {VARS!r}\n")
    (fam / "fake_family_bad.py").write_text(
        f"def expected_variables(config):\n    return {{**{VARS!r}, 'decoder/extra': (2,)}}\n")
    monkeypatch.syspath_prepend(str(fam))
    monkeypatch.setitem(ck.FAMILY_MODULES, "musicvae", "fake_family_ok")
    assert _cli("models", "verify", "cat-drums_2bar_small.lokl") == 0
    assert f"OK, {len(VARS)} variables checked" in capsys.readouterr().out
    monkeypatch.setitem(ck.FAMILY_MODULES, "musicvae", "fake_family_bad")
    assert _cli("models", "verify", "cat-drums_2bar_small.lokl") == 1
    out = capsys.readouterr().out
    assert "problem: decoder/extra: missing from" in out and "models pull" in out
    # the module without the function, or no module: a clear note, still reads every tensor
    monkeypatch.setitem(ck.FAMILY_MODULES, "musicvae", "engine.music.drums")
    res = ck.verify("cat-drums_2bar_small.lokl")
    assert res.ok and res.checked == len(VARS)  # every non-training variable was read
    assert "engine.music.drums has no expected_variables()" in res.notes[0]
    monkeypatch.setitem(ck.FAMILY_MODULES, "musicvae", "engine.models.not_written_yet")
    res = ck.verify("cat-drums_2bar_small.lokl")
    assert "engine.models.not_written_yet is not available" in res.notes[0]


def test_truncated_checkpoint_is_named(env, made):
    path = ck.import_checkpoint(made / "drums_ckpt", "cat-drums_2bar_small.lokl")
    data = path.parent / "model.ckpt-1234.data-00000-of-00001"
    full = data.read_bytes()
    data.write_bytes(full[: len(full) // 2])
    with pytest.raises(CheckpointError) as e:
        ck.resolve("cat-drums_2bar_small.lokl")
    assert str(data) in e.value.message and "truncated" in e.value.message
    assert "models pull cat-drums_2bar_small.lokl --force" in e.value.message
    # without the install record (files copied in by hand) verify still finds it, by variable
    (path.parent / ck.RECORD).unlink()
    res = ck.verify("cat-drums_2bar_small.lokl", expected=VARS)
    assert not res.ok
    assert any(p.split(":")[0] in VARS and f"cannot be read from {data} (truncated" in p
               for p in res.problems), res.problems
    data.write_bytes(b"")
    with pytest.raises(CheckpointError, match="is empty"):
        ck.resolve("cat-drums_2bar_small.lokl")
    data.unlink()
    with pytest.raises(CheckpointError, match="has no data file"):
        ck.resolve("cat-drums_2bar_small.lokl")


def test_list_json(env, made, capsys):
    ck.import_checkpoint(made / "basic_rnn.mag")
    assert _cli("models", "list", "--json") == 0
    import json

    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["basic_rnn"]["installed"] and rows["basic_rnn"]["disk_size"] > 0
    assert not rows["hierdec-trio_16bar"]["installed"]
    assert rows["hierdec-trio_16bar"]["size"] == 2_000_000_000
    assert _cli("models", "path", "basic_rnn") == 0
    assert capsys.readouterr().out.strip() == str(env / "basic_rnn" / "basic_rnn.mag")


def test_a_corrupt_download_is_discarded_and_fetched_again(env, server):
    good = server.files["/ckpt/cat-drums_2bar_small.lokl.tar"]
    server.files["/ckpt/cat-drums_2bar_small.lokl.tar"] = b"this is not a tar file" * 10
    with pytest.raises(BadInput, match="the download was discarded"):
        ck.pull("cat-drums_2bar_small.lokl")
    assert not list((env / ".downloads").iterdir())
    server.files["/ckpt/cat-drums_2bar_small.lokl.tar"] = good
    assert ck.pull("cat-drums_2bar_small.lokl").name == "model.ckpt-1234"
    assert server.requests[-1]["range"] is None


def test_pull_force_never_replaces_a_working_model_with_a_broken_download(env, server, made):
    """A re-download whose data file is cut short (a whole, readable tar) is refused by
    the verification before the swap; the installed copy keeps working."""
    path = ck.pull("cat-drums_2bar_small.lokl")
    data_before = path.with_name("model.ckpt-1234.data-00000-of-00001").read_bytes()
    cut = io.BytesIO()
    with tarfile.open(fileobj=cut, mode="w") as tf_:
        for f in sorted((made / "drums_ckpt").iterdir()):
            body = f.read_bytes()
            if ".data-" in f.name:
                body = body[: len(body) // 2]
            info = tarfile.TarInfo(f"cat-drums_2bar_small.lokl/{f.name}")
            info.size = len(body)
            tf_.addfile(info, io.BytesIO(body))
    server.files["/ckpt/cat-drums_2bar_small.lokl.tar"] = cut.getvalue()
    with pytest.raises(CheckpointError, match="the installed cat-drums_2bar_small.lokl was kept"):
        ck.pull("cat-drums_2bar_small.lokl", force=True)
    assert ck.resolve("cat-drums_2bar_small.lokl") == path
    assert path.with_name("model.ckpt-1234.data-00000-of-00001").read_bytes() == data_before
    assert ck.verify("cat-drums_2bar_small.lokl", expected=VARS).ok
    assert not [p for p in env.iterdir() if p.name.startswith(".") and p.name != ".downloads"]
