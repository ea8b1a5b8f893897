"""The sample library: the sounds shipped in `sounds/`, the user's own library folder
(`home()/library`, where imports go) and any folders the user adds.

Files are indexed in the store by content hash. A scan skips files whose (size, mtime)
have not changed; a file that can't be used (empty, truncated, not audio, too big, an odd
rate or sample format) is recorded with a message saying why, and never stops the scan.
The models read 16 kHz mono float32: `derivative()` writes that version of a sound once,
in the cache, keyed by its hash.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import soundfile as sf

from engine import paths
from engine.audio import io as audio_io
from engine.audio.io import MODEL_RATE, AudioInfo
from engine.context import JobContext
from engine.errors import BadInput, BadRequest, OutputExists
from engine.fsutil import atomic_write, atomic_write_text
from engine.pathpolicy import check_name, readable_file
from engine.store import Sound, Store

AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".aiff", ".aif")
IMPORT_SUFFIXES = (".wav", ".flac", ".mp3")
MAX_BYTES = audio_io.DEFAULT_MAX_BYTES   # a bigger file is almost surely an album
MAX_SECONDS = audio_io.DEFAULT_MAX_SECONDS
RATE_RANGE = (8000, 192000)     # outside this a "sample rate" is a broken header
MAX_CHANNELS = 8
TAG_RE = re.compile(r"^[\w.+#:-]{1,32}$")  # ":" for sets: batch:NAME, x:3
HASH_BLOCK = 1 << 20


# ------------------------------------------------------------------------------ folders

def shipped_dir() -> Path:
    """Sounds that come with magstation."""
    return paths.PROJECT_ROOT / "sounds"


def user_library_dir() -> Path:
    """The user's own library: imports are copied here."""
    return paths.home() / "library"


def derivative_dir() -> Path:
    return paths.cache_dir() / "library"


def roots(store: Store) -> list[tuple[Path, str]]:
    """Every folder a scan walks, with its kind: shipped, library or user."""
    out = [(shipped_dir(), "shipped"), (user_library_dir(), "library")]
    out += [(Path(f), "user") for f in store.folders()]
    return out


def add_folder(store: Store, folder: str) -> Path:
    p = Path(folder).expanduser()
    if not p.is_absolute():
        raise BadRequest(f"{folder!r} is not an absolute path; give the full path of the folder")
    p = p.resolve()
    if not p.exists():
        raise BadInput(f"{p}: no such folder. Check the path.", path=str(p))
    if not p.is_dir():
        raise BadInput(f"{p} is a file, not a folder. To add one sound, import it (`i`).",
                       path=str(p))
    store.add_folder(p)
    return p


# ---------------------------------------------------------------------- reading audio
# Decoding and the checks on the file itself (missing, empty, not audio, truncated...)
# are engine.audio.io's; the library adds only its own limits, with the same `reason`s.

def _bad(path: Path, reason: str, message: str, **details: Any) -> BadInput:
    return BadInput(f"{path}: {message}", path=str(path), reason=reason, **details)


def _probe(path: Path) -> AudioInfo:
    """What a file holds, without decoding it; BadInput (with a `reason`) if the library
    can't use it."""
    info = audio_io.probe(path, max_bytes=MAX_BYTES)
    _check_limits(path, info)
    return info


def _check_limits(path: Path, info: AudioInfo) -> None:
    """What the library refuses even when it decodes: odd rates, many channels, too long."""
    rate, channels, frames = info.rate, info.channels, audio_io.require_length(info)
    if not RATE_RANGE[0] <= rate <= RATE_RANGE[1]:
        raise _bad(path, "odd_rate", f"its sample rate {rate} Hz is outside "
                   f"{RATE_RANGE[0]}-{RATE_RANGE[1]} Hz; the header is probably wrong. "
                   "Re-export it at 16, 44.1 or 48 kHz.")
    if channels > MAX_CHANNELS:
        raise _bad(path, "odd_channels", f"it has {channels} channels (at most {MAX_CHANNELS}). "
                   "Mix it down to mono or stereo.")
    if frames / rate > MAX_SECONDS:
        raise _bad(path, "too_long", f"the sound is too long ({frames / rate:.0f} s, limit "
                   f"{MAX_SECONDS:.0f} s). Trim it to the part you need.")


