"""The checkpoints magstation knows, where they are installed, and how they get there.

- The manifest (`checkpoints/manifest`, TOML; `MAGSTATION_MANIFEST` overrides the path)
  lists the official checkpoints: name, family, config, URL, size, files.
- A checkpoint NAME is installed in `checkpoints_dir()/NAME/`, with a small
  `.magstation.json` record (source, family, config, file sizes) written after a
  successful pull or import; the sizes let `resolve` spot a truncated file cheaply.
- `pull` downloads with resume (HTTP Range into `.downloads/NAME.<ext>.part`) and
  extracts safely; `import_checkpoint` takes a directory, a checkpoint prefix, a .tar /
  .tar.gz / .zip or a .mag file; `verify` checks every variable the config needs.
- `resolve(NAME)` is what model loaders call: it returns the path their family loads
  (a checkpoint prefix, GANSynth's folder with experiment.json, or a .mag file).

Nothing here imports TensorFlow at import time (the TUI lists models too); only
`verify` does, when it runs.
"""

from __future__ import annotations

import http.client
import importlib
import json
import os
import re
import shutil
import tarfile
import tempfile
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Sequence

from engine import __version__
from engine.errors import BadInput, BadRequest, CheckpointError, EngineError, ModelNotInstalled
from engine.fsutil import atomic_write_text
from engine.paths import PROJECT_ROOT, checkpoints_dir
from engine.pathpolicy import readable_file

Progress = Callable[[float, float, str], None]

# Small models the project trains and ships (manifest `path = "starter/..."`) live here,
# in the source tree, whatever MAGSTATION_CHECKPOINTS says.
SHIPPED_DIR = PROJECT_ROOT / "checkpoints"

# family -> module with `expected_variables(config) -> {variable name: shape}`.
FAMILY_MODULES: dict[str, str] = {
    "musicvae": "engine.models.musicvae",
    "gansynth": "engine.models.gansynth",
    "nsynth": "engine.models.nsynth",
    "melody_rnn": "engine.models.melody_rnn",
}
ARCHIVES = ("tar", "zip", "file")
RECORD = ".magstation.json"
DOWNLOADS = ".downloads"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
# Training-only variables that official checkpoints may or may not carry.
_TRAINING_ONLY = re.compile(r"(/Adam(_\d+)?$|/Momentum$|^beta[12]_power|^global_step$)")


# ---------------------------------------------------------------- manifest

@dataclass(frozen=True)
class CheckpointInfo:
    name: str
    family: str
    config: str
    url: str = ""
    archive: str = "tar"
    size: int = 0
    size_estimated: bool = False
    files: tuple[str, ...] = ()
    description: str = ""
    aliases: tuple[str, ...] = ()
    custom: bool = False  # imported under a name the manifest does not know
    shipped: str = ""  # a model that comes with magstation: its folder under checkpoints/
    fallback_for: tuple[str, ...] = ()  # roles this (starter) model serves when no other is installed

    @property
    def install_dir(self) -> Path:
        if self.shipped:
            return SHIPPED_DIR / self.shipped
        return checkpoints_dir() / self.name

    @property
    def size_text(self) -> str:
        return ("~" if self.size_estimated else "") + human_size(self.size) if self.size else "?"

    @property
    def pull_command(self) -> str:
        return f"magstation models pull {self.name}"

    @property
    def archive_filename(self) -> str:
        return PurePosixPath(self.url).name if self.url else f"{self.name}.{self.archive}"


def human_size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit in ("B", "KB") or n >= 100 else f"{n:.1f} {unit}"
        n /= 1000.0
    return f"{n} B"


def manifest_path() -> Path:
    env = os.environ.get("MAGSTATION_MANIFEST")
    return Path(env).expanduser() if env else PROJECT_ROOT / "checkpoints" / "manifest"


_parsed: dict[tuple, dict] = {}  # (path, mtime, size) -> the parsed manifest


def _manifest_toml(p: Path) -> dict:
    """The manifest's TOML, parsed once per version of the file (jobs resolve often)."""
    try:
        st = p.stat()
        key = (str(p), st.st_mtime_ns, st.st_size)
        data = _parsed.get(key)
        if data is None:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
            _parsed.clear()
            _parsed[key] = data
        return data
    except FileNotFoundError:
        raise BadInput(f"{p}: the checkpoint manifest is missing", path=str(p)) from None
    except tomllib.TOMLDecodeError as e:
        raise BadInput(f"{p}: the checkpoint manifest is not valid TOML ({e})", path=str(p)) from None


_built: list[tuple[dict, dict[str, "CheckpointInfo"]]] = []  # (parsed TOML, its entries)


def load_manifest(path: str | os.PathLike | None = None) -> dict[str, CheckpointInfo]:
    """name -> CheckpointInfo, in manifest order. BadInput when the file is malformed.
    Built once per version of the file (every job resolves its model through it)."""
    p = Path(path) if path else manifest_path()
    data = _manifest_toml(p)
    for parsed, entries in _built:
        if parsed is data:
            return dict(entries)
    out = _manifest_entries(p, data)
    _built[:] = [(data, out)]
    return dict(out)


