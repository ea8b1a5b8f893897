"""Keys: bindings with ids, how keys are written for people, and the user's keymap file.

Every binding has an id, `<pane>.<name>` (or `app.<name>`), listed in docs/keys.md. A user
rebinds keys in `$MAGSTATION_HOME/keymap.toml`:

    "app.help" = "f2"         # an id written whole (before any [table])

    [drums]
    sample = "ctrl+s"         # the id drums.sample
    play = ["enter", "f5"]    # several keys

An entry that names no binding, or a key that is not one, is reported (naming the id and
the key) and ignored; the rest of the file still applies.
"""

from __future__ import annotations

import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from textual.binding import Binding
from textual.keys import Keys, _character_to_key, format_key, key_to_character

from engine import paths

MODIFIERS = {"ctrl", "shift", "alt", "meta", "super", "hyper"}
NAMED_KEYS = {k.value.rpartition("+")[2] for k in Keys} | {
    "space", "tab", "enter", "return", "escape", "backspace", "delete", "insert", "home", "end",
    "pageup", "pagedown", "up", "down", "left", "right", *(f"f{i}" for i in range(1, 25))}


def keys_binding(pane_id: str, key: str, action: str, description: str, name: str,
                 footer: str | bool = False) -> Binding:
    """A binding with the id `<pane_id>.<name>`. `footer`: the short label that puts it in
    the footer (True: the description); help and the palette show the description."""
    if isinstance(footer, str):
        return Binding(key, action, footer, show=True, id=f"{pane_id}.{name}", tooltip=description)
    return Binding(key, action, description, show=footer, id=f"{pane_id}.{name}")


def pane_bindings(pane_id: str, rows: list[tuple]) -> list[Binding]:
    """BINDINGS from rows of (key, action, description, name[, footer label])."""
    return [keys_binding(pane_id, *row) for row in rows]


def long_description(b: Binding) -> str:
    """What a binding does, in full (the footer may show a shorter label)."""
    return b.tooltip or b.description


def key_as_written(key: str) -> str:
    """One key as people write it: `[`, `.`, `{`, `ctrl+z`, `shift+left`, `pageup`."""
    mods, _, base = key.rpartition("+")
    if base in ("space", "enter", "escape", "tab", "backspace", "delete"):
        shown = base
    else:
        shown = format_key(base) if len(base) > 1 else base
        if len(shown) != 1 and key_to_character(base) is None:
            shown = base  # a named key (up, pageup, f1) reads best as its name
    return f"{mods}+{shown}" if mods else shown


def keys_as_written(keys: str) -> str:
    """A binding's key string (comma-separated) as people write it: `[`, `u, ctrl+z`."""
    return ", ".join(key_as_written(k.strip()) for k in keys.split(",") if k.strip())


def normal_key(key: str) -> str | None:
    """A key as Textual names it (`[` → `left_square_bracket`), or None if it is not a key."""
    key = key.strip()
    if not key:
        return None
    if len(key) == 1:
        return _character_to_key(key) if key.isprintable() else None
    *mods, base = key.split("+")
    if base == "" and key.endswith("++"):  # "ctrl++"
        base, mods = "+", mods[:-1]
    if any(m.lower() not in MODIFIERS for m in mods):
        return None
    if len(base) == 1:
        base = _character_to_key(base)
    elif base.lower() in NAMED_KEYS:
        base = base.lower()
    else:
        try:  # a character written by its name: left_square_bracket, full_stop
            unicodedata.lookup(base.replace("_", " ").upper())
        except KeyError:
            if key_to_character(base) is None:
                return None
    return "+".join([*(m.lower() for m in mods), base])


def keymap_path() -> Path:
    return paths.home() / "keymap.toml"


@dataclass
class Keymap:
    keys: dict[str, str] = field(default_factory=dict)  # binding id -> Textual key string
    problems: list[str] = field(default_factory=list)  # one line each, naming the id and key


