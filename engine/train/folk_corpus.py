"""Folk-tune MIDI files from music21's corpus, for the starter melody models.

    python -m engine.train.folk_corpus OUT_DIR [--collections oneills1850 ryansMammoth airdsAirs]

music21 (the `train` extra, not a runtime dependency) ships ABC tune books; this parses
them with music21 and writes one MIDI file per tune (OUT_DIR/COLLECTION/BOOK-NNNN.mid,
monophonic, 120 qpm, the tune's first time signature; grace notes dropped, ties merged,
repeats not expanded). Only collections whose terms allow redistribution are offered:

- oneills1850: Francis O'Neill, *The Music of Ireland* (1903), public domain; ABC
  transcriptions by Norbert Paap, John Chambers, Henrik Norbeck, Bob Safranek and others.
- ryansMammoth: *Ryan's Mammoth Collection* (Boston, 1883), public domain; ABC by
  Ray Davies and others.
- airdsAirs: James Aird, *A Selection of Scotch, English, Irish and Foreign Airs*
  (Glasgow, 1778-1803), public domain; ABC by Jack Campin (2009).

Not used: essenFolksong (its music21 licence allows only non-commercial distribution and
says its legal status is unclear).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REDISTRIBUTABLE = ("oneills1850", "ryansMammoth", "airdsAirs")
EXCLUDED = {"essenFolksong": "non-commercial distribution only; legal status unclear "
                             "(music21 corpus/essenFolksong/license.txt)"}
QPM = 120.0


def corpus_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("music21")
    if spec is None or spec.origin is None:
        raise SystemExit("music21 is not installed: pip install -e '.[train]'")
    return Path(spec.origin).parent / "corpus"


def tune_to_sequence(score):
    """A music21 score of one tune -> a monophonic NoteSequence (None if it has no notes)."""
    from engine.music.sequences import new_sequence

    flat = score.stripTies().flatten()
    ns = new_sequence(QPM)
    sigs = list(flat.getElementsByClass("TimeSignature"))
    if sigs:
        del ns.time_signatures[:]
        ns.time_signatures.add(time=0.0, numerator=sigs[0].numerator,
                               denominator=sigs[0].denominator)
    spq = 60.0 / QPM
    for n in flat.notes:
        dur = float(n.quarterLength)
        if dur <= 0 or n.duration.isGrace:
            continue
        pitch = max(p.midi for p in n.pitches)  # a chord (double stop): its top note
        start = float(n.offset) * spq
        ns.notes.add(pitch=pitch, velocity=100, start_time=start, end_time=start + dur * spq)
    if not ns.notes:
        return None
    ns.total_time = max(n.end_time for n in ns.notes)
    return ns


def export(out: Path, collections=REDISTRIBUTABLE, log=print) -> int:
    """Write every tune of `collections` as MIDI under `out`; returns the count."""
    import note_seq
    from music21 import converter

    for c in collections:
        if c not in REDISTRIBUTABLE:
            raise SystemExit(f"{c}: not a redistributable collection "
                             f"({EXCLUDED.get(c, 'unknown')}); choose from {REDISTRIBUTABLE}")
    count = 0
    for c in collections:
        for book in sorted((corpus_dir() / c).glob("*.abc")):
            try:
                opus = converter.parse(book, forceSource=True)
            except Exception as e:  # music21 raises many kinds on odd ABC
                log(f"{book.name}: skipped ({type(e).__name__})")
                continue
            scores = list(getattr(opus, "scores", [])) or [opus]
            dest = out / c
            dest.mkdir(parents=True, exist_ok=True)
            for i, score in enumerate(scores):
                try:
                    ns = tune_to_sequence(score)
                    if ns is None:
                        continue
                    note_seq.sequence_proto_to_midi_file(ns, str(dest / f"{book.stem}-{i:04d}.mid"))
                except Exception as e:  # noqa: BLE001 - one bad tune must not stop the book
                    log(f"{book.name} tune {i}: skipped ({type(e).__name__}: {e})")
                    continue
                count += 1
            log(f"{c}/{book.name}: {len(scores)} tunes")
    return count


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out", type=Path)
    p.add_argument("--collections", nargs="+", default=list(REDISTRIBUTABLE))
    a = p.parse_args(argv)
    n = export(a.out, a.collections, log=lambda m: print(m, file=sys.stderr))
    print(f"{n} tunes written to {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