def _manifest_entries(p: Path, data: dict) -> dict[str, CheckpointInfo]:
    out: dict[str, CheckpointInfo] = {}
    for i, entry in enumerate(data.get("checkpoint", [])):
        try:
            info = CheckpointInfo(
                name=entry["name"], family=entry["family"], config=entry["config"],
                url=entry.get("url", ""), archive=entry.get("archive", "tar"),
                size=int(entry.get("size", 0)), size_estimated=bool(entry.get("size_estimated")),
                files=tuple(entry.get("files", ())), description=entry.get("description", ""),
                aliases=tuple(entry.get("aliases", ())), shipped=entry.get("path", ""),
                fallback_for=tuple(entry.get("fallback_for", ())))
        except KeyError as e:
            raise BadInput(f"{p}: checkpoint #{i + 1} has no {e.args[0]!r}", path=str(p)) from None
        if not _NAME_RE.match(info.name) or info.archive not in ARCHIVES:
            raise BadInput(f"{p}: checkpoint {info.name!r}: bad name or archive {info.archive!r}",
                           path=str(p))
        if info.shipped and (PurePosixPath(info.shipped).is_absolute()
                             or ".." in PurePosixPath(info.shipped).parts):
            raise BadInput(f"{p}: checkpoint {info.name!r}: path must be a folder inside "
                           f"checkpoints/, got {info.shipped!r}", path=str(p))
        out[info.name] = info
    return out


def _read_record(folder: Path) -> dict | None:
    try:
        return json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def lookup(name: str, manifest: dict[str, CheckpointInfo] | None = None) -> CheckpointInfo | None:
    """The manifest entry for a name or alias, or a custom installed checkpoint, or None."""
    manifest = load_manifest() if manifest is None else manifest
    if name in manifest:
        return manifest[name]
    for info in manifest.values():
        if name in info.aliases:
            return info
    if _NAME_RE.match(name):
        rec = _read_record(checkpoints_dir() / name)
        if rec is not None:
            return CheckpointInfo(name=name, family=rec.get("family") or "unknown",
                                  config=rec.get("config") or name, custom=True,
                                  archive=rec.get("archive", "tar"))
    return None


def get_info(name: str) -> CheckpointInfo:
    info = lookup(name)
    if info is None:
        raise ModelNotInstalled(f"unknown checkpoint {name!r}; `magstation models list` shows the "
                                f"known ones", name=name)
    return info


# ---------------------------------------------------------------- installed or not

def _matches(folder: Path, pattern: str) -> list[Path]:
    return sorted(p for p in folder.glob(pattern) if p.is_file())


def _checkpoint_prefixes(folder: Path) -> list[Path]:
    """TF checkpoint prefixes (`X` for every `X.index`) under a folder."""
    return [p.with_suffix("") for p in sorted(folder.rglob("*.index")) if p.is_file()]


def _step_of(prefix: Path) -> int:
    m = re.search(r"-(\d+)$", prefix.name)
    return int(m.group(1)) if m else -1


def _find_load_path(info: CheckpointInfo, folder: Path) -> Path | None:
    """The path the family's loader takes, or None when the folder does not hold one."""
    if info.family == "melody_rnn" or info.archive == "file":
        mags = sorted(folder.rglob("*.mag"))
        return mags[0] if mags else None
    if info.family == "gansynth":
        exps = sorted(folder.rglob("experiment.json"))
        for exp in exps:
            if any(exp.parent.glob("stage_*/*.index")):
                return exp.parent
        return None
    prefixes = _checkpoint_prefixes(folder)
    if not prefixes:
        return None
    return max(prefixes, key=lambda p: (_step_of(p), str(p)))


def _files_present(info: CheckpointInfo, folder: Path) -> bool:
    return all(_matches(folder, pat) for pat in info.files) if info.files else True


def installed_path(name: str) -> Path | None:
    """The loader path of an installed checkpoint, without checking its files' sizes."""
    info = lookup(name)
    if info is None or not info.install_dir.is_dir():
        return None
    if not _files_present(info, info.install_dir):
        return None
    return _find_load_path(info, info.install_dir)


def _dir_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _check_files(info: CheckpointInfo, folder: Path) -> None:
    """CheckpointError naming the file when a recorded file is missing or has changed
    size, or when a TF checkpoint's data shard is missing or empty."""
    rec = _read_record(folder)
    if rec:
        for rel, size in rec.get("files", {}).items():
            p = folder / rel
            if not p.is_file():
                raise CheckpointError(f"{p} is missing from checkpoint {info.name}; "
                                      f"{reinstall_hint(info)}", name=info.name, file=str(p))
            have = p.stat().st_size
            if have != size:
                raise CheckpointError(f"{p} is {'truncated' if have < size else 'changed'} "
                                      f"({have} of {size} bytes); {reinstall_hint(info)}",
                                      name=info.name, file=str(p))
    for prefix in _checkpoint_prefixes(folder):
        shards = sorted(prefix.parent.glob(prefix.name + ".data-*"))
        if not shards:
            raise CheckpointError(f"{prefix}.index has no data file ({prefix.name}.data-*); "
                                  f"{reinstall_hint(info)}", name=info.name, file=str(prefix))
        for s in shards:
            if s.stat().st_size == 0:
                raise CheckpointError(f"{s} is empty; {reinstall_hint(info)}",
                                      name=info.name, file=str(s))


