"""Merge measure_spread.py outputs into tests/fixtures/<family>/spread.json.

usage: python tests/reference/write_spread_json.py magenta=M.json[,M2.json] native=N.json[,N2.json]
(later files override earlier ones quantity by quantity). Values are rounded to 3
significant digits; the goldens themselves are not touched.
"""
import json
import sys
from pathlib import Path

FIX = Path(__file__).resolve().parents[1] / "fixtures"
ABOUT = ("Max abs error against the committed goldens (GANSynth: relative to the golden's "
         "peak) under each kernel setting, one process per setting, on the dev machine (AMD "
         "EPYC Zen 5, 2 cores, AVX-512). 'magenta': Magenta's own graph reloaded from these "
         "fixtures (tests/reference/recompute_goldens.py); 'native': the native engine "
         "(tests/reference/measure_native.py). Made with tests/reference/measure_spread.py; "
         "the parity tolerances are stated multiples of these (docs/parity.md).")


def _dump(out: dict) -> str:
    """One line per quantity (small diffs when re-measured)."""
    lines = ["{", f' "about": {json.dumps(out["about"])},',
             f' "settings": {json.dumps(out["settings"])}']
    for side in ("magenta", "native"):
        if side in out:
            lines[-1] += ","
            lines.append(f' "{side}": {{')
            items = [f'  {json.dumps(k)}: {json.dumps(v)}' for k, v in out[side].items()]
            lines.append(",\n".join(items))
            lines.append(" }")
    return "\n".join(lines) + "\n}\n"


def main(args):
    sides = {}
    settings = None
    for a in args:
        side, files = a.split("=")
        vals = {}
        for f in files.split(","):
            d = json.loads(Path(f).read_text())
            settings = d["settings"]
            vals.update(d["values"])
        sides[side] = vals
    fams = sorted({k.split("/")[0] for v in sides.values() for k in v})
    for fam in fams:
        out = {"about": ABOUT, "settings": settings}
        for side, vals in sides.items():
            q = {k.split("/", 1)[1]: [float(f"{v[s]:.3g}") for s in settings]
                 for k, v in vals.items() if k.startswith(fam + "/")}
            if q:
                out[side] = q
        (FIX / fam / "spread.json").write_text(_dump(out))
        print(fam, {s: len(out.get(s, {})) for s in sides})


if __name__ == "__main__":
    main(sys.argv[1:])
