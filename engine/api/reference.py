"""The reference docs made from the declarations: docs/methods.md (every method and its
parameters) and the message table in docs/protocol.md. tests/test_contract.py fails when
the committed docs drift from the code; regenerate with

    python -m engine.api.reference --write
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import msgspec

from engine import protocol as P
from engine.api.base import DECLARED, describe_type, field_help

DOCS = Path(__file__).resolve().parents[2] / "docs"
BEGIN, END = "<!-- messages:begin (generated from engine/protocol.py) -->", "<!-- messages:end -->"


def methods_markdown() -> str:
    out = ["# Engine methods", "",
           "Generated from the declarations in `engine/api/` (`python -m engine.api.reference "
           "--write`); `magstation methods` prints the same, `--json` the JSON schemas. The "
           "engine refuses a request whose params do not match: unknown fields, wrong types, "
           "values out of range, NaN or infinities get `bad_request` naming the parameter.", ""]
    for name in sorted(n for n in DECLARED if not n.startswith("test.")):
        d = DECLARED[name]
        how = ("answered by the server" if d.server else "quick call (result at once)"
               if not d.job else "transfer job" if d.transfer else "light job" if d.light
               else "model job")
        extra = ", seeded" if d.seeded else ""
        out += [f"## `{name}`", "", f"{d.doc}", "", f"*{how}{extra}*", ""]
        fields = d.params.__struct_fields__
        if fields:
            out += ["| param | what |", "|---|---|"]
            out += [f"| `{f}` | {field_help(d.params, f).replace('|', '/')} |" for f in fields]
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def messages_markdown() -> str:
    out = [BEGIN, "", "| type | direction | fields |", "|---|---|---|"]
    client = {P.Hello, P.Request, P.Cancel}
    for cls in P.ALL_MESSAGES:
        info = msgspec.inspect.type_info(cls)
        tag = cls.__struct_config__.tag
        fields = ", ".join(f"`{f.name}`" + ("" if f.required else "?") + f": {describe_type(f.type)}"
                           for f in info.fields)
        way = "client → engine" if cls in client else "engine → client"
        out.append(f"| `{tag}` | {way} | {fields} |")
    out += ["", "`?` marks a field that may be left out.", "", END]
    return "\n".join(out)


def protocol_with_messages(text: str) -> str:
    """docs/protocol.md with its generated message table brought up to date."""
    if BEGIN not in text or END not in text:
        raise ValueError("docs/protocol.md lost its generated-message markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return head + messages_markdown() + tail


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--write", action="store_true", help="rewrite the docs in place")
    args = ap.parse_args(argv)
    from engine import methods
    methods.load_handlers()
    proto = DOCS / "protocol.md"
    wanted = {DOCS / "methods.md": methods_markdown(),
              proto: protocol_with_messages(proto.read_text())}
    stale = [p for p, text in wanted.items() if not p.exists() or p.read_text() != text]
    if args.write:
        for p in stale:
            p.write_text(wanted[p])
            print(f"wrote {p}")
        return 0
    for p in stale:
        print(f"{p} is out of date: python -m engine.api.reference --write", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