def resolve(name: str) -> Path:
    """The path a loader opens for checkpoint NAME (prefix, GANSynth folder or .mag).

    ModelNotInstalled carries the exact `magstation models pull NAME` line and the size;
    CheckpointError names the truncated or missing file."""
    info = get_info(name)
    folder = info.install_dir
    path = _find_load_path(info, folder) if folder.is_dir() else None
    if path is None:
        if info.shipped:
            raise ModelNotInstalled(
                f"{info.name} ships with magstation but {folder} has no checkpoint; restore "
                f"it from the source tree (git checkout -- {folder})", name=info.name)
        if info.custom:
            raise ModelNotInstalled(
                f"{info.name} is not installed any more: `magstation models import PATH "
                f"--name {info.name}`", name=info.name)
        raise ModelNotInstalled(
            f"{info.name} is not installed: `{info.pull_command}` ({info.size_text})",
            name=info.name, pull=info.pull_command, size=info.size)
    _check_files(info, folder)
    missing = [pat for pat in info.files if not _matches(folder, pat)]
    if missing:
        raise CheckpointError(f"{folder} is incomplete: nothing matches {', '.join(missing)}; "
                              f"{reinstall_hint(info)}",
                              name=info.name, file=str(folder))
    return path


# ---------------------------------------------------------------- roles: what a job uses

# The families whose checkpoint paths carry their own config (a .mag's generator id,
# GANSynth's experiment.json, NSynth's one architecture): a path alone is enough.
_SELF_DESCRIBING = {"melody_rnn", "gansynth", "nsynth"}


def load_roles(path: str | os.PathLike | None = None) -> dict[str, tuple[str, ...]]:
    """role -> model names, best first: the manifest's `[roles]` table, then every shipped
    model whose `fallback_for` names the role (manifest order). A role is what a job uses
    when the request names no model, e.g. "drums.sample" or "melody.continue"."""
    p = Path(path) if path else manifest_path()
    table = _manifest_toml(p).get("roles", {})
    if not isinstance(table, dict):
        raise BadInput(f"{p}: [roles] must be a table of role = [model names]", path=str(p))
    roles: dict[str, list[str]] = {}
    for role, names in table.items():
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise BadInput(f"{p}: roles.{role} must be a list of model names", path=str(p))
        roles[role] = list(names)
    for info in load_manifest(p).values():
        for role in info.fallback_for:
            if info.name not in roles.setdefault(role, []):
                roles[role].append(info.name)
    return {role: tuple(names) for role, names in roles.items()}


def role_models(role: str) -> tuple[str, ...]:
    """The models that can serve `role`, best first (official ones, then starter models).
    BadRequest naming the known roles when the manifest has no such role."""
    roles = load_roles()
    if role not in roles:
        raise BadRequest(f"no models are declared for role {role!r} in {manifest_path()}; "
                         f"known roles: {', '.join(sorted(roles))}", role=role)
    return roles[role]


def roles_of(name: str) -> list[str]:
    """The roles a model serves (for `models list` and the Models screen: what uses it)."""
    return [role for role, names in load_roles().items() if name in names]


@dataclass(frozen=True)
class ResolvedModel:
    """What a job loads: the model's name, family and config, and the path its family's
    loader opens. `fallback` is true when a starter model stands in for a role."""
    name: str
    family: str
    config: str
    path: Path
    fallback: bool = False


def _role_family(candidates: Sequence[str], manifest: dict[str, CheckpointInfo]) -> str:
    for n in candidates:
        info = lookup(n, manifest)
        if info is not None:
            return info.family
    return "unknown"


def _config_of_path(path: Path, family: str, config: str | None) -> str:
    if config:
        return config
    if family == "melody_rnn" and path.suffix == ".mag":
        from engine.models.mag_bundle import read_bundle
        return read_bundle(path).generator_id or path.stem
    if family in _SELF_DESCRIBING:
        # NSynth has one architecture; GANSynth's loader reads experiment.json itself
        return {"nsynth": "h512_bo16"}.get(family, "")
    raise BadRequest("a checkpoint path needs its config, e.g. \"config\": \"cat-drums_2bar_small\"",
                     param="config")


def resolve_model(choice: object, role: str | Sequence[str]) -> ResolvedModel:
    """The one resolver from a request to files, for every family.

    `choice` has `model`, `checkpoint` and `config` (engine.api.base.ModelChoice; missing
    attributes count as None). `checkpoint` (a path, + `config` where the family needs it)
    wins; else `model` (an installed name or alias); else the first installed model of
    `role` (a role name from the manifest, or a list of model names). When none is
    installed, the error is the first candidate's, with its pull command."""
    model = getattr(choice, "model", None)
    checkpoint = getattr(choice, "checkpoint", None)
    config = getattr(choice, "config", None)
    candidates = role_models(role) if isinstance(role, str) else tuple(role)
    manifest = load_manifest()
    if checkpoint:
        path = Path(checkpoint).expanduser()
        family = _role_family(candidates, manifest)
        return ResolvedModel(model or path.name, family, _config_of_path(path, family, config), path)
    names = [model] if model else list(candidates)
    first_error: ModelNotInstalled | None = None
    for name in names:
        info = lookup(str(name), manifest)
        if info is None:
            if len(names) > 1:
                continue  # a role entry this installation's manifest does not list
            info = get_info(str(name))
        try:
            path = resolve(info.name)
        except ModelNotInstalled as e:
            first_error = first_error or e
            continue
        fallback = not model and bool(info.shipped)
        return ResolvedModel(info.name, info.family, info.config, path, fallback)
    if first_error is None:
        raise ModelNotInstalled(f"none of the models for {role!r} is in the manifest "
                                f"({', '.join(names)})", role=str(role))
    raise first_error


