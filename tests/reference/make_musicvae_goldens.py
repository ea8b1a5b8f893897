"""Golden fixtures for the native MusicVAE/GrooVAE engine, made with magenta itself.

usage: VENV/bin/python tests/reference/make_musicvae_goldens.py [CONFIG ...]
       VENV/bin/python tests/reference/make_musicvae_goldens.py --official-timing CONFIG

For each config this
1. builds magenta's own inference graph (same graph TrainedModel builds) at SMALL widths
   (z, encoder and decoder sizes shrunk through hparams; variable names unchanged),
   initialises it randomly, adds noise to every bias (so a dropped bias shows), scales the
   kernels up (so the small LSTMs leave their linear range) and saves
   `tests/fixtures/musicvae/<config>/model.ckpt.{index,data-00000-of-00001}`;
2. loads that checkpoint with magenta's `TrainedModel` and records in `goldens.npz`:
   - `inputs`, `lengths`: encoder input tensors produced by magenta's data converter from
     synthetic NoteSequences (the NoteSequences themselves: `input_<i>.pb`);
   - `enc_mu`, `enc_sigma`: the posterior of those inputs;
   - `dec_z`: fixed latent vectors (numpy seed), and for each temperature tag
     (`greedy` = temperature 1e-4, `t10` = 1.0) `<tag>_samples` and
     `<tag>_logits` (the decoder's rnn_output per step). Sampling noise is magenta's, so a
     native decoder reproduces these by teacher forcing the samples and comparing logits;
     at `greedy` the samples are the argmax path.
   - `interp_z` (slerp of the two encoder means, magenta's formula), `interp_samples`,
     `interp_logits` (greedy);
   - hierdec only: logits are kept for the first HIER_LOGIT_STEPS steps (size);
   - GrooVAE only: `enc_z` (z drawn by magenta from the posterior), `humanize_samples`,
     `humanize_logits` (decode(enc_z, temperature=1.0), as the GrooVAE colab does).

`--official-timing CONFIG` instead times TrainedModel sample/encode/decode at official sizes
with a random checkpoint under /tmp (nothing is written to the repo).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import magenta_compat  # noqa: E402

magenta_compat.apply()
import common  # noqa: E402,F401  (env, quiet logs)

import copy  # noqa: E402
import shutil  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402

tf.disable_v2_behavior()
import note_seq  # noqa: E402
from magenta.models.music_vae import TrainedModel, configs  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fixtures", "musicvae")
GREEDY_T = 1e-4
BATCH = 4
HIER_LOGIT_STEPS = 48
KERNEL_SCALE = 3.0

# Small widths: the variable names and topology stay official, only sizes shrink.
SMALL = {
    "cat-drums_2bar_small": dict(z_size=16, enc_rnn_size=[24], dec_rnn_size=[16, 16]),
    "groovae_2bar_humanize": dict(z_size=16, enc_rnn_size=[24], dec_rnn_size=[16, 16]),
    "groovae_2bar_tap_fixed_velocity": dict(z_size=16, enc_rnn_size=[24],
                                            dec_rnn_size=[16, 16]),
    "cat-mel_2bar_big": dict(z_size=16, enc_rnn_size=[24], dec_rnn_size=[16, 12, 16]),
    "hierdec-trio_16bar": dict(z_size=16, enc_rnn_size=[20, 24], dec_rnn_size=[16, 16]),
    "nade-drums_2bar_full": dict(z_size=16, enc_rnn_size=[24], dec_rnn_size=[16, 16],
                                 nade_num_hidden=8),
}


def drum_seq(seed, bars, velocities=False, jitter=False, density=0.25):
    return common.random_drum_sequence(seed=seed, bars=bars, velocities=velocities,
                                       jitter=jitter, density=density)


def trio_seq(seed, bars=16):
    rng = np.random.RandomState(seed)
    ns = note_seq.NoteSequence()
    ns.tempos.add(qpm=120.0)
    ns.time_signatures.add(numerator=4, denominator=4)
    ns.ticks_per_quarter = 220
    step = 0.125
    for inst, program, lo, hi in ((0, 0, 60, 84), (1, 33, 33, 52)):
        s, pitch = 0, (lo + hi) // 2
        while s < bars * 16:
            dur = int(rng.choice([1, 2, 2, 4]))
            pitch = int(np.clip(pitch + rng.randint(-4, 5), lo, hi))
            ns.notes.add(pitch=pitch, start_time=s * step, end_time=(s + dur) * step,
                         velocity=90, instrument=inst, program=program)
            s += dur
    drums = common.random_drum_sequence(seed=seed + 1000, bars=bars)
    for n in drums.notes:
        ns.notes.add().CopyFrom(n)
    ns.total_time = bars * 16 * step
    return ns


def input_sequences(name):
    if name.startswith("groovae"):
        # different densities: tapped inputs of two dense beats are near-identical and
        # magenta's unguarded slerp of near-parallel means returns NaN
        return [drum_seq(100 + i, 2, velocities=True, jitter=True, density=(0.25, 0.06)[i])
                for i in range(2)]
    if "drums" in name:
        return [drum_seq(100 + i, 2) for i in range(2)]
    if "trio" in name:
        return [trio_seq(200 + i) for i in range(2)]
    return [common.random_melody_sequence(seed=300 + i, bars=2) for i in range(2)]


def small_config(name, sizes):
    config = copy.deepcopy(configs.CONFIG_MAP[name])
    for k, v in sizes.items():
        setattr(config.hparams, k, v)
    config.hparams.batch_size = BATCH
    return config


def make_checkpoint(config, prefix, seed, kernel_scale=None):
    """Random init of the exact graph TrainedModel builds, biases perturbed, saved."""
    config = copy.deepcopy(config)
    config.data_converter.set_mode("infer")
    hp = config.hparams
    with tf.Graph().as_default():
        tf.set_random_seed(seed)
        model = config.model
        model.build(hp, config.data_converter.output_depth, is_training=False)
        z = tf.placeholder(tf.float32, [BATCH, hp.z_size])
        model.sample(BATCH, max_length=hp.max_seq_len, z=z, temperature=1.0)
        x = tf.placeholder(tf.float32, [BATCH, None, config.data_converter.input_depth])
        ln = tf.placeholder(tf.int32, [BATCH])
        c = tf.placeholder(tf.float32, [BATCH, None, 0])
        model.encode(x, ln, c)
        rng = np.random.RandomState(seed)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for v in tf.global_variables():
                name = v.op.name
                val = sess.run(v)
                if name.endswith("bias") or "nade" in name:
                    v.load(val + rng.normal(0, 0.5, val.shape).astype(np.float32), sess)
                elif name.endswith("kernel"):
                    # glorot init at these tiny widths leaves the LSTMs nearly linear and
                    # the encoder almost blind to its input; wider weights exercise both
                    v.load(val * (kernel_scale or KERNEL_SCALE), sess)
            names = sorted(v.op.name for v in tf.global_variables())
            tf.train.Saver().save(sess, prefix, write_meta_graph=False)
    return names


def slerp(p0, p1, t):
    """magenta TrainedModel.interpolate's own formula (reference only)."""
    omega = np.arccos(np.dot(np.squeeze(p0 / np.linalg.norm(p0)),
                             np.squeeze(p1 / np.linalg.norm(p1))))
    so = np.sin(omega)
    return np.sin((1.0 - t) * omega) / so * p0 + np.sin(t * omega) / so * p1