def read_sound(path: Path) -> tuple[np.ndarray, int]:
    """A library sound decoded to float32 mono at its own rate: `(samples, rate)`."""
    _probe(path)
    return audio_io.read_audio(path, max_bytes=MAX_BYTES, max_seconds=MAX_SECONDS)


def _load(path: Path) -> np.ndarray:
    """A library sound as the models hear it: float32 mono at 16 kHz."""
    samples, rate = read_sound(path)
    return audio_io.resample(samples, rate, MODEL_RATE)


def file_hash(path: Path, ctx: JobContext | None = None) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(HASH_BLOCK):
            h.update(block)
            if ctx is not None:
                ctx.check_cancelled()
    return h.hexdigest()


# ---------------------------------------------------------------------------- scanning

NOT_UTF8 = ("its name is not valid UTF-8 text, so the library cannot record it; "
            "rename it (e.g. `convmv -f latin1 -t utf8`) and rescan")


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")  # os.walk gives undecodable bytes as lone surrogates
        return True
    except UnicodeEncodeError:
        return False


def shown_name(path: str | os.PathLike) -> str:
    """A path for messages and JSON: undecodable bytes as \\xNN escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _walk(root: Path, skipped: list[dict[str, str]] | None = None) -> Iterator[Path]:
    """Audio files under `root`, sorted; hidden files/folders (our temp files) skipped.
    Files and folders whose names are not UTF-8 are left out and listed in `skipped`
    as {"name", "path", "reason"}: one odd name never stops a scan."""
    def skip(dirpath: str, name: str, what: str) -> None:
        if skipped is not None:
            skipped.append({"name": shown_name(name), "path": shown_name(os.path.join(dirpath, name)),
                            "reason": f"{what}: {NOT_UTF8}"})

    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        keep = []
        for d in sorted(dirnames):
            if d.startswith("."):
                continue
            if _utf8(d):
                keep.append(d)
            else:
                skip(dirpath, d, "folder (not scanned)")
        dirnames[:] = keep
        for name in sorted(filenames):
            if not name.startswith(".") and name.lower().endswith(AUDIO_SUFFIXES):
                if _utf8(name):
                    yield Path(dirpath) / name
                else:
                    skip(dirpath, name, "file")


def index_file(store: Store, path: Path, root: Path, ctx: JobContext | None = None) -> Sound:
    """(Re)index one file. Problems become the row's status and error, never exceptions."""
    try:
        st = path.stat()
    except OSError as e:
        return store.put_sound(path=path, root=root, size=0, mtime=0.0, status="missing",
                               error=f"{path}: cannot be read ({e.strerror}).")
    try:
        info = _probe(path)
        digest = file_hash(path, ctx)
    except BadInput as e:
        return store.put_sound(path=path, root=root, size=st.st_size, mtime=st.st_mtime,
                               status=str(e.details.get("reason", "unreadable")), error=e.message)
    except OSError as e:
        return store.put_sound(path=path, root=root, size=st.st_size, mtime=st.st_mtime,
                               status="unreadable", error=f"{path}: cannot be read ({e.strerror}).")
    return store.put_sound(path=path, root=root, size=st.st_size, mtime=st.st_mtime, hash=digest,
                           duration=info.seconds, rate=info.rate, channels=info.channels,
                           frames=info.frames, format=info.format, subtype=info.subtype)