@dataclass
class CheckpointStatus:
    info: CheckpointInfo
    installed: bool
    path: Path | None
    disk_size: int = 0
    roles: list[str] = field(default_factory=list)  # what uses it (manifest [roles], fallback_for)

    def to_dict(self) -> dict:
        i = self.info
        return {"name": i.name, "family": i.family, "config": i.config, "url": i.url,
                "size": i.size, "size_estimated": i.size_estimated,
                "description": i.description, "installed": self.installed,
                "path": str(self.path) if self.path else None, "disk_size": self.disk_size,
                "custom": i.custom, "shipped": bool(i.shipped), "roles": list(self.roles)}


def list_checkpoints() -> list[CheckpointStatus]:
    """Every manifest checkpoint (installed or not), then custom imported ones."""
    manifest = load_manifest()
    infos = list(manifest.values())
    root = checkpoints_dir()
    if root.is_dir():
        for d in sorted(root.iterdir()):
            if d.is_dir() and d.name not in manifest and (d / RECORD).is_file():
                info = lookup(d.name, manifest)
                if info is not None:
                    infos.append(info)
    roles = load_roles()
    out = []
    for info in infos:
        path = installed_path(info.name) if info.install_dir.is_dir() else None
        out.append(CheckpointStatus(info, path is not None, path,
                                    _dir_size(info.install_dir) if path else 0,
                                    [r for r, names in roles.items() if info.name in names]))
    return out


def role_choices(role: str) -> list[CheckpointStatus]:
    """The models of a role, best first, each with installed or not: what a pane's model
    chooser lists (the first installed one is what the job uses when none is chosen).
    No TensorFlow; cheap enough for the TUI."""
    by_name = {r.info.name: r for r in list_checkpoints()}
    return [by_name[n] for n in role_models(role) if n in by_name]


# ---------------------------------------------------------------- safe extraction

def _check_member_name(name: str, archive: Path) -> None:
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or re.match(r"^[A-Za-z]:", name):
        raise BadInput(f"{archive}: refusing to extract {name!r}: absolute path", path=str(archive))
    if ".." in p.parts:
        raise BadInput(f"{archive}: refusing to extract {name!r}: it escapes the folder with '..'",
                       path=str(archive))


def _inside(base: Path, target: Path) -> bool:
    try:
        target.resolve().relative_to(base.resolve())
        return True
    except ValueError:
        return False


def safe_extract(archive: str | os.PathLike, dest: str | os.PathLike) -> None:
    """Extract a .tar / .tar.gz / .zip into `dest`, refusing absolute paths, `..` escapes,
    links that point outside `dest`, and device files. BadInput names the member."""
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for n in zf.namelist():
                _check_member_name(n, archive)
            zf.extractall(dest)
        return
    try:
        tf = tarfile.open(archive, "r:*")
    except (tarfile.TarError, OSError) as e:
        raise BadInput(f"{archive}: not a readable .tar/.tar.gz/.zip archive ({e})",
                       path=str(archive)) from None
    with tf:
        try:
            members = tf.getmembers()
        except (tarfile.TarError, EOFError, OSError) as e:
            raise BadInput(f"{archive}: the archive is truncated or corrupt ({e}); download it "
                           f"again", path=str(archive)) from None
        for m in members:
            _check_member_name(m.name, archive)
            if m.issym() or m.islnk():
                base = dest / PurePosixPath(m.name).parent if m.issym() else dest
                if os.path.isabs(m.linkname) or not _inside(dest, base / m.linkname):
                    raise BadInput(f"{archive}: refusing to extract {m.name!r}: a link to "
                                   f"{m.linkname!r}, outside the checkpoint folder",
                                   path=str(archive))
            elif not (m.isfile() or m.isdir()):
                raise BadInput(f"{archive}: refusing to extract {m.name!r}: not a regular file",
                               path=str(archive))
        try:
            tf.extractall(dest, filter="data")
        except (tarfile.TarError, EOFError, OSError) as e:
            raise BadInput(f"{archive}: extraction failed ({e}); the archive is truncated or "
                           f"corrupt, download it again", path=str(archive)) from None


# ---------------------------------------------------------------- installing

