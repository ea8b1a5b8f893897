"""How an engine method is declared: its parameters as one typed struct, plus how it runs.

Every method is declared once (the modules of engine/api/). From that declaration:
the server validates requests before anything is queued (`validate`), `magstation
methods` prints the schema, the CLI builds its options (engine/cli_options.py), the docs
list the methods (docs/methods.md), and the TUI builds typed params. This package
imports only msgspec: the TUI and the CLI import it without TensorFlow or numpy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Callable, TypeVar

import msgspec
from msgspec import Meta

from engine.errors import BadRequest
from engine.finite import all_finite, first_non_finite

# Shared field types. Bounds on every number: NaN and infinities fail them, and a
# hostile size cannot reach a job.
SEED_MAX = 2**32 - 1
Seed = Annotated[int, Meta(ge=0, le=SEED_MAX,
                           description="same seed and inputs, same output (default: drawn and reported)")]
Temperature = Annotated[float, Meta(ge=0.0, le=2.0, description="randomness of the sampling (0: most likely)")]
Qpm = Annotated[float, Meta(ge=20.0, le=400.0, description="tempo in quarter notes per minute")]
Path_ = Annotated[str, Meta(min_length=1, max_length=4096, description="a file path")]
# A file name inside the folder the user chose: no separators, NUL, "." or "..".
Name = Annotated[str, Meta(min_length=1, max_length=255, pattern=r"^(?!\.{1,2}$)[^/\\\x00]+$",
                           description="a plain file name (no folders)")]
Label = Annotated[str, Meta(max_length=200, description="what the player shows")]
Seconds = Annotated[float, Meta(ge=0.0, le=86_400.0, description="seconds")]
SampleRate = Annotated[int, Meta(ge=8000, le=96000, description="sample rate of the file written, Hz")]
WavFormat = Annotated[str, Meta(pattern="^(PCM_16|PCM_24|FLOAT)$", description="WAV sample format: PCM_16, PCM_24 or FLOAT")]
MAX_LIST = 4096  # the longest list any parameter takes (notes to add, seeds, sounds...)


class Params(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Base of every method's parameters: unknown fields are refused, not ignored."""


class ModelChoice(Params, kw_only=True):
    """Which checkpoint a model job uses."""
    model: Annotated[str, Meta(min_length=1, max_length=200,
                               description="an installed checkpoint name (`magstation models list`)")] | None = None
    checkpoint: Annotated[str, Meta(min_length=1, max_length=4096,
                                    description="a checkpoint path instead of model")] | None = None
    config: Annotated[str, Meta(min_length=1, max_length=200,
                                description="the config of checkpoint, e.g. cat-drums_2bar_small")] | None = None


P = TypeVar("P", bound=Params)


@dataclass(frozen=True)
class Declaration:
    """One engine method: name, parameter struct and how the engine runs it."""
    name: str
    params: type[Params]
    doc: str
    job: bool = True  # False: answered with a result at once (no `accepted`), off the event loop
    cacheable: bool = True  # results keyed by (name, params) are reused
    seeded: bool = False  # stochastic: a seed is drawn and recorded when none is given
    light: bool = False  # file work without models: the light worker, never behind a render
    server: bool = False  # answered by the server itself (ping, status, subscribe...)
    transfer: bool = False  # long downloads/copies: a worker of their own, behind neither queue

    @property
    def summary(self) -> str:
        return self.doc.strip().splitlines()[0] if self.doc.strip() else ""


DECLARED: dict[str, Declaration] = {}
_BY_CLASS: dict[type, str] = {}


def declare(name: str, *, job: bool = True, cacheable: bool = True, seeded: bool = False,
            light: bool = False, server: bool = False,
            transfer: bool = False) -> Callable[[type[P]], type[P]]:
    """Class decorator: the struct below is the parameters of method `name`; its
    docstring is the method's help."""
    def register(cls: type[P]) -> type[P]:
        if seeded and "seed" not in cls.__struct_fields__:
            raise TypeError(f"{name} is seeded but {cls.__name__} has no seed field")
        DECLARED[name] = Declaration(name, cls, _clean_doc(cls.__doc__), job, cacheable, seeded,
                                     light, server, transfer)
        _BY_CLASS[cls] = name
        return cls
    return register


