"""The SQLite store: schema versions, sounds, folders, history, renders, encodings, threads."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from engine import store as store_mod
from engine.store import SCHEMA_VERSION, Store, StoreError, get_store


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "magstation.db")
    yield s
    s.close()


def add(store: Store, path: str, root: str = "/r", **kw):
    return store.put_sound(path=path, root=root, size=kw.pop("size", 10), mtime=kw.pop("mtime", 1.0), **kw)


def test_a_new_database_is_at_the_latest_schema_in_wal_mode(store):
    assert store.version() == SCHEMA_VERSION >= 1
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"sounds", "folders", "history", "renders", "encodings"} <= tables


def test_the_default_store_lives_in_magstation_home(mag_home):
    s = get_store()
    assert s.path == (mag_home / "magstation.db").resolve()
    assert get_store() is s
    s.db  # opening creates it
    assert (mag_home / "magstation.db").exists()


def test_a_later_migration_is_applied_once_and_keeps_the_data(tmp_path, monkeypatch):
    path = tmp_path / "m.db"
    s = Store(path)
    add(s, "/r/a.wav", hash="h1")
    s.close()
    monkeypatch.setattr(store_mod, "MIGRATIONS",
                        [*store_mod.MIGRATIONS, "ALTER TABLE sounds ADD COLUMN rating INTEGER DEFAULT 3;"])
    monkeypatch.setattr(store_mod, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    again = Store(path)
    assert again.version() == SCHEMA_VERSION + 1
    row = again.db.execute("SELECT hash, rating FROM sounds").fetchone()
    assert tuple(row) == ("h1", 3)
    again.close()
    Store(path).version()  # opening an up-to-date database changes nothing


def test_a_database_from_a_newer_magstation_is_refused_with_a_clear_error(tmp_path):
    path = tmp_path / "new.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(StoreError, match="newer magstation"):
        Store(path).db


def test_put_sound_updates_in_place_and_keeps_tags_and_added_time(store):
    first = add(store, "/r/kick.wav", hash="aaa", duration=1.0)
    store.set_tags("/r/kick.wav", ["drum", "kick", "drum"])
    second = add(store, "/r/kick.wav", hash="bbb", duration=2.0, size=20)
    assert second.id == first.id and second.added == first.added
    assert second.hash == "bbb" and second.duration == 2.0 and second.size == 20
    assert second.tags == ["drum", "kick"]
    assert store.sound_by_hash("bbb").path == "/r/kick.wav"
    assert store.sound_by_hash("aaa") is None


def test_list_filters_by_text_tag_and_folder(store):
    add(store, "/r/Kick_01.wav")
    add(store, "/r/snare.wav")
    add(store, "/other/kick%.wav", root="/other")
    bad = add(store, "/r/broken.wav", status="empty", error="the file is empty")
    store.set_tags("/r/snare.wav", ["acoustic", "snare"])
    names = lambda rows: [r.name for r in rows]  # noqa: E731
    assert names(store.list_sounds(text="kick")) == ["kick%.wav", "Kick_01.wav"]
    assert names(store.list_sounds(text="%")) == ["kick%.wav"]  # LIKE wildcards are literal
    assert names(store.list_sounds(text="_0")) == ["Kick_01.wav"]
    assert names(store.list_sounds(text="acou")) == ["snare.wav"]  # tags match text too
    assert names(store.list_sounds(tag="snare")) == ["snare.wav"]
    assert names(store.list_sounds(tag="snar")) == []  # a tag matches whole
    assert names(store.list_sounds(root="/other")) == ["kick%.wav"]
    assert names(store.list_sounds(text="r")) == ["broken.wav", "snare.wav"]  # not the folder "/r"
    assert not bad.ok and bad.error == "the file is empty"
    assert store.all_tags() == ["acoustic", "snare"]
    assert len(store.list_sounds(limit=2)) == 2


def test_folders_are_remembered_and_removing_one_drops_its_sounds(store):
    assert store.add_folder("/music/samples")
    assert not store.add_folder("/music/samples")
    add(store, "/music/samples/a.wav", root="/music/samples")
    assert store.folders() == ["/music/samples"]
    assert store.remove_folder("/music/samples")
    assert store.folders() == [] and store.sound("/music/samples/a.wav") is None
    assert store.remove_sounds([]) == 0


def test_history_renders_and_encodings_round_trip(store):
    hid = store.add_history("drums.sample", {"temperature": 1.0, "seed": 7}, {"patterns": [[1]]},
                            seed=7, model="cat-drums_2bar_small.lokl")
    store.add_history("melody.sample", {"seed": 8}, seed=8)
    h = store.history()
    assert [e["method"] for e in h] == ["melody.sample", "drums.sample"]
    assert h[1]["id"] == hid and h[1]["params"]["temperature"] == 1.0 and h[1]["result"] == {"patterns": [[1]]}
    assert [e["seed"] for e in store.history(method="drums.sample")] == [7]
    store.put_render("k1", "gansynth.render", {"midi": "x"}, "/c/k1.wav", model="acoustic_only", rate=16000)
    assert store.render("k1")["params"] == {"midi": "x"} and store.render("nope") is None
    store.put_encoding("abc", "nsynth-wavenet", "/c/abc.npy", [1, 125, 16])
    assert store.encoding("abc", "nsynth-wavenet")["shape"] == [1, 125, 16]
    assert store.encoding("abc", "other") is None


def test_a_failed_transaction_leaves_nothing_behind(store):
    add(store, "/r/a.wav")
    with pytest.raises(sqlite3.IntegrityError):
        with store._tx() as db:
            db.execute("DELETE FROM sounds")
            db.execute("INSERT INTO folders (path, added) VALUES (NULL, NULL)")
    assert store.sound("/r/a.wav") is not None


def test_threads_share_a_store_each_with_its_own_connection(store):
    conns, errors = [], []

    def writer(n: int) -> None:
        try:
            conns.append(store.db)  # kept alive, so never confused with another
            for i in range(40):
                add(store, f"/r/t{n}-{i}.wav")
                store.list_sounds(text=f"t{n}")
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len({id(c) for c in conns}) == 4 and all(c is not store.db for c in conns)
    assert len(store.list_sounds()) == 160


def test_threads_first_touching_a_fresh_database_together_all_get_in(tmp_path):
    """The CI failure of stop 26: the engine's quick-call thread and its worker opened a new
    magstation.db at once, and SQLite refused one thread's switch to WAL mode with
    "database is locked" without waiting (a journal-mode change ignores the busy timeout)."""
    errors: list[BaseException] = []
    for trial in range(60):
        s = Store(tmp_path / f"t{trial}" / "magstation.db")
        start = threading.Barrier(4)

        def touch(i: int, s: Store = s, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                if i % 2:
                    s.add_folder(f"/music/{i}")
                else:
                    s.list_sounds()
            except BaseException as e:  # noqa: BLE001 - collected and asserted below
                errors.append(e)

        threads = [threading.Thread(target=touch, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(s.folders()) == ["/music/1", "/music/3"]
        assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert not errors, errors[:3]