def _write_record(folder: Path, info: CheckpointInfo, source: str) -> None:
    files = {str(p.relative_to(folder)): p.stat().st_size
             for p in sorted(folder.rglob("*")) if p.is_file() and p.name != RECORD}
    rec = {"name": info.name, "family": info.family, "config": info.config,
           "archive": info.archive, "source": source,
           "installed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "files": files}
    atomic_write_text(folder / RECORD, json.dumps(rec, indent=2) + "\n")


def _check_replacement(info: CheckpointInfo, staged: Path, source: str) -> None:
    """Before a new copy replaces an installed model: it must open and read in full, and
    pass the family's variable check wherever the installed copy passes it (a broken or
    wrong download/import never replaces a working model). CheckpointError otherwise."""
    old_path = installed_path(info.name)
    try:
        expected = expected_variables_for(info)
    except EngineError:
        expected = None
    names = {k: None for k in expected} if expected else None  # widths may be the user's own
    new = _verify_path(info, staged, None)
    if new.ok and names:
        checked = _verify_path(info, staged, names, read_values=False)
        if not checked.ok and old_path is not None:
            try:
                old_ok = _verify_path(info, old_path, names, read_values=False).ok
            except EngineError:
                old_ok = False
            if old_ok:
                new = checked
    if not new.ok:
        raise CheckpointError(
            f"{source} does not verify as {info.name} ({new.problems[0]}"
            f"{f' and {len(new.problems) - 1} more' if len(new.problems) > 1 else ''}); the "
            f"installed {info.name} was kept", name=info.name, file=source, problems=new.problems)


def _swap_into_place(staging: Path, final: Path) -> None:
    """Put `staging` at `final` in one step: an exchange of the two folders where the
    system has one (Linux renameat2), so a reader sees the old or the new model, never
    none; the old copy is then deleted."""
    if not final.exists():
        os.replace(staging, final)
        return
    if _exchange(staging, final):
        shutil.rmtree(staging, ignore_errors=True)  # staging now holds the old copy
        return
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    os.replace(final, old)
    try:
        os.replace(staging, final)
    except OSError:
        os.replace(old, final)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (renameat2 RENAME_EXCHANGE); False where unsupported."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def _install_from_staging(info: CheckpointInfo, staging: Path, source: str) -> Path:
    """Check a staged folder holds the checkpoint, record it, and move it into place
    (verifying it first when it replaces an installed copy)."""
    staged = _find_load_path(info, staging)
    if staged is None or not _files_present(info, staging):
        want = ", ".join(info.files) or {"melody_rnn": "a .mag file",
                                         "gansynth": "experiment.json + stage_*/"}.get(
            info.family, "a TF checkpoint (.index + .data-*)")
        raise CheckpointError(f"{source}: no {info.family} checkpoint found in it (expected "
                              f"{want})", name=info.name, file=source)
    final = info.install_dir
    if final.exists():
        _check_replacement(info, staged, source)
    _write_record(staging, info, source)
    _swap_into_place(staging, final)
    return _find_load_path(info, final) or final


def _staging_dir(name: str) -> Path:
    root = checkpoints_dir()
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{name}.installing-", dir=root))


def _download(url: str, part: Path, progress: Progress | None, label: str,
              timeout: float = 30.0) -> None:
    """Download `url` into `part`, resuming from its current size with an HTTP Range
    request. Raises EngineError (keeping `part`) when the transfer stops early."""
    have = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"User-Agent": f"magstation/{__version__}"})
    if have:
        req.add_header("Range", f"bytes={have}-")
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # nothing left to send: the .part is complete
            return
        raise EngineError(f"download of {url} failed: HTTP {e.code} {e.reason}", url=url) from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise EngineError(f"cannot reach {url} ({reason}); download it on another machine and "
                          f"run `magstation models import FILE`", url=url) from None
    with resp:
        resumed = have > 0 and resp.status == 206
        start = have if resumed else 0
        length = resp.headers.get("Content-Length")
        total = start + int(length) if length is not None else 0
        done = start
        last = 0.0
        try:
            with open(part, "ab" if resumed else "wb") as fh:
                while True:
                    chunk = resp.read(1 << 16)
                    if not chunk:
                        break
                    fh.write(chunk)
                    done += len(chunk)
                    now = time.monotonic()
                    if progress is not None and (now - last > 0.1 or done == total):
                        last = now
                        progress(done, total, label)
        except (http.client.HTTPException, OSError) as e:
            raise EngineError(f"download of {url} stopped at {human_size(done)} "
                              f"({type(e).__name__}); run the same `models pull` again to "
                              f"resume", url=url, done=done, total=total) from None
    if total and done < total:
        raise EngineError(f"download of {url} stopped at {human_size(done)} of "
                          f"{human_size(total)}; run the same `models pull` again to resume",
                          url=url, done=done, total=total)
    if progress is not None:
        progress(done, total or done, label)


def pull(name: str, *, url: str | None = None, force: bool = False,
         progress: Progress | None = None) -> Path:
    """Download and install checkpoint NAME; returns its loader path.

    An interrupted download keeps `checkpoints_dir()/.downloads/<file>.part` and the next
    pull resumes it. `url` overrides the manifest's (a mirror). `progress(done, total,
    message)` may be `JobContext.progress` (which also makes it cancellable)."""
    info = get_info(name)
    if info.custom:
        raise BadRequest(f"{name} was imported by hand; it has no download URL", name=name)
    if info.shipped:
        return resolve(info.name)  # nothing to download: it comes with magstation
    if not force:
        existing = installed_path(info.name)
        if existing is not None:
            return resolve(info.name)
    src = url or info.url
    if not src:
        raise BadRequest(f"{name} has no download URL in the manifest", name=name)
    downloads = checkpoints_dir() / DOWNLOADS
    downloads.mkdir(parents=True, exist_ok=True)
    fname = PurePosixPath(urllib.request.urlparse(src).path).name or info.archive_filename
    part = downloads / (fname + ".part")
    _download(src, part, progress, f"downloading {info.name}")
    if progress is not None:
        progress(1, 1, f"installing {info.name}")
    staging = _staging_dir(info.name)
    try:
        if info.archive == "file":
            os.replace(part, staging / fname)
        else:
            safe_extract(part, staging)
        path = _install_from_staging(info, staging, src)
    except (BadInput, CheckpointError) as e:
        # The download finished but is not a usable archive: start afresh next time.
        shutil.rmtree(staging, ignore_errors=True)
        part.unlink(missing_ok=True)
        raise type(e)(f"{e.message} (the download was discarded; `{info.pull_command}` "
                      f"fetches it again)", **e.details) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    part.unlink(missing_ok=True)
    return path


