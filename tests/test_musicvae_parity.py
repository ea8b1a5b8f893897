"""The native MusicVAE/GrooVAE engine against goldens recorded with magenta itself
(tests/reference/make_musicvae_goldens.py) on small random checkpoints in the official
format. Sampling noise differs from magenta's, so sampled runs are compared by teacher
forcing magenta's samples and checking the logits of every step; deterministic runs
(temperature ~0) must reproduce magenta's outputs exactly."""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from engine.errors import BadRequest, CheckpointError  # noqa: E402
from engine.models.musicvae import MusicVae, expected_variables  # noqa: E402
from engine.models.musicvae_configs import CONFIGS  # noqa: E402
from engine.music.latent import slerp, slerp_path  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures" / "musicvae"
CONFIG_NAMES = ["cat-drums_2bar_small", "groovae_2bar_humanize",
                "groovae_2bar_tap_fixed_velocity", "cat-mel_2bar_big", "hierdec-mel_16bar",
                "hierdec-trio_16bar", "nade-drums_2bar_full"]
# Tolerance and its measured basis (docs/parity.md, tests/fixtures/musicvae/spread.json):
# under ONEDNN_MAX_CPU_ISA=SSE41/AVX/AVX2/default and TF_ENABLE_ONEDNN_OPTS=0, Magenta's
# own graph, reloaded from these checkpoints, moves from its goldens by up to 1.2e-7
# (encoder mu/sigma) and 6.0e-6 (greedy/interp logits, cat-mel_2bar_big; compared up to
# where a near-tie sends the path elsewhere). The sampled t10/humanize goldens come from
# TF's unseeded sampler and cannot be re-run; for them only the native side is measured:
# up to 2.8e-5 (groovae_2bar_tap_fixed_velocity t10 logits, SSE41). ATOL (+ rtol 1e-5)
# is 17x the reference's spread and 3.6x the largest native error: kept as it was.
# One weight wrong leaves it (test_tolerance_catches_a_slip).
ATOL = 1e-4


def goldens(name: str) -> dict[str, np.ndarray]:
    with np.load(FIXTURES / name / "goldens.npz") as g:
        return {k: g[k] for k in g.files}


def model(name: str) -> MusicVae:
    return MusicVae.load(name, str(FIXTURES / name / "model.ckpt"))


def assert_outputs_equal(name: str, ours: np.ndarray, theirs: np.ndarray) -> None:
    """Discrete parts exactly equal; GrooVAE's velocities/offsets to float tolerance."""
    if name.startswith("groovae"):
        n = ours.shape[-1] // 3
        np.testing.assert_array_equal(ours[..., :n], theirs[..., :n])
        np.testing.assert_allclose(ours[..., n:], theirs[..., n:], atol=ATOL)
    else:
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_encoder_matches_magenta(name):
    g = goldens(name)
    z, mu, sigma = model(name).encode(g["inputs"], g["lengths"], seed=3)
    np.testing.assert_allclose(mu, g["enc_mu"], atol=ATOL)
    np.testing.assert_allclose(sigma, g["enc_sigma"], atol=ATOL)
    assert np.all(sigma > 0)
    assert not np.allclose(z, mu)  # z is a draw, not the mean


@pytest.mark.parametrize("name", CONFIG_NAMES)
@pytest.mark.parametrize("tag", ["greedy", "t10", "interp"])
def test_teacher_forced_logits_match_magenta(name, tag):
    g = goldens(name)
    z = g["interp_z" if tag == "interp" else "dec_z"]
    logits = model(name).decode_logits(z, g[f"{tag}_samples"])
    steps = g[f"{tag}_logits"].shape[1]  # hierdec goldens keep the first bars' logits only
    assert logits.shape[:2] == g[f"{tag}_samples"].shape[:2]
    np.testing.assert_allclose(logits[:, :steps], g[f"{tag}_logits"], atol=ATOL, rtol=1e-5)


TIE = 1e-3  # top-2 logit margin below which magenta's temperature-1e-4 draw is a coin flip


