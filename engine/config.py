"""The settings of the engine the TUI starts by itself: `$MAGSTATION_HOME/config.toml`.

    [engine]
    tcp = "127.0.0.1:7171"          # also listen on TCP, for `magstation listen` through a tunnel
    token_file = "~/.config/magstation/token"   # mode 0600; default MAGSTATION_TOKEN, else $MAGSTATION_HOME/token
    playback = "auto"               # auto | local | null
    model_budget_mb = 8192          # memory for loaded models (engine/model_pool.py); default: half the RAM

`MAGSTATION_ENGINE_TCP` overrides `tcp`. Every start reads it, so the engine that ctrl+r or
a crash restart brings back listens where the first one did. No TensorFlow here.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from engine import paths


class ConfigError(RuntimeError):
    """config.toml cannot be used; the message names the file, the setting and the fix."""


class EngineConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    tcp: Annotated[str, Meta(pattern=r"^[^:\s]+:\d{1,5}$")] | None = None
    token_file: str | None = None
    playback: Literal["auto", "local", "null"] | None = None
    model_budget_mb: Annotated[int, Meta(ge=64, le=1 << 22)] | None = None


class ConfigFile(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    engine: EngineConfig = msgspec.field(default_factory=EngineConfig)


def config_path() -> Path:
    return paths.home() / "config.toml"


def load_engine_config(path: Path | None = None) -> EngineConfig:
    path = path or config_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        data = {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path} cannot be read: {e}; fix or remove it") from None
    try:
        cfg = msgspec.convert(data, ConfigFile).engine
    except msgspec.ValidationError as e:
        raise ConfigError(f"{path}: {e}; see the example in engine/config.py") from None
    env_tcp = os.environ.get("MAGSTATION_ENGINE_TCP")
    if env_tcp:
        cfg = msgspec.structs.replace(cfg, tcp=env_tcp)
    return cfg


def engine_args(cfg: EngineConfig) -> list[str]:
    """The command-line options for an engine started with these settings (never the
    token itself: it travels in a file or the environment)."""
    from engine.tokens import TokenError, engine_token

    args: list[str] = []
    if cfg.tcp:
        token_file = Path(cfg.token_file).expanduser() if cfg.token_file else None
        try:
            if not engine_token(token_file):
                raise ConfigError(f"{config_path()} asks for TCP on {cfg.tcp} but there is no "
                                  "token: set MAGSTATION_TOKEN, or token_file (mode 0600)")
        except TokenError as e:
            raise ConfigError(f"{config_path()}: {e}") from None
        args += ["--tcp", cfg.tcp]
        if token_file is not None:
            args += ["--token-file", str(token_file)]
    if cfg.playback:
        args += ["--playback", cfg.playback]
    return args