_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")
# A TF checkpoint prefix's own name: `model.ckpt-1234`, `cat-mel_2bar_big.ckpt`.
_PREFIX_TAIL = re.compile(r"\.ckpt(-\d+)?$")


def _manifest_match(stem: str, manifest: dict[str, CheckpointInfo]) -> CheckpointInfo | None:
    for info in manifest.values():
        if stem in (info.name, *info.aliases) and not info.shipped:
            return info
    return None


def _match_source(src: Path, manifest: dict[str, CheckpointInfo]) -> tuple[str, CheckpointInfo | None]:
    """(default install name, the manifest entry the source's file names match or None).

    An archive or .mag matches by its file name (`cat-drums_2bar_small.lokl.tar`); a
    prefix by its own name first (`cat-mel_2bar_big.ckpt`), then its folder's; a folder
    by its name, then by the prefixes inside it."""
    base = src.name
    for suf in _ARCHIVE_SUFFIXES + (".mag",):
        if base.endswith(suf):
            stem = base[: -len(suf)]
            for info in manifest.values():
                if info.url and base == info.archive_filename:
                    return info.name, info
            hit = _manifest_match(stem, manifest)
            return (hit.name, hit) if hit else (stem, None)
    if Path(str(src) + ".index").is_file():  # a prefix
        stem = _PREFIX_TAIL.sub("", base)
        hit = _manifest_match(stem, manifest) or _manifest_match(src.parent.name, manifest)
        return (hit.name, hit) if hit else (src.parent.name, None)
    hit = _manifest_match(base, manifest)
    if hit is None and src.is_dir():
        for prefix in _checkpoint_prefixes(src) if not src.is_symlink() else []:
            hit = _manifest_match(_PREFIX_TAIL.sub("", prefix.name), manifest)
            if hit is not None:
                break
    return (hit.name, hit) if hit else (base, None)


def _regular_source_file(p: Path, src: Path) -> None:
    """BadInput naming `p` unless it is a regular file (no FIFO, socket or device: copying
    one would block or never end)."""
    import stat as stat_

    mode = p.lstat().st_mode
    if not stat_.S_ISREG(mode):
        kind = ("a FIFO (named pipe)" if stat_.S_ISFIFO(mode) else "a socket" if stat_.S_ISSOCK(mode)
                else "a device" if stat_.S_ISCHR(mode) or stat_.S_ISBLK(mode) else "not a regular file")
        raise BadInput(f"{p} is {kind}; a checkpoint folder may hold only regular files and "
                       f"folders: remove it from {src} and import again", path=str(p), file=str(p))


def _copy_folder(src: Path, dest: Path) -> None:
    """Copy a checkpoint folder by the rules of safe_extract: symbolic links are not
    followed out of the folder (a link to a file inside it is copied as that file; links
    to folders inside it are skipped, their files are there already); a link loop, a
    dangling link, a FIFO or a device is refused, naming the file."""
    root = src.resolve()
    for dirpath, dirnames, filenames in os.walk(src, followlinks=False):
        here = Path(dirpath)
        rel = here.relative_to(src)
        (dest / rel).mkdir(parents=True, exist_ok=True)
        for d in list(dirnames):
            if (here / d).is_symlink():
                dirnames.remove(d)
                _check_link(here / d, root, src)
        for f in filenames:
            p = here / f
            target = p
            if p.is_symlink():
                target = _check_link(p, root, src)
                if target.is_dir():
                    continue
            _regular_source_file(target, src)
            shutil.copy2(target, dest / rel / f)


def _check_link(link: Path, root: Path, src: Path) -> Path:
    """Where a symbolic link inside a folder being imported points: BadInput naming the
    link when it loops, dangles or leaves the folder."""
    try:
        target = link.resolve(strict=True)
    except RuntimeError:  # Python < 3.13 reports a loop this way
        raise BadInput(f"{link} is a symbolic link loop; remove it from {src} and import again",
                       path=str(link), file=str(link)) from None
    except OSError as e:
        why = "a symbolic link loop" if e.errno == 40 else "a dangling symbolic link"
        raise BadInput(f"{link} is {why}; remove it from {src} and import again",
                       path=str(link), file=str(link)) from None
    if not _inside(root, target):
        raise BadInput(f"{link} is a link to {target}, outside the folder being imported; "
                       f"copy that file into {src} instead of linking it", path=str(link),
                       file=str(link))
    return target