def run_decode(tm, z, length, temperature):
    """Samples and per-step logits from TrainedModel's own graph, padded to its batch."""
    n = len(z)
    zp = np.pad(z, [(0, -n % BATCH), (0, 0)])
    samples, logits = [], []
    for i in range(0, len(zp), BATCH):
        feed = {tm._temperature: temperature, tm._z_input: zp[i:i + BATCH],
                tm._max_length: length}
        s, lg = tm._sess.run([tm._outputs, tm._decoder_results.rnn_output], feed)
        samples.append(s)
        logits.append(lg)
    return np.concatenate(samples)[:n], np.concatenate(logits)[:n]


def allow_split_logits_in_hierarchy():
    """Reference-only patch. SplitMultiOutLstmDecoder._merge_decode_results asserts that
    each part decoded hparams.max_seq_len (256) steps, but inside the hierarchical decoder
    each call decodes one bar (16), so fetching the merged rnn_output (the logits) trips
    the assert (TrainedModel.sample never fetches them, so it never sees it). Compare to
    the bar length instead; the math is untouched."""
    from magenta.models.music_vae import lstm_models
    cls = lstm_models.SplitMultiOutLstmDecoder
    orig = cls._merge_decode_results

    def merge(self, decode_results):
        hp = self.hparams
        self.hparams = copy.deepcopy(hp)
        self.hparams.max_seq_len = 16
        try:
            return orig(self, decode_results)
        finally:
            self.hparams = hp
    cls._merge_decode_results = merge