def scan(store: Store, ctx: JobContext, only: list[str] | None = None,
         rehash: bool = False) -> dict[str, Any]:
    """Walk the library folders (or just `only`, which must be among them) and index
    what is new or changed. Returns counts; bad files are counted, not raised."""
    known = roots(store)
    if only:
        wanted = {str(Path(p).expanduser().resolve()) for p in only}
        known_paths = {str(r.resolve()) for r, _ in known}
        unknown = sorted(wanted - known_paths)
        if unknown:
            raise BadRequest(f"not library folders: {unknown}; add them first (library.add_folder)")
        known = [(r, k) for r, k in known if str(r.resolve()) in wanted]
    ctx.progress(0, 1, "looking for sounds")
    plan: list[tuple[Path, Path]] = []
    seen: set[Path] = set()
    missing_folders = []
    skipped: list[dict[str, str]] = []
    for root, _kind in known:
        if not root.is_dir():
            missing_folders.append(str(root))
            continue
        for f in _walk(root, skipped):
            if f not in seen:
                seen.add(f)
                plan.append((f, root))
            ctx.check_cancelled()
    counts = {"indexed": 0, "unchanged": 0, "bad": 0, "removed": 0}
    total = len(plan)
    every = max(1, total // 200)  # a few hundred progress events, not one per file
    for i, (f, root) in enumerate(plan):
        if i % every == 0:
            ctx.progress(i, total, f.name)
        else:
            ctx.check_cancelled()
        row = store.sound(f)
        try:
            st = f.stat()
            same = (row is not None and not rehash and row.size == st.st_size
                    and row.mtime == st.st_mtime and row.root == str(root))
        except OSError:
            same = False
        if same:
            counts["unchanged"] += 1
            if row is not None and not row.ok:
                counts["bad"] += 1
            continue
        sound = index_file(store, f, root, ctx)
        counts["indexed"] += 1
        if not sound.ok:
            counts["bad"] += 1
    # rows for files that are gone; a missing folder (an unplugged drive) keeps its rows
    gone = []
    for root, _kind in known:
        if str(root) not in missing_folders:
            gone += [s.path for s in store.sounds_under(root) if Path(s.path) not in seen]
    counts["removed"] = store.remove_sounds(gone)
    ctx.progress(total, total, "scan finished")
    return {"files": total, **counts, "folders": [str(r) for r, _ in known],
            "missing_folders": missing_folders, "skipped": skipped}


# ------------------------------------------------------------------------------- tags

def normalize_tag(tag: Any) -> str:
    if not isinstance(tag, str):
        raise BadRequest(f"a tag is a short word, got {tag!r}")
    t = re.sub(r"\s+", "-", tag.strip().lower())
    if not TAG_RE.match(t):
        raise BadRequest(f"tag {tag!r} is not usable: use 1-32 letters, digits or . + # - _ :")
    return t


def tag(store: Store, path: str, add: list[Any], remove: list[Any]) -> list[str]:
    sound = store.sound(path)
    if sound is None:
        raise BadRequest(f"{path} is not in the library; rescan first (r)")
    tags = (set(sound.tags) | {normalize_tag(t) for t in add}) - {normalize_tag(t) for t in remove}
    store.set_tags(path, sorted(tags))
    return sorted(tags)


# --------------------------------------------------------------------- batch outputs

GRID_NAME = re.compile(r"^(?P<grid>.+)_p(?P<pitch>\d{3})_r(?P<row>\d+)_c(?P<col>\d+)$")


def set_tag(prefix: str, name: str) -> str:
    """`prefix:name` as a usable tag: lower case, odd characters as -, cut to 32."""
    body = re.sub(r"[^\w.+-]+", "-", name.strip().lower()).strip("-") or "batch"
    return f"{prefix}:{body}"[:32]


def batch_items(out: Path, manifest: dict[str, Any]) -> list[tuple[Path, list[str]]]:
    """Every audio file a finished batch wrote, with the tags that place it: the batch's
    set (`batch:NAME`), the method family, and for NSynth grid cells `grid:NAME`,
    `pitch:P`, `x:COLUMN`, `y:ROW` (the XY pad: x left to right, y top to bottom). The
    grid's pitched sources (`sources/`) are in the set too, tagged `grid-source`."""
    batch = set_tag("batch", str(manifest.get("name") or out.name))
    items: list[tuple[Path, list[str]]] = []
    for _task_id, entry in sorted((manifest.get("tasks") or {}).items()):
        if not isinstance(entry, dict) or entry.get("status") != "ok":
            continue
        family = str(entry.get("method", "")).split(".")[0] or "batch"
        for f in entry.get("files") or []:
            rel = Path(str(f.get("path", "")))
            if rel.suffix.lower() not in AUDIO_SUFFIXES or rel.is_absolute() or ".." in rel.parts:
                continue
            tags = [batch, normalize_tag(family)]
            m = GRID_NAME.match(rel.stem) if family == "nsynth" else None
            if m:
                tags += [set_tag("grid", m["grid"]), f"pitch:{int(m['pitch'])}",
                         f"x:{int(m['col'])}", f"y:{int(m['row'])}"]
            items.append((out / rel, tags))
    src = out / "sources"
    if src.is_dir():
        items += [(f, [batch, "grid-source"]) for f in sorted(src.iterdir())
                  if f.suffix.lower() in AUDIO_SUFFIXES and f.is_file()]
    return items


def add_batch(store: Store, out: str, ctx: JobContext | None = None) -> dict[str, Any]:
    """Put a batch's output folder in the library in one step: the folder joins the
    library's folders (so a rescan keeps it), every audio file of the manifest is indexed
    and tagged with its set and grid place. Adding it again changes nothing but new
    files: sounds are keyed by path and tags are merged."""
    import json

    from engine.batch.manifest import FORMAT, NAME

    p = Path(out).expanduser()
    if not p.is_absolute():
        raise BadRequest(f"{out!r} is not an absolute path; give the full path of the batch's "
                         "output folder", param="out")
    p = p.resolve()
    mpath = p / NAME
    try:
        readable_file(mpath, "out", expect="a batch manifest (manifest.json)")
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except BadInput as e:
        if e.details.get("reason") != "missing":
            raise
        raise BadInput(f"{p}: no {NAME} here, so this is not a batch's output folder (or the "
                       "batch has not finished a task yet); give the folder `magstation batch` "
                       "wrote", path=str(p)) from None
    except (OSError, ValueError) as e:
        raise BadInput(f"{mpath}: unreadable manifest ({e})", path=str(mpath)) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BadInput(f"{mpath} is not a magstation batch manifest", path=str(mpath))
    # a folder already under a library root stays there; otherwise it becomes one
    root = next((r.resolve() for r, _ in roots(store)
                 if r.exists() and p.is_relative_to(r.resolve())), None)
    if root is None:
        store.add_folder(p)
        root = p
    items = batch_items(p, manifest)
    counts = {"added": 0, "updated": 0, "unchanged": 0, "missing": 0, "bad": 0}
    set_tags: set[str] = set()
    for i, (f, tags) in enumerate(items):
        if ctx is not None:
            ctx.progress(i, len(items), f.name)
        row = store.sound(f)
        try:
            st = f.stat()
        except OSError:
            counts["missing"] += 1
            continue
        if row is not None and row.size == st.st_size and row.mtime == st.st_mtime and row.ok:
            counts["unchanged"] += 1
        else:
            counts["added" if row is None else "updated"] += 1
            row = index_file(store, f, Path(row.root) if row is not None else root, ctx)
            if not row.ok:
                counts["bad"] += 1
        merged = sorted(set(row.tags) | set(tags))
        if merged != row.tags:
            store.set_tags(f, merged)
        set_tags.add(tags[0])
    if ctx is not None:
        ctx.progress(len(items), len(items), "added")
    return {"folder": str(p), "root": str(root), "sounds": len(items), **counts,
            "sets": sorted(set_tags), "name": manifest.get("name")}


# ------------------------------------------------------------------------- derivatives

def usable(store: Store, path: str, ctx: JobContext | None = None) -> tuple[Path, str]:
    """A sound's file and current hash, re-indexing it if it changed since the scan.
    BadInput (the recorded reason) for a file that can't be used."""
    p = Path(path).expanduser()
    row = store.sound(p)
    if row is None:
        raise BadRequest(f"{p} is not in the library; rescan (r) or import it (i)")
    try:
        st = p.stat()
        changed = row.size != st.st_size or row.mtime != st.st_mtime
    except OSError:
        changed = True
    if changed:
        row = index_file(store, p, Path(row.root), ctx)
    if not row.ok or row.hash is None:
        raise BadInput(row.error or f"{p} can't be used", path=str(p), reason=row.status)
    return p, row.hash


def derivative_path(digest: str) -> Path:
    return derivative_dir() / f"{digest}.16k.wav"


def derivative(path: Path, digest: str) -> Path:
    """The 16 kHz mono float32 WAV of a sound, written once per content hash."""
    out = derivative_path(digest)
    if not out.exists():
        samples = _load(path)
        write_model_wav(out, samples)
    return out


def write_model_wav(out: Path, samples: np.ndarray) -> Path:
    def writer(fh) -> None:
        sf.write(fh, samples, MODEL_RATE, subtype="FLOAT", format="WAV")
    return atomic_write(out, writer)


def read_model_wav(path: Path) -> np.ndarray:
    data, _ = sf.read(str(path), dtype="float32")
    return data


# ------------------------------------------------------------------------------ import

def _unique(folder: Path, name: str) -> Path:
    stem, suffix = Path(name).stem, Path(name).suffix
    candidate, n = folder / name, 2
    while os.path.lexists(candidate):
        candidate, n = folder / f"{stem}-{n}{suffix}", n + 1
    return candidate


def _write_new(folder: Path, name: str, writer, announce=None) -> Path:
    """Write a new file `name` (or `stem-2`, `-3`...) in `folder`, never replacing one,
    even one that appears while writing (atomic_write's no-clobber link)."""
    for _ in range(100):
        dest = _unique(folder, name)
        if announce is not None:
            announce(dest)
        try:
            return atomic_write(dest, writer, replace=False)
        except OutputExists:
            continue  # taken meanwhile: the next free name
    raise BadRequest(f"cannot find a free file name for {name} in {folder}", path=str(folder))


def import_file(store: Store, src: str, ctx: JobContext, name: str | None = None) -> dict[str, Any]:
    """Copy a WAV/FLAC/MP3 into the user's library (atomically; the original is only
    read), index it, and write its 16 kHz mono version."""
    p = Path(src).expanduser()
    if not p.is_absolute():
        raise BadRequest(f"{src!r} is not an absolute path; give the full path of the file")
    if p.is_dir():
        raise BadInput(f"{p} is a folder. To use a whole folder, add it (a) instead.", path=str(p))
    readable_file(p, "path", expect="a WAV, FLAC or MP3 file")  # no FIFO, device, socket
    if p.suffix.lower() not in IMPORT_SUFFIXES:
        raise BadInput(f"{p}: magstation imports WAV, FLAC or MP3 files, not {p.suffix or 'this'}.",
                       path=str(p), reason="not_audio")
    # a plain name: "../x" is refused, not cut down; a file name that is not UTF-8 text
    # could not be indexed, so it needs a `name`
    target_name = check_name(name, "name") if name else check_name(p.name, "path")
    if Path(target_name).suffix.lower() != p.suffix.lower():
        target_name += p.suffix.lower()
    check_name(target_name, "name")
    ctx.progress(0, 3, "reading")
    samples = _load(p)  # the whole file decodes, or nothing is copied
    digest = file_hash(p, ctx)
    folder = paths.ensure_dir(user_library_dir())
    for s in store.sounds_under(folder):
        if s.hash == digest and Path(s.path).exists():
            write_model_wav(derivative_path(digest), samples)
            return {"sound": s.to_dict(), "already": True,
                    "derivative_path": str(derivative_path(digest))}
    with open(p, "rb") as fh_in:
        dest = _write_new(folder, target_name,
                          lambda fh: (fh_in.seek(0), shutil.copyfileobj(fh_in, fh, HASH_BLOCK)),
                          lambda d: ctx.progress(1, 3, f"copying to {d.name}"))
    if file_hash(dest) != digest:
        dest.unlink(missing_ok=True)
        raise BadInput(f"{p} changed while it was being imported; try again.", path=str(p))
    ctx.progress(2, 3, "writing the 16 kHz version")
    deriv = derivative_path(digest)
    if not deriv.exists():
        write_model_wav(deriv, samples)
    sound = index_file(store, dest, folder, ctx)
    ctx.progress(3, 3, "imported")
    return {"sound": sound.to_dict(), "already": False, "derivative_path": str(deriv)}


def keep_sound(store: Store, samples: np.ndarray, rate: int, name: str,
               tags: list[str] | tuple[str, ...] = ()) -> Sound:
    """Save generated audio (float32 mono) into the user's library as a WAV and index it:
    how a synthesized sound is kept. Never replaces a file; the name gets -2, -3, ..."""
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim != 1 or len(x) == 0:
        raise BadRequest(f"keep_sound takes non-empty mono audio, got shape {x.shape}")
    base = name[:-4] if name.lower().endswith(".wav") else name
    stem = re.sub(r"[^\w.+-]+", "-", base).strip("-.") or "sound"
    check_name(f"{stem}.wav", "name")  # too long for the file system: a clear BadRequest
    folder = paths.ensure_dir(user_library_dir())
    dest = _write_new(folder, f"{stem}.wav",
                      lambda fh: sf.write(fh, x, int(rate), subtype="FLOAT", format="WAV"))
    sound = index_file(store, dest, folder)
    if tags:
        store.set_tags(dest, [normalize_tag(t) for t in tags])
        sound = store.sound(dest) or sound
    if sound.hash and int(rate) == MODEL_RATE and not derivative_path(sound.hash).exists():
        write_model_wav(derivative_path(sound.hash), x)
    return sound


# ---------------------------------------------------------------------------- overview

def envelope(samples: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Min and max of the signal in `columns` equal slices."""
    n = len(samples)
    if n == 0:
        z = np.zeros(columns, np.float32)
        return z, z
    if n < columns:
        x = samples[np.arange(columns) * n // columns]
        return x, x
    edges = (np.arange(columns) * n) // columns
    return np.minimum.reduceat(samples, edges), np.maximum.reduceat(samples, edges)


def band_edges(bands: int, rate: int = MODEL_RATE, low_hz: float = 40.0) -> np.ndarray:
    return np.geomspace(low_hz, rate / 2, bands + 1)


def spectrogram(samples: np.ndarray, columns: int, bands: int, rate: int = MODEL_RATE,
                n_fft: int = 1024, floor_db: float = 80.0) -> np.ndarray:
    """A small log-frequency, log-magnitude spectrogram, `bands` x `columns`, in 0..1
    (1 = the loudest cell, 0 = `floor_db` below it or quieter). One Hann window per
    column, centred in its slice of the sound."""
    n = len(samples)
    padded = np.concatenate([np.zeros(n_fft // 2, np.float32), samples,
                             np.zeros(n_fft // 2 + 1, np.float32)])
    centres = ((np.arange(columns) + 0.5) * n / columns).astype(int)
    idx = centres[:, None] + np.arange(n_fft)[None, :]
    frames = padded[idx] * np.hanning(n_fft).astype(np.float32)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2  # columns x bins
    freqs = np.fft.rfftfreq(n_fft, 1.0 / rate)
    edges = band_edges(bands, rate)
    out = np.empty((bands, columns), np.float64)
    for b in range(bands):
        sel = (freqs >= edges[b]) & (freqs < edges[b + 1])
        if not sel.any():  # a band narrower than a bin: take the nearest bin
            sel = np.zeros_like(sel)
            sel[np.argmin(np.abs(freqs - np.sqrt(edges[b] * edges[b + 1])))] = True
        out[b] = power[:, sel].mean(axis=1)
    db = 10.0 * np.log10(out + 1e-12)
    top = db.max()
    return np.clip((db - (top - floor_db)) / floor_db, 0.0, 1.0)


def overview(store: Store, path: str, columns: int, bands: int,
             ctx: JobContext | None = None) -> dict[str, Any]:
    """Waveform envelope and spectrogram of a sound for the terminal, cached by hash."""
    import json

    p, digest = usable(store, path, ctx)
    cache = derivative_dir() / "overview" / f"{digest}-{columns}x{bands}.json"
    try:
        return {**json.loads(cache.read_text()), "path": str(p)}
    except (OSError, ValueError):
        pass
    samples = read_model_wav(derivative(p, digest))
    lo, hi = envelope(samples, columns)
    spec = spectrogram(samples, columns, bands)
    result = {
        "hash": digest, "rate": MODEL_RATE, "seconds": len(samples) / MODEL_RATE,
        "columns": columns, "min": np.round(lo, 4).tolist(), "max": np.round(hi, 4).tolist(),
        "peak": float(np.max(np.abs(samples))) if len(samples) else 0.0,
        "rms": float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if len(samples) else 0.0,
        "bands_hz": np.round(band_edges(bands), 1).tolist(),
        "spectrogram": np.round(spec, 3).tolist(),
    }
    atomic_write_text(cache, json.dumps(result))
    return {**result, "path": str(p)}


def audition_buffer(store: Store, path: str, ctx: JobContext | None = None) -> dict[str, Any]:
    """The 16 kHz float buffer of a sound, as the models hear it (written on demand)."""
    p, digest = usable(store, path, ctx)
    out = derivative(p, digest)
    frames = sf.info(str(out)).frames
    return {"path": str(p), "buffer_path": str(out), "rate": MODEL_RATE,
            "seconds": frames / MODEL_RATE, "hash": digest}


def audition_audio(store: Store, path: str, model_rate: bool = False,
                   ctx: JobContext | None = None) -> tuple[np.ndarray, int, dict[str, Any]]:
    """What an audition plays: the original file at its own rate (mixed to mono), or with
    `model_rate` the 16 kHz version the models hear. Also prepares that 16 kHz buffer.
    Returns `(samples, rate, audition_buffer's dict)`."""
    buffer = audition_buffer(store, path, ctx)
    if model_rate:
        return read_model_wav(Path(buffer["buffer_path"])), MODEL_RATE, buffer
    samples, rate = read_sound(Path(buffer["path"]))
    return samples, rate, buffer