def import_checkpoint(path: str | os.PathLike, name: str | None = None, *,
                      family: str | None = None, config: str | None = None,
                      force: bool = False) -> Path:
    """Install a checkpoint from a directory, a checkpoint prefix (`.../model.ckpt-123`,
    `.../cat-mel_2bar_big.ckpt`), a .tar / .tar.gz / .zip (extracted safely) or a .mag
    file. Returns its loader path.

    NAME defaults to the manifest entry the file names match, else the file/folder name.
    A name outside the manifest takes its family and config from `family`/`config`, else
    from the matched manifest entry, else from a .mag bundle's generator id. An installed
    NAME is replaced only with `force`, and only by a copy that verifies."""
    src = Path(path).expanduser()
    manifest = load_manifest()
    prefix_index = Path(str(src) + ".index")
    if not src.exists() and not src.is_symlink() and not prefix_index.is_file():
        raise BadInput(f"{src}: no such file, folder or checkpoint prefix", path=str(src))
    guessed, matched = _match_source(src, manifest)
    name = name or guessed
    if not _NAME_RE.match(name):
        raise BadRequest(f"{name!r} is not a usable checkpoint name (letters, digits, . _ - +)",
                         name=name)
    info = lookup(name, manifest)
    if info is not None and info.shipped:
        raise BadRequest(f"{name} ships with magstation; import your checkpoint under another "
                         f"name (--name)", name=name)
    if info is not None and not force and installed_path(info.name) is not None:
        raise BadRequest(f"{info.name} is installed already ({info.install_dir}); add --force "
                         f"to replace it (the new copy is verified first), or import under "
                         f"another name with --name", name=info.name)
    is_mag = src.suffix == ".mag"
    if info is None or (info.custom and (family or config or force)):
        if is_mag:
            readable_file(src, "path", expect="a .mag bundle")
        before = info if info is not None and info.family != "unknown" else None
        fam = family or (matched.family if matched else "melody_rnn" if is_mag
                         else before.family if before else "unknown")
        cfg = config or (matched.config if matched else None)
        if cfg is None and is_mag:
            from engine.models.mag_bundle import read_bundle
            cfg = read_bundle(src).generator_id or None  # the config the bundle was made with
        cfg = cfg or (before.config if before else None)
        info = CheckpointInfo(name=name, family=fam, config=cfg or name, custom=True,
                              archive="file" if is_mag else "tar")
    staging = _staging_dir(info.name)
    try:
        if src.is_dir():
            _copy_folder(src, staging)
        elif prefix_index.is_file():
            for f in sorted(src.parent.glob(src.name + ".*")):
                if f.suffix in (".index", ".meta") or ".data-" in f.name:
                    _regular_source_file(f.resolve() if f.is_symlink() else f, src.parent)
                    shutil.copy2(f, staging / f.name)
        elif src.name.endswith(_ARCHIVE_SUFFIXES):
            readable_file(src, "path", expect="a .tar/.tar.gz/.zip archive")  # no FIFO/device
            safe_extract(src, staging)
        elif is_mag:
            readable_file(src, "path", expect="a .mag bundle")
            shutil.copy2(src, staging / (info.name + ".mag" if info.family == "melody_rnn"
                                         and not info.custom else src.name))
        else:
            raise BadInput(f"{src}: not a checkpoint folder, prefix, .tar/.tar.gz/.zip or .mag",
                           path=str(src))
        return _install_from_staging(info, staging, str(src))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def reinstall_hint(info: CheckpointInfo) -> str:
    """How to get a good copy of a model back: pull (official), git checkout (shipped) or
    import again from the recorded source (imported under a name of one's own)."""
    if info.shipped:
        return f"restore it from the source tree: `git checkout -- {info.install_dir}`"
    if info.custom:
        rec = _read_record(info.install_dir) or {}
        source = rec.get("source") or "PATH"
        return f"import it again: `magstation models import {source} --name {info.name} --force`"
    return f"reinstall it: `{info.pull_command} --force`"


def partial_download(info: CheckpointInfo, url: str | None = None) -> Path:
    """Where `pull` keeps the unfinished download of `info` (it may not exist): the name
    pull derives from the URL, so a later pull resumes it."""
    src = url or info.url
    fname = PurePosixPath(urllib.parse.urlparse(src).path).name or info.archive_filename
    return checkpoints_dir() / DOWNLOADS / (fname + ".part")


def partial_bytes(info: CheckpointInfo) -> int:
    """Bytes of an interrupted download of `info` that the next pull resumes (0: none)."""
    if not info.url or info.custom or info.shipped:
        return 0
    try:
        return partial_download(info).stat().st_size
    except OSError:
        return 0


def remove_model(name: str) -> Path:
    """Delete an installed (pulled or imported) model and any partial download of it;
    returns what was removed. Refuses the starter models that ship with magstation and
    anything that is not a folder magstation installed into the checkpoints folder."""
    info = get_info(name)
    if info.shipped:
        raise BadRequest(f"{info.name} ships with magstation and cannot be removed (jobs fall "
                         f"back to it when no other model is installed)", name=info.name)
    folder, root = info.install_dir, checkpoints_dir()
    if folder.is_symlink() or folder.parent.resolve() != root.resolve():
        raise BadRequest(f"{folder} is not a folder magstation installed into {root}; remove "
                         f"it by hand if you mean to", name=info.name, path=str(folder))
    part = partial_download(info) if info.url and not info.custom else None
    had_part = part is not None and part.is_file()
    if not folder.is_dir():
        if part is not None and had_part:
            part.unlink(missing_ok=True)
            return part
        raise ModelNotInstalled(f"{info.name} is not installed; nothing to remove", name=info.name)
    # out of sight in one step, then deleted: a crash leaves a hidden folder, not half a model
    trash = folder.with_name(f".{folder.name}.removing-{os.getpid()}")
    os.replace(folder, trash)
    shutil.rmtree(trash, ignore_errors=True)
    if part is not None and had_part:
        part.unlink(missing_ok=True)
    return folder


# ---------------------------------------------------------------- verify

@dataclass
class VerifyResult:
    name: str
    path: Path
    checked: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _family_renamer(info: CheckpointInfo) -> Callable[[str], str] | None:
    """The family module's `normalise_name` (old variable-name generations), if any."""
    modname = FAMILY_MODULES.get(info.family)
    if modname is None:
        return None
    try:
        return getattr(importlib.import_module(modname), "normalise_name", None)
    except ImportError:
        return None


