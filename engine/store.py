"""The SQLite store: the sample library index, user folders, generation history, and
(for the model features) renders and encodings keyed by content hash.

One database file, `paths.home()/"magstation.db"`, in WAL mode so the TUI's quick reads
and the worker's writes do not block each other. sqlite3 connections must stay on the
thread that opened them, so a `Store` keeps one connection per thread. The schema is
versioned with `PRAGMA user_version` and grows only by appending to `MIGRATIONS`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from engine import paths

DB_NAME = "magstation.db"

# Each entry moves the schema from version i to i + 1. Never edit a released entry:
# append a new one (ALTER TABLE / CREATE ...) instead.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE sounds (
        id       INTEGER PRIMARY KEY,
        path     TEXT NOT NULL UNIQUE,     -- absolute path of the file
        root     TEXT NOT NULL DEFAULT '', -- the library folder it was found under
        hash     TEXT,                     -- sha256 of the file's bytes (NULL if unreadable)
        duration REAL,                     -- seconds
        rate     INTEGER,
        channels INTEGER,
        frames   INTEGER,
        format   TEXT,                     -- WAV, FLAC, MP3, ...
        subtype  TEXT,                     -- PCM_16, FLOAT, MPEG_LAYER_III, ...
        size     INTEGER NOT NULL,         -- bytes, with mtime: "unchanged since last scan"
        mtime    REAL NOT NULL,
        tags     TEXT NOT NULL DEFAULT '[]',  -- JSON list of lower-case tags
        status   TEXT NOT NULL DEFAULT 'ok',  -- 'ok' or a short reason: empty, truncated, ...
        error    TEXT,                     -- the full message for a file that can't be used
        added    REAL NOT NULL,
        scanned  REAL NOT NULL
    );
    CREATE INDEX sounds_hash ON sounds(hash);
    CREATE INDEX sounds_root ON sounds(root);

    CREATE TABLE folders (
        path  TEXT PRIMARY KEY,            -- a user folder scanned with the shipped sounds
        added REAL NOT NULL
    );

    CREATE TABLE history (
        id      INTEGER PRIMARY KEY,
        method  TEXT NOT NULL,             -- e.g. drums.sample
        params  TEXT NOT NULL,             -- JSON, as the job ran them
        seed    INTEGER,
        model   TEXT,
        result  TEXT,                      -- JSON
        created REAL NOT NULL
    );
    CREATE INDEX history_created ON history(created);

    CREATE TABLE renders (
        key     TEXT PRIMARY KEY,          -- sha256 of (method, model, inputs, seed)
        method  TEXT NOT NULL,
        model   TEXT,
        params  TEXT NOT NULL,             -- JSON
        path    TEXT NOT NULL,             -- the rendered audio file
        rate    INTEGER,
        created REAL NOT NULL
    );

    CREATE TABLE encodings (
        hash    TEXT NOT NULL,             -- sha256 of the source sound's bytes
        model   TEXT NOT NULL,             -- e.g. nsynth-wavenet
        path    TEXT NOT NULL,             -- .npy file with the encoding
        shape   TEXT NOT NULL,             -- JSON list
        created REAL NOT NULL,
        PRIMARY KEY (hash, model)
    );
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)

SOUND_FIELDS = ("id", "path", "root", "hash", "duration", "rate", "channels", "frames", "format",
                "subtype", "size", "mtime", "tags", "status", "error", "added", "scanned")


class StoreError(RuntimeError):
    """The database is from a newer magstation, or unusable."""


@dataclass(frozen=True)
class Sound:
    id: int
    path: str
    root: str
    hash: str | None
    duration: float | None
    rate: int | None
    channels: int | None
    frames: int | None
    format: str | None
    subtype: str | None
    size: int
    mtime: float
    tags: list[str]
    status: str
    error: str | None
    added: float
    scanned: float

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return {**{f: getattr(self, f) for f in SOUND_FIELDS}, "name": self.name}

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "Sound":
        d = dict(row)
        d["tags"] = json.loads(d["tags"] or "[]")
        return cls(**d)


def _private_db_file(path: Path) -> None:
    """Create the database file 0600 before SQLite opens it (SQLite gives its -wal and
    -shm files the database file's mode), and tighten one an older run left open."""
    if not paths.is_private(path):
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0),
                 paths.PRIVATE_FILE_MODE)
    try:
        os.fchmod(fd, paths.PRIVATE_FILE_MODE)
    finally:
        os.close(fd)
    for extra in ("-wal", "-shm", "-journal"):
        try:
            os.chmod(f"{path}{extra}", paths.PRIVATE_FILE_MODE)
        except OSError:
            pass