def nade_logits(name: str, biases: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """The NADE's per-pitch logits given the visible bits (numpy, from the checkpoint)."""
    reader = tf.train.load_checkpoint(str(FIXTURES / name / "model.ckpt"))
    w_enc = reader.get_tensor("decoder/nade/w_enc")[:, 0, :]
    w_dec = reader.get_tensor("decoder/nade/w_dec_t")[:, :, 0]
    d = w_enc.shape[0]
    a, b_dec = biases[..., :-d], biases[..., -d:]
    out = np.empty(visible.shape, np.float32)
    for i in range(d):
        h = 1 / (1 + np.exp(-a))
        out[..., i] = b_dec[..., i] + (h * w_dec[i]).sum(-1)
        a = a + visible[..., i:i + 1] * w_enc[i]
    return out


def near_ties(name: str, vae: MusicVae, logits: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """[B, T] mask of steps where the reference's near-greedy draw was not determined."""
    if name.startswith("groovae"):
        hits = logits[..., : logits.shape[-1] // 3]
        return (np.abs(hits) < TIE).any(-1)
    if name.startswith("nade"):
        return (np.abs(nade_logits(name, logits, ref)) < TIE).any(-1)
    ties = np.zeros(logits.shape[:2], bool)
    edges = np.cumsum((0,) + vae.config.output_depths)
    for a, b in zip(edges[:-1], edges[1:]):
        top2 = np.sort(logits[..., a:b], axis=-1)[..., -2:]
        ties |= (top2[..., 1] - top2[..., 0]) < TIE
    return ties


def check_greedy_path(name: str, vae: MusicVae, z: np.ndarray, ref: np.ndarray) -> None:
    """Free-running argmax decode equals magenta's temperature-1e-4 run up to the first
    near-tie (where magenta's draw was random); under teacher forcing every determined step
    must agree."""
    ties = near_ties(name, vae, vae.decode_logits(z, ref), ref)
    out = vae.decode(z, temperature=0)
    assert out.shape == ref.shape
    for row in range(len(z)):
        first = np.argmax(ties[row]) if ties[row].any() else ref.shape[1]
        assert_outputs_equal(name, out[row, :first], ref[row, :first])
    forced = vae.decode_logits(z, ref)
    edges = np.cumsum((0,) + vae.config.output_depths)
    if not name.startswith(("groovae", "nade")):
        for a, b in zip(edges[:-1], edges[1:]):
            agree = forced[..., a:b].argmax(-1) == ref[..., a:b].argmax(-1)
            assert np.all(agree | ties)
    if name.startswith("nade"):
        inner = nade_logits(name, forced, ref)
        assert np.all(((inner >= 0) == (ref > 0.5)) | (np.abs(inner) < TIE))
    assert ties.mean() < 0.1  # the fixture really tests the argmax path


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_deterministic_decode_reproduces_magenta(name):
    g = goldens(name)
    check_greedy_path(name, model(name), g["dec_z"], g["greedy_samples"])


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_interpolate_reproduces_magenta(name):
    g = goldens(name)
    out, z = model(name).interpolate(g["inputs"][0], g["inputs"][1], num_steps=5,
                                     temperature=0)
    np.testing.assert_allclose(z, g["interp_z"], atol=ATOL)
    check_greedy_path(name, model(name), z, g["interp_samples"])
    assert out.shape == g["interp_samples"].shape


@pytest.mark.parametrize("name", ["groovae_2bar_humanize", "groovae_2bar_tap_fixed_velocity"])
def test_groove_humanize_logits_match_magenta(name):
    """GrooVAE colab flow: decode the encoder's *sampled* z at temperature 1."""
    g = goldens(name)
    logits = model(name).decode_logits(g["enc_z"], g["humanize_samples"])
    np.testing.assert_allclose(logits, g["humanize_logits"], atol=ATOL, rtol=1e-5)


@pytest.mark.parametrize("name", ["groovae_2bar_humanize", "groovae_2bar_tap_fixed_velocity"])
def test_groove_outputs_are_hits_velocities_offsets(name):
    g = goldens(name)
    out, z = model(name).reconstruct(g["inputs"], temperature=1.0, seed=5)
    hits, vel, off = np.split(out, 3, axis=-1)
    assert set(np.unique(hits)) <= {0.0, 1.0}
    assert np.all((vel > 0) & (vel < 1)) and np.all(np.abs(off) < 1)
    again, z2 = model(name).reconstruct(g["inputs"], temperature=1.0, seed=5)
    np.testing.assert_array_equal(out, again)
    np.testing.assert_array_equal(z, z2)


@pytest.mark.parametrize("name", ["cat-drums_2bar_small", "hierdec-trio_16bar"])
def test_sampling_is_seeded(name):
    vae = model(name)
    a, za = vae.sample(3, temperature=1.0, seed=11)
    b, zb = vae.sample(3, temperature=1.0, seed=11)
    c, zc = vae.sample(3, temperature=1.0, seed=12)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(za, zb)
    assert not np.array_equal(a, c) and not np.array_equal(za, zc)
    assert a.shape == (3, vae.max_seq_len, vae.output_depth)
    # one-hot per part at every step
    for part in np.split(a, np.cumsum(vae.config.output_depths)[:-1], axis=-1):
        np.testing.assert_array_equal(part.sum(-1), 1.0)
    same, zs = vae.sample(2, temperature=1.0, seed=4, same_z=True)
    np.testing.assert_array_equal(zs[0], zs[1])


def test_sampling_follows_the_softmax():
    """At temperature 1 the empirical first-step distribution matches softmax(logits)."""
    vae = model("cat-mel_2bar_big")
    z = np.repeat(goldens("cat-mel_2bar_big")["dec_z"][:1], 4000, axis=0)
    out = vae.decode(z, length=1, temperature=1.0, seed=2)
    logits = vae.decode_logits(z[:1], np.zeros([1, 1, 90], np.float32))[0, 0]
    p = np.exp(logits - logits.max())
    p /= p.sum()
    freq = out[:, 0].mean(0)
    assert np.abs(freq - p).max() < 0.03
    cold = vae.decode(z[:200], length=1, temperature=1e-3, seed=2)
    assert np.all(cold[:, 0].argmax(-1) == p.argmax())


def test_encoder_reads_only_the_valid_length():
    """Padding after `lengths` must not change the posterior (the backward LSTM reverses
    within the valid length)."""
    vae = model("cat-mel_2bar_big")
    x = goldens("cat-mel_2bar_big")["inputs"][:1]
    _, mu_short, sigma_short = vae.encode(x[:, :20])
    padded = x.copy()
    padded[:, 20:] = np.roll(padded[:, 20:], 7, axis=-1)  # junk after the valid steps
    _, mu, sigma = vae.encode(padded, lengths=np.array([20]))
    np.testing.assert_allclose(mu, mu_short, atol=1e-5)
    np.testing.assert_allclose(sigma, sigma_short, atol=1e-5)
    _, mu_full, _ = vae.encode(padded)
    assert not np.allclose(mu_full, mu, atol=1e-3)


def test_hierarchical_length_is_fixed():
    with pytest.raises(BadRequest):
        model("hierdec-trio_16bar").decode(np.zeros([1, 16], np.float32), length=32)


def test_bad_shapes_are_rejected():
    vae = model("cat-drums_2bar_small")
    with pytest.raises(BadRequest):
        vae.encode(np.zeros([1, 32, 9], np.float32))
    with pytest.raises(BadRequest):
        vae.decode(np.zeros([1, vae.z_size + 1], np.float32))


def test_lstm_cell_matches_tf_lstm_block_cell():
    """The cell math against TF's own LSTMBlockCell op (ICFO gates, forget bias 1, no clip)."""
    from engine.models.lstm import fold_forget_bias, lstm_step

    rng = np.random.default_rng(0)
    x, c, h = (rng.standard_normal((3, n)).astype(np.float32) for n in (5, 4, 4))
    kernel = rng.standard_normal((9, 16)).astype(np.float32)
    bias = rng.standard_normal(16).astype(np.float32)
    zeros = np.zeros(4, np.float32)
    ref = tf.raw_ops.LSTMBlockCell(x=x, cs_prev=c, h_prev=h, w=kernel, wci=zeros, wcf=zeros,
                                   wco=zeros, b=bias, forget_bias=1.0, cell_clip=-1.0,
                                   use_peephole=False)
    c2, h2 = lstm_step(x, c, h, kernel, bias)
    np.testing.assert_allclose(c2, ref.cs, atol=1e-5)
    np.testing.assert_allclose(h2, ref.h, atol=1e-5)
    # MusicVAE's steps: forget bias folded into the bias once, none added per step
    c3, h3 = lstm_step(x, c, h, kernel, fold_forget_bias(bias), forget_bias=0)
    np.testing.assert_allclose(c3, ref.cs, atol=1e-5)
    np.testing.assert_allclose(h3, ref.h, atol=1e-5)


@pytest.mark.parametrize("name", ["cat-drums_2bar_small", "groovae_2bar_humanize"])
def test_decode_length_is_not_tied_to_the_loop_unrolling(name):
    """Loops run UNROLL steps per iteration and the rest one by one: any length decodes
    the same first steps."""
    from engine.models.musicvae import UNROLL

    vae = model(name)
    z = goldens(name)["dec_z"]
    full = vae.decode(z, length=2 * UNROLL, temperature=0)
    for length in (1, UNROLL - 1, UNROLL + 1):
        np.testing.assert_array_equal(vae.decode(z, length=length, temperature=0),
                                      full[:, :length])
    logits = vae.decode_logits(z, full)
    np.testing.assert_allclose(vae.decode_logits(z, full[:, :UNROLL + 1]),
                               logits[:, :UNROLL + 1], atol=1e-6)


# ----------------------------------------------------------------------------- slerp

def test_slerp_matches_magenta_formula_and_endpoints():
    g = goldens("cat-drums_2bar_small")
    path = slerp_path(g["enc_mu"][0], g["enc_mu"][1], 5)
    np.testing.assert_allclose(path, g["interp_z"], atol=1e-5)
    np.testing.assert_allclose(path[0], g["enc_mu"][0], atol=1e-6)
    np.testing.assert_allclose(path[-1], g["enc_mu"][1], atol=1e-6)


def test_slerp_keeps_norm_between_orthogonal_unit_vectors():
    a, b = np.eye(2, dtype=np.float32)
    mid = slerp(a, b, 0.5)
    np.testing.assert_allclose(np.linalg.norm(mid), 1.0, atol=1e-6)
    np.testing.assert_allclose(mid, [np.sqrt(0.5), np.sqrt(0.5)], atol=1e-6)


@pytest.mark.parametrize("p1_factor", [1.0, 2.0, -1.0, 0.0])
def test_slerp_guards_parallel_antiparallel_and_zero(p1_factor):
    """Where magenta's formula gives NaN (0/0), fall back to linear interpolation."""
    p0 = np.array([0.3, -1.2, 2.0], np.float32)
    p1 = p0 * p1_factor
    for t in (0.0, 0.25, 1.0):
        v = slerp(p0, p1, t)
        assert np.all(np.isfinite(v))
        np.testing.assert_allclose(v, (1 - t) * p0 + t * p1, atol=1e-5)


def test_slerp_nearly_parallel_endpoints_do_not_nan():
    p0 = np.array([0.8263453, 0.49402702, 0.26297167], np.float32)
    p1 = p0 + np.float32(1e-7)
    assert np.all(np.isfinite(slerp_path(p0, p1, 5)))


# ----------------------------------------------------------------------------- checkpoints

def test_fixture_checkpoints_use_official_names():
    for name in CONFIG_NAMES:
        shapes = tf.train.load_checkpoint(str(FIXTURES / name / "model.ckpt")) \
            .get_variable_to_shape_map()
        names = set(shapes) - {"global_step"}
        assert names == set(expected_variables(name)), name


def test_expected_variables_official_shapes():
    v = expected_variables("cat-drums_2bar_small")
    enc = "encoder/cell_0/bidirectional_rnn/fw/multi_rnn_cell/cell_0/lstm_cell/kernel"
    assert v[enc] == (522, 2048)
    assert v["decoder/multi_rnn_cell/cell_0/lstm_cell/kernel"] == (1024, 1024)
    assert v["decoder/output_projection/kernel"] == (256, 512)
    trio = expected_variables("hierdec-trio_16bar")
    assert trio["core_decoder/core_decoder_2/decoder/multi_rnn_cell/cell_0/lstm_cell/kernel"] \
        == (2560, 4096)
    assert trio["decoder/hierarchical_level_0/cell_0/lstm_cell/kernel"] == (1025, 4096)
    assert expected_variables("hierdec-mel_16bar")[
        "core_decoder/decoder/multi_rnn_cell/cell_0/lstm_cell/kernel"] == (2138, 4096)
    assert expected_variables("nade-drums_2bar_full")["decoder/nade/w_enc"] == (61, 1, 128)
    assert expected_variables("cat-mel_2bar_big")["decoder/z_to_initial_state/kernel"] == \
        (512, 12288)
    assert set(CONFIGS) >= set(CONFIG_NAMES)


def _copy_checkpoint(name: str, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for f in (FIXTURES / name).glob("model.ckpt.*"):
        shutil.copy(f, dest / f.name)
    return dest / "model.ckpt"


def test_missing_variable_raises_checkpoint_error(tmp_path):
    name = "cat-drums_2bar_small"
    src = str(FIXTURES / name / "model.ckpt")
    reader = tf.train.load_checkpoint(src)
    dropped = "decoder/output_projection/bias"
    names = sorted(n for n in reader.get_variable_to_shape_map() if n != dropped)
    prefix = str(tmp_path / "broken" / "model.ckpt")
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=[reader.get_tensor(n) for n in names])
    with pytest.raises(CheckpointError) as e:
        MusicVae.load(name, prefix)
    assert dropped in str(e.value)


def test_truncated_data_file_raises_checkpoint_error(tmp_path):
    prefix = _copy_checkpoint("cat-drums_2bar_small", tmp_path / "trunc")
    data = Path(str(prefix) + ".data-00000-of-00001")
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    with pytest.raises(CheckpointError) as e:
        MusicVae.load("cat-drums_2bar_small", str(prefix))
    assert "model.ckpt" in str(e.value)


def test_missing_index_raises_checkpoint_error(tmp_path):
    prefix = _copy_checkpoint("cat-drums_2bar_small", tmp_path / "noindex")
    Path(str(prefix) + ".index").unlink()
    with pytest.raises(CheckpointError) as e:
        MusicVae.load("cat-drums_2bar_small", str(prefix))
    assert ".index" in str(e.value)
    with pytest.raises(CheckpointError):
        MusicVae.load("cat-drums_2bar_small", str(tmp_path / "noindex"))


def test_wrong_model_raises_checkpoint_error():
    with pytest.raises(CheckpointError):
        MusicVae.load("cat-mel_2bar_big", str(FIXTURES / "cat-drums_2bar_small" / "model.ckpt"))


def test_tar_and_directory_load_and_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MAGSTATION_HOME", str(tmp_path / "home"))
    name = "groovae_2bar_humanize"
    tar_path = tmp_path / f"{name}.tar"
    with tarfile.open(tar_path, "w") as tar:
        for f in (FIXTURES / name).glob("model.ckpt.*"):
            tar.add(f, arcname=f"{name}/{f.name}")
    g = goldens(name)
    from_tar = MusicVae.load(name, str(tar_path))
    np.testing.assert_allclose(from_tar.encode(g["inputs"])[1], g["enc_mu"], atol=ATOL)
    assert MusicVae.load(name, str(tar_path)) is from_tar  # in-process cache
    from_dir = MusicVae.load(name, str(FIXTURES / name))
    assert from_dir is model(name)


def _largest_to_zero(a: np.ndarray) -> np.ndarray:
    a = a.copy()
    a.flat[np.argmax(np.abs(a))] = 0
    return a


@pytest.mark.parametrize("name", ["cat-mel_2bar_big", "groovae_2bar_humanize"])
@pytest.mark.parametrize("variable,change,what", [
    ("encoder/mu/bias", _largest_to_zero, "enc_mu"),                      # a dropped bias
    ("decoder/multi_rnn_cell/cell_0/lstm_cell/bias", _largest_to_zero, "greedy_logits"),
    ("decoder/multi_rnn_cell/cell_1/lstm_cell/kernel", lambda a: a * np.float32(1.01),
     "greedy_logits"),                                                     # a 1% wrong scale
])
def test_tolerance_catches_a_slip(tmp_path, name, variable, change, what):
    """ATOL is loose next to the measured spread (see its comment) but one weight wrong
    still leaves it."""
    reader = tf.train.load_checkpoint(str(FIXTURES / name / "model.ckpt"))
    names = sorted(reader.get_variable_to_shape_map())
    tensors = [change(reader.get_tensor(n)) if n == variable else reader.get_tensor(n)
               for n in names]
    prefix = str(tmp_path / "slip" / "model.ckpt")
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=tensors)
    g, vae = goldens(name), MusicVae.load(name, prefix)
    if what == "enc_mu":
        got, want = vae.encode(g["inputs"], g["lengths"], seed=3)[1], g["enc_mu"]
    else:
        got, want = vae.decode_logits(g["dec_z"], g["greedy_samples"]), g["greedy_logits"]
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(got, want, atol=ATOL, rtol=1e-5)


@pytest.mark.parametrize("name", ["cat-drums_2bar_small", "groovae_2bar_humanize",
                                  "nade-drums_2bar_full", "hierdec-trio_16bar"])
def test_weight_blocks_keep_the_goldens(name, monkeypatch):
    """The fixtures' weights are small enough to be one block each; cut them into many
    (as the official sizes are, BLOCK_BYTES) and the same goldens must hold: encoder,
    teacher-forced logits, the greedy path, and a batch of 3 equal to its rows decoded one
    by one (velocities/offsets to float tolerance: batch sizes take different kernels)."""
    import engine.models.musicvae as mv

    monkeypatch.setattr(mv, "BLOCK_BYTES", 2048)
    g = goldens(name)
    vae = MusicVae(CONFIGS[name], _fixture_weights(name), name)
    assert any(len(l.w_h_cols) > 1 for level in vae._enc_levels for l in level)
    _, mu, sigma = vae.encode(g["inputs"], g["lengths"], seed=3)
    np.testing.assert_allclose(mu, g["enc_mu"], atol=ATOL)
    np.testing.assert_allclose(sigma, g["enc_sigma"], atol=ATOL)
    logits = vae.decode_logits(g["dec_z"], g["greedy_samples"])
    steps = g["greedy_logits"].shape[1]
    np.testing.assert_allclose(logits[:, :steps], g["greedy_logits"], atol=ATOL, rtol=1e-5)
    check_greedy_path(name, vae, g["dec_z"], g["greedy_samples"])
    z = np.concatenate([g["dec_z"]] * 3)[:3]
    batch = vae.decode(z, temperature=0)
    rows = np.concatenate([vae.decode(z[i:i + 1], temperature=0) for i in range(3)])
    assert_outputs_equal(name, batch, rows)


def _fixture_weights(name: str) -> dict[str, np.ndarray]:
    from engine.models import tf_checkpoint
    from engine.models.musicvae import required_variables

    prefix = tf_checkpoint.resolve_prefix(str(FIXTURES / name / "model.ckpt"))
    return tf_checkpoint.read_variables(prefix, required_variables(CONFIGS[name]))