def expected_variables_for(info: CheckpointInfo) -> dict[str, tuple[int, ...] | None]:
    """Ask the family module which variables (name -> shape) the config needs.
    EngineError with a clear message when the module or function is not there."""
    modname = FAMILY_MODULES.get(info.family)
    if modname is None:
        raise EngineError(f"no model module for family {info.family!r} (checkpoint {info.name})",
                          family=info.family)
    try:
        mod = importlib.import_module(modname)
    except ImportError as e:
        raise EngineError(f"{modname} is not available ({e}); cannot list the variables "
                          f"{info.config} needs", module=modname) from None
    fn = getattr(mod, "expected_variables", None)
    if fn is None:
        raise EngineError(f"{modname} has no expected_variables(); cannot list the variables "
                          f"{info.config} needs", module=modname)
    return dict(fn(info.config))


def _read_mag_checkpoint(mag: Path, workdir: Path) -> Path:
    """Write the checkpoint inside a .mag bundle (GeneratorBundle field 2) to a file."""
    from engine.models.mag_bundle import read_bundle, write_checkpoint

    return write_checkpoint(read_bundle(mag), workdir)


def _shape_ok(got: Iterable[int], want: Iterable[int | None] | None) -> bool:
    if want is None:
        return True
    got, want = list(got), list(want)
    return len(got) == len(want) and all(w is None or w < 0 or g == w for g, w in zip(got, want))


def check_variables(prefix: str | os.PathLike, expected: dict[str, tuple[int, ...] | None] | None,
                    *, read_values: bool = True, label: str | None = None,
                    rename: Callable[[str], str] | None = None) -> VerifyResult:
    """Open a TF checkpoint and check that every expected variable exists with its shape
    and (with `read_values`) can be read in full. Without `expected`, reads every
    non-training variable. `rename` maps the file's names to the expected naming
    (older TF generations in .mag bundles)."""
    import tensorflow as tf  # only here: verify is an explicit, slow-ish command

    prefix = str(prefix)
    res = VerifyResult(label or Path(prefix).name, Path(prefix))
    data_file = next(iter(sorted(Path(prefix).parent.glob(Path(prefix).name + ".data-*"))),
                     Path(prefix))
    try:
        reader = tf.train.load_checkpoint(prefix)
        raw_shapes = reader.get_variable_to_shape_map()
        original = {(rename(n) if rename else n): n for n in raw_shapes}
        shapes = {n: raw_shapes[o] for n, o in original.items()}
    except Exception as e:  # tf.errors.* (DataLoss, NotFound...)
        raise CheckpointError(f"{prefix}: cannot open the checkpoint ({type(e).__name__}: "
                              f"{str(e).splitlines()[0] if str(e) else ''})",
                              file=prefix) from None
    names = list(expected) if expected else sorted(n for n in shapes if not _TRAINING_ONLY.search(n))
    for var in names:
        want = expected.get(var) if expected else None
        if var not in shapes:
            res.problems.append(f"{var}: missing from {prefix}")
            continue
        if not _shape_ok(shapes[var], want):
            res.problems.append(f"{var}: shape {list(shapes[var])} in {prefix}, expected "
                                f"{list(want)}")
            continue
        if read_values:
            try:
                reader.get_tensor(original[var])
            except Exception as e:
                msg = str(e).splitlines()[0] if str(e) else type(e).__name__
                res.problems.append(f"{var}: cannot be read from {data_file} (truncated or "
                                    f"corrupt: {msg})")
                continue
        res.checked += 1
    return res


def verify(name: str, expected: dict[str, tuple[int, ...] | None] | None = None,
           *, read_values: bool = True) -> VerifyResult:
    """Check an installed checkpoint: files complete, every variable the config needs
    present with the right shape and readable. `expected` overrides the family module's
    `expected_variables(config)` (tests, custom checkpoints)."""
    info = get_info(name)
    path = resolve(info.name)  # ModelNotInstalled / CheckpointError for missing/truncated files
    notes = []
    if expected is None:
        try:
            expected = expected_variables_for(info)
        except EngineError as e:
            notes.append(f"variable names and shapes not checked: {e.message}")
            expected = None
        if expected is not None and info.shipped:
            # the project's own models are trained narrower than the official ones
            notes.append("a starter model: variable names checked, widths are its own")
            expected = {k: None for k in expected}
    res = _verify_path(info, path, expected, read_values=read_values)
    res.notes = notes + res.notes
    return res


def _verify_path(info: CheckpointInfo, path: Path,
                 expected: dict[str, tuple[int, ...] | None] | None,
                 *, read_values: bool = True) -> VerifyResult:
    """check_variables on the checkpoint behind a loader path (installed or staged)."""
    with tempfile.TemporaryDirectory(prefix="magstation-verify-") as tmp:
        if info.family == "gansynth":
            prefixes = [p for p in _checkpoint_prefixes(path)
                        if p.parent.name.startswith("stage_")]
            last_stage = max(p.parent.name for p in prefixes)
            prefix = max((p for p in prefixes if p.parent.name == last_stage), key=_step_of)
        elif path.suffix == ".mag":
            prefix = _read_mag_checkpoint(path, Path(tmp))
        else:
            prefix = path
        res = check_variables(prefix, expected, read_values=read_values, label=info.name,
                              rename=_family_renamer(info))
    res.name, res.path = info.name, path
    return res