def _flatten(table: dict, prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for name, value in table.items():
        full = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{full}."))
        else:
            flat[full] = value
    return flat


def load_keymap(known_ids: set[str], path: Path | None = None) -> Keymap:
    """The user's keymap, checked against the binding ids there are. Never raises: what
    cannot be used is in `problems`, and ignored."""
    path = path or keymap_path()
    km = Keymap()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return km
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        km.problems.append(f"{path} cannot be read ({e}); no key was changed. Fix or remove it.")
        return km
    for binding_id, value in _flatten(data).items():
        if binding_id not in known_ids:
            km.problems.append(f"{path}: `{binding_id}` is not a binding id; ignored "
                               "(the ids are listed in help, ?, and docs/keys.md)")
            continue
        written = [value] if isinstance(value, str) else value
        if not isinstance(written, list) or not written or \
                not all(isinstance(k, str) for k in written):
            km.problems.append(f"{path}: `{binding_id}` = {value!r}: give a key as a string, "
                               'or a list of them ("g" or ["g", "ctrl+g"]); ignored')
            continue
        keys: list[str] = []
        for k in written:
            for one in (k.split(",") if len(k) > 1 else [k]):
                normal = normal_key(one)
                if normal is None:
                    km.problems.append(f"{path}: `{binding_id}` = {one!r} is not a key "
                                       "(write it like a, A, [, ctrl+z, f5, space); ignored")
                else:
                    keys.append(normal)
        if keys:
            km.keys[binding_id] = ",".join(keys)
    return km


def keymap_clashes(keymap: dict[str, str], scopes: dict[str, list[Binding]],
                   everywhere: list[Binding]) -> list[str]:
    """What a keymap takes from other bindings: a key another binding of the same pane (or
    of the app) had, where that binding keeps its default. One line each, naming both."""
    def keys_of(b: Binding) -> set[str]:
        return {k.strip() for k in keymap.get(b.id or "", b.key).split(",")}

    notes: list[str] = []
    for scope, bindings in scopes.items():
        others = bindings + everywhere
        for b in bindings:
            if b.id not in keymap:
                continue
            for other in others:
                if other is b or other.id in keymap:
                    continue
                taken = keys_of(b) & {k.strip() for k in other.key.split(",")}
                if taken:
                    which = ", ".join(keys_as_written(k) for k in sorted(taken))
                    notes.append(f"keymap: `{b.id}` = {which} takes it from `{other.id}` in the "
                                 f"{scope} pane")
    for b in everywhere:  # a pane's own key wins over a key of the app's in that pane
        if b.id not in keymap:
            continue
        for scope, bindings in scopes.items():
            for other in bindings:
                taken = keys_of(b) & keys_of(other)
                if taken:
                    which = ", ".join(keys_as_written(k) for k in sorted(taken))
                    notes.append(f"keymap: `{b.id}` = {which} does not work in the {scope} pane, "
                                 f"where `{other.id}` has it")
    return notes


# -- docs/keys.md: the list of every binding is generated from the code ----------------
DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "keys.md"
BEGIN, END = "<!-- bindings: begin (python -m tui.keys --write) -->", "<!-- bindings: end -->"


def bindings_table() -> str:
    """Every binding, pane by pane: key as written, what it does, its id."""
    from tui.app import MagstationApp
    from tui.panes import PANES

    sections = [("Everywhere", [b for b in MagstationApp.BINDINGS if isinstance(b, Binding)])]
    sections += [(f"{p.TITLE} pane", list(p.BINDINGS)) for p in PANES]
    out: list[str] = []
    for title, bindings in sections:
        out += [f"### {title}", "", "| key | what | id |", "|---|---|---|"]
        for b in bindings:
            keys = keys_as_written(b.key).replace("|", "\\|")
            out.append(f"| `{keys}` | {long_description(b)} | `{b.id}` |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def doc_with_table(doc: str) -> str:
    head, _, rest = doc.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{bindings_table()}{END}{tail}"


if __name__ == "__main__":
    import sys

    current = DOC_PATH.read_text(encoding="utf-8")
    wanted = doc_with_table(current)
    if "--write" in sys.argv:
        DOC_PATH.write_text(wanted, encoding="utf-8")
    elif wanted != current:
        sys.exit(f"{DOC_PATH} is out of date: run python -m tui.keys --write")