BUSY_TIMEOUT_S = 10.0


def _use_wal(conn: sqlite3.Connection, path: Path) -> None:
    """Put the database in WAL mode. SQLite answers a journal-mode change that meets another
    connection's lock with "database is locked" at once, without waiting out the busy timeout
    (two threads or processes opening a fresh database together hit it), so wait here."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise StoreError(f"{path}: could not switch the database to WAL mode ({e}); "
                                 "another program holds it. Close it and try again.") from e
            time.sleep(0.01)


class Store:
    """The magstation database. Safe to share between threads: each thread gets its own
    connection the first time it touches the store."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or paths.home() / DB_NAME
        self._local = threading.local()
        self._migrated = False
        self._lock = threading.Lock()

    # -- connections --------------------------------------------------------------------
    @property
    def db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            paths.ensure_dir(self.path.parent)
            _private_db_file(self.path)
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            with self._lock:
                if not self._migrated:
                    # WAL is a property of the file: set once, every later connection has it
                    _use_wal(conn, self.path)
                    migrate(conn)
                    self._migrated = True
            self._local.conn = conn
        return conn

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _tx(self) -> "_Transaction":
        return _Transaction(self.db)

    # -- sounds -------------------------------------------------------------------------
    def sound(self, path: str | Path) -> Sound | None:
        row = self.db.execute("SELECT * FROM sounds WHERE path = ?", (str(path),)).fetchone()
        return Sound.from_row(row) if row else None

    def sounds_under(self, root: str | Path) -> list[Sound]:
        rows = self.db.execute("SELECT * FROM sounds WHERE root = ? ORDER BY path", (str(root),))
        return [Sound.from_row(r) for r in rows]

    def sound_by_hash(self, digest: str) -> Sound | None:
        row = self.db.execute("SELECT * FROM sounds WHERE hash = ? AND status = 'ok' "
                              "ORDER BY id LIMIT 1", (digest,)).fetchone()
        return Sound.from_row(row) if row else None

    def put_sound(self, *, path: str | Path, root: str | Path, size: int, mtime: float,
                  hash: str | None = None, duration: float | None = None, rate: int | None = None,
                  channels: int | None = None, frames: int | None = None,
                  format: str | None = None, subtype: str | None = None, status: str = "ok",
                  error: str | None = None) -> Sound:
        """Insert or update the row for `path`; its tags and `added` time are kept."""
        now = time.time()
        with self._tx() as db:
            db.execute(
                """INSERT INTO sounds (path, root, hash, duration, rate, channels, frames, format,
                                       subtype, size, mtime, status, error, added, scanned)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(path) DO UPDATE SET
                     root=excluded.root, hash=excluded.hash, duration=excluded.duration,
                     rate=excluded.rate, channels=excluded.channels, frames=excluded.frames,
                     format=excluded.format, subtype=excluded.subtype, size=excluded.size,
                     mtime=excluded.mtime, status=excluded.status, error=excluded.error,
                     scanned=excluded.scanned""",
                (str(path), str(root), hash, duration, rate, channels, frames, format, subtype,
                 size, mtime, status, error, now, now))
        found = self.sound(path)
        assert found is not None
        return found

    def remove_sounds(self, sound_paths: Iterable[str]) -> int:
        with self._tx() as db:
            return sum(db.execute("DELETE FROM sounds WHERE path = ?", (str(p),)).rowcount
                       for p in sound_paths)

    def list_sounds(self, text: str = "", tag: str = "", root: str = "",
                    limit: int | None = None) -> list[Sound]:
        """Sounds whose path or tags contain `text` (any case), carrying `tag`, under `root`."""
        where, args = [], []
        if text:
            # the path below its library folder, so a folder's own name does not match everything
            where.append("(lower(substr(path, length(root) + 1)) LIKE ? ESCAPE '\\' "
                         "OR lower(tags) LIKE ? ESCAPE '\\')")
            like = "%" + _escape_like(text.lower()) + "%"
            args += [like, like]
        if tag:
            where.append("EXISTS (SELECT 1 FROM json_each(sounds.tags) WHERE value = ?)")
            args.append(tag)
        if root:
            where.append("root = ?")
            args.append(str(root))
        sql = "SELECT * FROM sounds" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY root, path"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        return [Sound.from_row(r) for r in self.db.execute(sql, args)]

    def set_tags(self, path: str | Path, tags: list[str]) -> None:
        with self._tx() as db:
            db.execute("UPDATE sounds SET tags = ? WHERE path = ?",
                       (json.dumps(sorted(set(tags))), str(path)))

    def all_tags(self) -> list[str]:
        rows = self.db.execute("SELECT DISTINCT value FROM sounds, json_each(sounds.tags) ORDER BY value")
        return [r[0] for r in rows]

    # -- folders ------------------------------------------------------------------------
    def folders(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT path FROM folders ORDER BY added, path")]

    def add_folder(self, folder: str | Path) -> bool:
        """Remember a user folder; False when it was already known."""
        with self._tx() as db:
            cur = db.execute("INSERT OR IGNORE INTO folders (path, added) VALUES (?, ?)",
                             (str(folder), time.time()))
            return cur.rowcount == 1

    def remove_folder(self, folder: str | Path) -> bool:
        with self._tx() as db:
            db.execute("DELETE FROM sounds WHERE root = ?", (str(folder),))
            return db.execute("DELETE FROM folders WHERE path = ?", (str(folder),)).rowcount == 1

    # -- history ------------------------------------------------------------------------
    def add_history(self, method: str, params: dict[str, Any], result: dict[str, Any] | None = None,
                    seed: int | None = None, model: str | None = None) -> int:
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO history (method, params, seed, model, result, created) VALUES (?, ?, ?, ?, ?, ?)",
                (method, json.dumps(params, sort_keys=True), seed, model,
                 None if result is None else json.dumps(result), time.time()))
            return int(cur.lastrowid or 0)

    def history(self, limit: int = 100, method: str = "") -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM history", []
        if method:
            sql += " WHERE method = ?"
            args.append(method)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(int(limit))
        out = []
        for r in self.db.execute(sql, args):
            d = dict(r)
            d["params"] = json.loads(d["params"])
            d["result"] = json.loads(d["result"]) if d["result"] is not None else None
            out.append(d)
        return out

    # -- renders and encodings (keyed by content) -----------------------------------------
    def put_render(self, key: str, method: str, params: dict[str, Any], path: str | Path,
                   model: str | None = None, rate: int | None = None) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO renders (key, method, model, params, path, rate, created) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (key, method, model, json.dumps(params, sort_keys=True), str(path), rate,
                        time.time()))

    def render(self, key: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT * FROM renders WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        d = dict(row)
        d["params"] = json.loads(d["params"])
        return d

    def put_encoding(self, digest: str, model: str, path: str | Path, shape: list[int]) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO encodings (hash, model, path, shape, created) "
                       "VALUES (?, ?, ?, ?, ?)",
                       (digest, model, str(path), json.dumps(list(shape)), time.time()))

    def encoding(self, digest: str, model: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT * FROM encodings WHERE hash = ? AND model = ?",
                              (digest, model)).fetchone()
        if row is None:
            return None
        d = dict(row)
        d["shape"] = json.loads(d["shape"])
        return d


class _Transaction:
    """`with store._tx() as db:` runs the block in one IMMEDIATE transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to `SCHEMA_VERSION`, one migration per transaction. Two
    processes opening a fresh database at once are serialised by BEGIN IMMEDIATE."""
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"the database was written by a newer magstation (schema {version}, this one "
                    f"knows {SCHEMA_VERSION}); upgrade magstation or move the file aside")
            if version == SCHEMA_VERSION:
                conn.execute("COMMIT")
                return version
            for statement in _statements(MIGRATIONS[version]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def _statements(script: str) -> list[str]:
    """Split a migration into statements (executescript would commit our transaction)."""
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line.split("--", 1)[0] + "\n" if "--" in line else line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out


_STORES: dict[Path, Store] = {}
_STORES_LOCK = threading.Lock()


def get_store(path: Path | None = None) -> Store:
    """The process's Store for `path` (default: the one in `paths.home()`)."""
    path = (path or paths.home() / DB_NAME).resolve()
    with _STORES_LOCK:
        store = _STORES.get(path)
        if store is None:
            store = _STORES[path] = Store(path)
        return store