def method_of(params: Params) -> str:
    """The method name whose parameters this struct is."""
    try:
        return _BY_CLASS[type(params)]
    except KeyError:
        raise TypeError(f"{type(params).__name__} is not a declared method's params") from None


def _clean_doc(doc: str | None) -> str:
    lines = (doc or "").strip().splitlines()
    return "\n".join(line.strip() for line in lines)


# -- validation -------------------------------------------------------------------------

_AT = re.compile(r" - at `\$(.*)`$")


def validate(decl: Declaration, raw: Any) -> Params:
    """The request's params as the typed struct, or BadRequest naming the parameter, the
    value given and what is allowed."""
    if raw is None:
        raw = {}
    if isinstance(raw, decl.params):
        raw = msgspec.to_builtins(raw)
    if not isinstance(raw, dict):
        raise BadRequest(f"{decl.name}: params must be a JSON object, got {_short(raw)}")
    bad = None if all_finite(raw) else first_non_finite(raw)
    if bad is not None:
        where = bad[0] or "a value"
        raise BadRequest(f"{decl.name}: `{where}` is not a finite number; NaN and infinities "
                         f"are not allowed", param=where)
    try:
        return msgspec.convert(raw, decl.params, strict=True)
    except msgspec.ValidationError as e:
        raise _explain(decl, raw, str(e)) from None
    except RecursionError:
        raise BadRequest(f"{decl.name}: params are nested too deeply") from None


def _explain(decl: Declaration, raw: dict, text: str) -> BadRequest:
    m = _AT.search(text)
    where = m.group(1).lstrip(".") if m else ""
    problem = _AT.sub("", text)
    unknown = re.match(r"Object contains unknown field `(.*)`", problem)
    if unknown:
        allowed = ", ".join(decl.params.__struct_fields__) or "none"
        return BadRequest(f"{decl.name}: unknown parameter `{unknown.group(1)}`; it takes {allowed}",
                          param=unknown.group(1))
    missing = re.match(r"Object missing required field `(.*)`", problem)
    if missing:
        field = (where + "." if where else "") + missing.group(1)
        return BadRequest(f"{decl.name}: `{field}` is required ({describe_field(decl.params, field)})",
                          param=field)
    value = _lookup(raw, where)
    field, allowed = _describe_path(decl.params, where)
    if "matching regex" in problem:  # a pattern says nothing to a user; its description does
        problem = "not in the allowed form"
    msg = (f"{decl.name}: `{where or 'params'}` = {_short(value)} is not allowed "
           f"({problem[0].lower()}{problem[1:]})")
    if allowed:
        msg += f"; `{field}` must be {allowed}"
    return BadRequest(msg, param=where or None)


def _describe_path(cls: type[Params], where: str) -> tuple[str, str]:
    """(the innermost named field on the path, what it must be, with its description)."""
    I = msgspec.inspect
    t: Any = msgspec.inspect.type_info(cls)
    name, found = "", None
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", where):
        if part.startswith("["):
            t = _unwrap(t)
            t = getattr(t, "item_type", t)
            continue
        t = _unwrap(t)
        if not isinstance(t, I.StructType):
            break
        f = next((f for f in t.fields if f.name == part), None)
        if f is None:
            break
        name, found, t = (f"{name}.{part}" if name else part), f.type, f.type
    if found is None:
        return "", ""
    desc = _description(found)
    return name, describe_type(found) + (f" ({desc})" if desc else "")


def _unwrap(t: Any) -> Any:
    """A type without metadata and without null (the first other member of a union)."""
    I = msgspec.inspect
    while True:
        if isinstance(t, I.Metadata):
            t = t.type
        elif isinstance(t, I.UnionType):
            rest = [u for u in t.types if not isinstance(u, I.NoneType)]
            t = rest[0] if rest else t.types[0]
            if len(rest) != 1:
                return t
        else:
            return t