def make(name):
    sizes = SMALL[name]
    config = small_config(name, sizes)
    out_dir = os.path.join(OUT, name)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    prefix = os.path.join(out_dir, "model.ckpt")
    seed = sum(map(ord, name))
    names = make_checkpoint(config, prefix, seed)
    os.remove(os.path.join(out_dir, "checkpoint"))  # the prefix is what the tests load
    print(name, "variables:", *names, sep="\n  ")

    if name.startswith("hierdec-trio"):
        allow_split_logits_in_hierarchy()
    tm = TrainedModel(config, batch_size=BATCH, checkpoint_dir_or_path=prefix)
    conv = tm._config.data_converter
    L = config.hparams.max_seq_len
    g = {}
    seqs = input_sequences(name)
    inputs, lengths = [], []
    for ns in seqs:
        t = conv.to_tensors(ns)
        assert len(t.inputs) >= 1, name
        inputs.append(np.asarray(t.inputs[0], np.float32))
        lengths.append(t.lengths[0])
    g["inputs"] = np.stack(inputs)
    g["lengths"] = np.array(lengths, np.int32)
    for i, ns in enumerate(seqs):
        with open(os.path.join(out_dir, f"input_{i}.pb"), "wb") as fh:
            fh.write(ns.SerializeToString())
    z, mu, sigma = tm.encode_tensors(list(g["inputs"]), list(lengths))
    g["enc_z"], g["enc_mu"], g["enc_sigma"] = z, mu, sigma

    rng = np.random.RandomState(seed)
    hier = name.startswith("hierdec")
    g["dec_z"] = rng.randn(2 if hier else 3, config.hparams.z_size).astype(np.float32)
    for tag, temp in (("greedy", GREEDY_T), ("t10", 1.0)):
        g[f"{tag}_samples"], g[f"{tag}_logits"] = run_decode(tm, g["dec_z"], L, temp)

    g["interp_z"] = np.array([slerp(mu[0], mu[1], t) for t in np.linspace(0, 1, 5)],
                             np.float32)
    g["interp_samples"], g["interp_logits"] = run_decode(tm, g["interp_z"], L, GREEDY_T)
    if hier:
        # Keep the fixture small: logits of the first 3 bars only (covers the per-bar
        # re-initialisation and the start input carried across bars); samples stay full.
        for k in [k for k in g if k.endswith("_logits")]:
            g[k] = g[k][:, :HIER_LOGIT_STEPS]
    if name.startswith("groovae"):
        g["humanize_samples"], g["humanize_logits"] = run_decode(tm, z, L, 1.0)
    g["greedy_temperature"] = np.float32(GREEDY_T)
    g["hparams"] = np.array(repr(sizes))
    np.savez_compressed(os.path.join(out_dir, "goldens.npz"), **g)
    for k, v in sorted(g.items()):
        print(f"  {k}: {getattr(v, 'shape', v)}")


def official_timing(name, reps=10):
    """TrainedModel timings at official widths on this machine (random weights)."""
    config = copy.deepcopy(configs.CONFIG_MAP[name])
    config.hparams.batch_size = BATCH
    work = f"/tmp/magref/timing/{name}"
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    prefix = os.path.join(work, "model.ckpt")
    make_checkpoint(config, prefix, 0, kernel_scale=1.0)
    tm = TrainedModel(config, batch_size=BATCH, checkpoint_dir_or_path=prefix)
    L = config.hparams.max_seq_len
    seqs = input_sequences(name)
    z = np.random.randn(2, config.hparams.z_size).astype(np.float32)

    def timed(label, fn):
        fn()
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        print(f"TIMING {name} {label}: {(time.perf_counter() - t0) / reps * 1000:.1f} ms")

    timed("decode_to_tensors(2 z)", lambda: tm.decode_to_tensors(z, length=L,
                                                                  temperature=0.5))
    timed("encode(2 seqs)", lambda: tm.encode(seqs))
    print("checkpoint prefix (reuse for native timing):", prefix)


if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0] == "--official-timing":
        for n in args[1:]:
            official_timing(n)
    else:
        for n in args or list(SMALL):
            make(n)
