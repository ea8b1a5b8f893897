"""The one declaration per method (engine/api/) and what is derived from it: the handler
registry, validation messages, `magstation methods`, the CLI's options and the docs."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from engine import api, methods
from engine.api import reference
from engine.api.base import field_help
from engine.cli import build_parser
from engine.errors import BadRequest
from engine.local import run_method
from tests.conftest import ROOT


def test_every_declared_method_has_a_handler_and_every_handler_a_declaration():
    reg = methods.load_handlers()
    declared = {n for n, d in api.DECLARED.items() if not d.server}
    assert declared == set(reg)
    assert all(reg[n].decl is api.DECLARED[n] for n in reg)


def test_every_parameter_has_help():
    for name, decl in api.DECLARED.items():
        assert decl.doc, f"{name} has no description"
        for field in decl.params.__struct_fields__:
            assert field_help(decl.params, field), f"{name}.{field} has no help"


@pytest.mark.parametrize("seed,why", [("abc", "got `str`"), (-1, ">= 0"), (1e300, "got `float`"),
                                      (True, "got `bool`"), (2**40, "<= 4294967295")])
def test_bad_seeds_are_refused_naming_the_parameter_and_range(seed, why):
    with pytest.raises(BadRequest) as e:
        run_method("drums.sample", {"seed": seed})
    assert e.value.details["param"] == "seed"
    assert why in e.value.message and "0 to 4294967295" in e.value.message


def test_unknown_fields_non_finite_values_and_oversized_lists_are_refused():
    with pytest.raises(BadRequest, match="unknown parameter `temprature`.*temperature"):
        run_method("drums.sample", {"temprature": 1.0})
    with pytest.raises(BadRequest, match="`temperature` is not a finite number"):
        run_method("drums.sample", {"temperature": float("nan")})
    with pytest.raises(BadRequest, match="seeds.*length <= 256"):
        run_method("gansynth.random_z", {"seeds": list(range(100_000))})
    with pytest.raises(BadRequest, match="name"):
        run_method("drums.export", {"patterns": [{"velocities": [[0] * 32] * 9}],
                                    "folder": "/tmp", "name": "../elsewhere/x"})


def test_defaults_are_filled_in_from_the_declaration():
    p = api.validate(api.DECLARED["drums.sample"], {})
    assert (p.n, p.temperature, p.qpm, p.seed) == (1, 1.0, 120.0, None)


def _all_parsers(parser: argparse.ArgumentParser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _all_parsers(sub)


def test_every_cli_option_has_help():
    missing = [f"{p.prog} {'/'.join(a.option_strings) or a.dest}"
               for p in _all_parsers(build_parser()) for a in p._actions
               if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))
               and not a.help]
    assert not missing, missing


def test_cli_options_are_made_from_the_declaration():
    """`magstation call` has a command per method whose options are its params, and the
    drum commands take their model options from the same structs."""
    parser = build_parser()
    call = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["call"]
    methods_sub = next(a for a in call._actions if isinstance(a, argparse._SubParsersAction))
    for name, decl in api.DECLARED.items():
        if decl.server or name.startswith("test."):
            continue
        opts = {a.dest for a in methods_sub.choices[name]._actions} - {"help"}
        assert opts == set(decl.params.__struct_fields__), name
    args = parser.parse_args(["drums", "sample", "-n", "3", "--temperature", "0.7", "--seed", "5"])
    assert (args.n, args.temperature, args.seed) == (3, 0.7, 5)


def _magstation(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "import sys; from engine.cli import main; "
                           "sys.exit(main())", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_cli_call_reports_the_engines_own_range_message():
    out = _magstation("call", "gansynth.random_z", "--latent-size", "9999")
    assert out.returncode == 2
    assert "latent_size" in out.stderr and "1 to 4096" in out.stderr
    out = _magstation("call", "gansynth.random_z", "--seeds", "1", "2", "--latent-size", "4")
    assert out.returncode == 0 and json.loads(out.stdout)["seeds"] == [1, 2]


def test_methods_listing_prints_every_parameter_and_json_schema():
    out = _magstation("methods", "drums.interpolate")
    assert out.returncode == 0
    assert "steps" in out.stdout and "from 2 to 16" in out.stdout
    schema = json.loads(_magstation("methods", "drums.interpolate", "--json").stdout)
    assert set(schema["drums.interpolate"]["params"]["$defs"]["Interpolate"]["properties"]) >= {"a", "b", "steps"}


def test_docs_match_the_declarations():
    """docs/methods.md and the message table in docs/protocol.md are generated from the
    code; this fails when someone changes one without the other."""
    methods.load_handlers()
    assert (ROOT / "docs" / "methods.md").read_text() == reference.methods_markdown()
    proto = (ROOT / "docs" / "protocol.md").read_text()
    assert proto == reference.protocol_with_messages(proto)


def test_the_tui_builds_typed_params_without_heavy_imports():
    code = ("import sys; import engine.api, engine.client, engine.protocol; "
            "from engine.api import drums; p = drums.Sample(n=2, seed=3); "
            "bad = {m.split('.')[0] for m in sys.modules} & {'tensorflow', 'numpy', 'note_seq'}; "
            "assert not bad, bad; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr
