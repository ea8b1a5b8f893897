"""Named MusicVAE/GrooVAE configs: topology and official sizes, and the variable names
and shapes of each official checkpoint (musicvae.md §3-§4).

Only the topology (decoder kind, number of layers, output parts) is taken from here at
load time; every width is read from the checkpoint, so small test checkpoints load too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DecoderKind = Literal["categorical", "groove", "nade", "hierarchical"]

ENC_LSTM = "encoder/cell_{level}/bidirectional_rnn/{direction}/multi_rnn_cell/cell_0/lstm_cell"
CONDUCTOR = "decoder/hierarchical_level_0"


@dataclass(frozen=True)
class MusicVaeConfig:
    name: str
    decoder: DecoderKind
    input_depth: int
    output_depths: tuple[int, ...]  # one entry per output part (trio: melody, bass, drums)
    max_seq_len: int
    z_size: int
    enc_rnn_size: tuple[int, ...]
    dec_rnn_size: tuple[int, ...]
    level_lengths: tuple[int, ...] = ()  # hierarchical: (bars, steps per bar)
    nade_hidden: int = 0

    @property
    def output_depth(self) -> int:
        return sum(self.output_depths)

    def core_prefixes(self) -> list[str]:
        """Variable prefix of each (core) autoregressive decoder, one per output part."""
        if self.decoder != "hierarchical":
            return ["decoder"]
        if len(self.output_depths) == 1:
            return ["core_decoder/decoder"]
        return [f"core_decoder/core_decoder_{i}/decoder" for i in range(len(self.output_depths))]


def _groove(name: str, bars: int) -> MusicVaeConfig:
    return MusicVaeConfig(name, "groove", 27, (27,), 16 * bars, 256, (512,), (256, 256))


CONFIGS: dict[str, MusicVaeConfig] = {c.name: c for c in (
    MusicVaeConfig("cat-drums_2bar_small", "categorical", 10, (512,), 32, 256, (512,),
                   (256, 256)),
    MusicVaeConfig("nade-drums_2bar_full", "nade", 62, (61,), 32, 256, (1024,), (512, 512),
                   nade_hidden=128),
    _groove("groovae_2bar_humanize", 2),
    _groove("groovae_2bar_tap_fixed_velocity", 2),
    _groove("groovae_2bar_add_closed_hh", 2),
    _groove("groovae_4bar", 4),
    MusicVaeConfig("cat-mel_2bar_big", "categorical", 90, (90,), 32, 512, (2048,),
                   (2048, 2048, 2048)),
    MusicVaeConfig("hierdec-mel_16bar", "hierarchical", 90, (90,), 256, 512, (2048, 2048),
                   (1024, 1024), level_lengths=(16, 16)),
    MusicVaeConfig("hierdec-trio_16bar", "hierarchical", 692, (90, 90, 512), 256, 512,
                   (2048, 2048), (1024, 1024), level_lengths=(16, 16)),
)}


def get_config(name: str) -> MusicVaeConfig:
    try:
        return CONFIGS[name]
    except KeyError:
        raise KeyError(f"unknown MusicVAE config {name!r}; known: {', '.join(CONFIGS)}") from None


def _lstm(prefix: str, inputs: int, units: int) -> dict[str, tuple[int, ...]]:
    return {f"{prefix}/kernel": (inputs + units, 4 * units), f"{prefix}/bias": (4 * units,)}


def _dense(prefix: str, inputs: int, outputs: int) -> dict[str, tuple[int, ...]]:
    return {f"{prefix}/kernel": (inputs, outputs), f"{prefix}/bias": (outputs,)}


def _flat_decoder(prefix: str, prev_depth: int, proj_depth: int, z: int,
                  sizes: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    v = _dense(f"{prefix}/z_to_initial_state", z, 2 * sum(sizes))
    width = prev_depth + z
    for k, units in enumerate(sizes):
        v |= _lstm(f"{prefix}/multi_rnn_cell/cell_{k}/lstm_cell", width, units)
        width = units
    return v | _dense(f"{prefix}/output_projection", width, proj_depth)


def variables_for(cfg: MusicVaeConfig, z_size: int | None = None,
                  enc_rnn_size: tuple[int, ...] | None = None,
                  dec_rnn_size: tuple[int, ...] | None = None,
                  nade_hidden: int | None = None) -> dict[str, tuple[int, ...]]:
    """Names and shapes of the inference variables for `cfg` at the given widths
    (official widths by default)."""
    z = cfg.z_size if z_size is None else z_size
    enc = cfg.enc_rnn_size if enc_rnn_size is None else enc_rnn_size
    dec = cfg.dec_rnn_size if dec_rnn_size is None else dec_rnn_size
    hidden = cfg.nade_hidden if nade_hidden is None else nade_hidden
    v: dict[str, tuple[int, ...]] = {}
    width = cfg.input_depth
    for level, units in enumerate(enc):
        for direction in ("fw", "bw"):
            v |= _lstm(ENC_LSTM.format(level=level, direction=direction), width, units)
        width = 2 * units
    v |= _dense("encoder/mu", width, z) | _dense("encoder/sigma", width, z)
    if cfg.decoder == "hierarchical":
        v |= _dense(f"{CONDUCTOR}/initial_state", z, 2 * sum(dec))
        width = 1  # autoregression disabled: the conductor reads a constant zero of width 1
        for k, units in enumerate(dec):
            v |= _lstm(f"{CONDUCTOR}/cell_{k}/lstm_cell", width, units)
            width = units
        for prefix, depth in zip(cfg.core_prefixes(), cfg.output_depths):
            v |= _flat_decoder(prefix, depth, depth, dec[-1], dec)
    elif cfg.decoder == "nade":
        d = cfg.output_depth
        v |= _flat_decoder("decoder", d, hidden + d, z, dec)
        v["decoder/nade/w_enc"] = (d, 1, hidden)
        v["decoder/nade/w_dec_t"] = (d, hidden, 1)
    else:
        v |= _flat_decoder("decoder", cfg.output_depth, cfg.output_depth, z, dec)
    return v


def expected_variables(config_name: str) -> dict[str, tuple[int, ...]]:
    """Variable names and shapes of the OFFICIAL checkpoint for `config_name`
    (training-only variables such as Adam slots and global_step are not listed)."""
    return variables_for(get_config(config_name))