def _lookup(raw: Any, where: str) -> Any:
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", where):
        try:
            raw = raw[int(part[1:-1])] if part.startswith("[") else raw[part]
        except (KeyError, IndexError, TypeError, ValueError):
            return None
    return raw


def _short(v: Any, limit: int = 60) -> str:
    text = repr(v)
    return text if len(text) <= limit else text[:limit - 3] + "..."


# -- describing a parameter (help text, error messages, docs) --------------------------

def describe_field(cls: type[Params], name: str) -> str:
    for f in msgspec.inspect.type_info(cls).fields:
        if f.name == name:
            return describe_type(f.type)
    return "a known parameter"


def field_help(cls: type[Params], name: str) -> str:
    """The one-line help of a field: its description, what it takes and its default."""
    for f in msgspec.inspect.type_info(cls).fields:
        if f.name == name:
            desc = _description(f.type)
            default = "" if f.required else (
                "" if f.default in (None, msgspec.NODEFAULT) else f"; default {f.default!r}")
            if f.default_factory is not msgspec.NODEFAULT:
                default = ""
            req = "required; " if f.required else ""
            return f"{desc + ': ' if desc else ''}{req}{describe_type(f.type)}{default}"
    raise KeyError(name)


def _description(t: Any) -> str:
    if isinstance(t, msgspec.inspect.Metadata):
        return (t.extra_json_schema or {}).get("description", "") or _description(t.type)
    if isinstance(t, msgspec.inspect.UnionType):
        for u in t.types:
            d = _description(u)
            if d:
                return d
    return ""


def describe_type(t: Any) -> str:
    I = msgspec.inspect
    if isinstance(t, I.Metadata):
        return describe_type(t.type)
    if isinstance(t, I.UnionType):
        parts = [describe_type(u) for u in t.types if not isinstance(u, I.NoneType)]
        return " or ".join(parts) + (" (or null)" if any(isinstance(u, I.NoneType) for u in t.types) else "")
    if isinstance(t, I.BoolType):
        return "true or false"
    if isinstance(t, I.IntType):
        return "a whole number" + _range(t.ge, t.le, t.gt, t.lt)
    if isinstance(t, I.FloatType):
        return "a number" + _range(t.ge, t.le, t.gt, t.lt)
    if isinstance(t, I.StrType):
        if t.pattern and t.pattern.startswith("^(") and t.pattern.endswith(")$"):
            return "one of " + ", ".join(t.pattern[2:-2].split("|"))
        return "text" + (f" of at most {t.max_length} characters" if t.max_length else "")
    if isinstance(t, I.LiteralType):
        return "one of " + ", ".join(repr(v) for v in t.values)
    if isinstance(t, (I.ListType, I.TupleType, I.VarTupleType)):
        item = describe_type(t.item_type) if hasattr(t, "item_type") else "values"
        n = f"at most {t.max_length} " if getattr(t, "max_length", None) else ""
        if getattr(t, "min_length", None) and t.min_length == t.max_length:
            n = f"exactly {t.max_length} "
        return f"a list of {n}({item})"
    if isinstance(t, I.DictType):
        return "an object"
    if isinstance(t, I.StructType):
        return f"an object ({', '.join(f.name for f in t.fields)})"
    if isinstance(t, I.AnyType):
        return "any value"
    return type(t).__name__


def _range(ge: Any, le: Any, gt: Any, lt: Any) -> str:
    lo = f"{ge}" if ge is not None else (f"above {gt}" if gt is not None else None)
    hi = f"{le}" if le is not None else (f"below {lt}" if lt is not None else None)
    if lo is not None and hi is not None:
        return f" from {lo} to {hi}"
    if lo is not None:
        return f" >= {lo}" if ge is not None else f" {lo}"
    if hi is not None:
        return f" <= {hi}" if le is not None else f" {hi}"
    return ""


def method_of_class(cls: type[Params]) -> str:
    """The method name whose parameters `cls` declares."""
    return _BY_CLASS[cls]
