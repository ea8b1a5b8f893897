"""Command-line options made from a method's declared params (engine/api/), so the CLI and
the engine cannot disagree: every option's type, choices, default and help come from the
struct field. No TensorFlow here.

`add_options(parser, Params)` adds `--field-name` options; `params_from_args(Params, args)`
turns the parsed values back into the method's params (only what was given: the engine
fills in the declared defaults).
"""

from __future__ import annotations

import argparse
import json
from typing import Any, Iterable

from msgspec import inspect as mi

from engine.api.base import Params, field_help

_UNSET = object()


def _core(t: Any) -> tuple[Any, bool]:
    """(the type without metadata and null, whether null is allowed)."""
    nullable = False
    while True:
        if isinstance(t, mi.Metadata):
            t = t.type
        elif isinstance(t, mi.UnionType):
            rest = [u for u in t.types if not isinstance(u, mi.NoneType)]
            nullable = nullable or len(rest) < len(t.types)
            if len(rest) != 1:
                return t, nullable
            t = rest[0]
        else:
            return t, nullable


def _json_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f"not valid JSON: {e}") from None


def option_name(field: str) -> str:
    return "--" + field.replace("_", "-")


def add_options(parser: argparse.ArgumentParser, cls: type[Params],
                only: Iterable[str] | None = None, skip: Iterable[str] = (),
                short: dict[str, str] | None = None) -> None:
    """Add one option per field of `cls` (or those in `only`, less `skip`). Scalars take
    their type; bools are --x/--no-x; lists of scalars take several values; anything
    nested takes JSON."""
    wanted = set(only) if only is not None else None
    short = short or {}
    for f in mi.type_info(cls).fields:
        if f.name in skip or (wanted is not None and f.name not in wanted):
            continue
        names = [option_name(f.name)] + ([short[f.name]] if f.name in short else [])
        help_text = field_help(cls, f.name).replace("%", "%%")
        t, _ = _core(f.type)
        kw: dict[str, Any] = {"dest": f.name, "default": _UNSET, "help": help_text}
        if f.required:
            kw["required"] = True
        if isinstance(t, mi.BoolType):
            kw["action"] = argparse.BooleanOptionalAction
        elif isinstance(t, mi.IntType):
            kw.update(type=int, metavar="N")
        elif isinstance(t, mi.FloatType):
            kw.update(type=float, metavar="X")
        elif isinstance(t, mi.StrType):
            kw.update(type=str, metavar="TEXT")
        elif isinstance(t, mi.LiteralType):
            kw.update(choices=list(t.values))
        elif isinstance(t, mi.ListType) and isinstance(_core(t.item_type)[0],
                                                       (mi.IntType, mi.FloatType, mi.StrType, mi.LiteralType)):
            item, _ = _core(t.item_type)
            conv = {mi.IntType: int, mi.FloatType: float}.get(type(item), str)
            kw.update(type=conv, nargs="+", metavar="V")
        else:
            kw.update(type=_json_value, metavar="JSON")
        parser.add_argument(*names, **kw)


def params_from_args(cls: type[Params], args: argparse.Namespace,
                     extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The params given on the command line (plus `extra`), as the method takes them."""
    out: dict[str, Any] = {}
    for name in cls.__struct_fields__:
        v = getattr(args, name, _UNSET)
        if v is not _UNSET:
            out[name] = v
    out.update(extra or {})
    return out
