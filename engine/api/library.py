"""The sample library: scan, list, tag, folders, import, overview, audition."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from engine.api.base import Name, Params, Path_, declare

Tag = Annotated[str, Meta(min_length=1, max_length=100)]
Tags = Annotated[list[Tag], Meta(max_length=64, description="tags")]
Flag = bool


@declare("library.scan", cacheable=False, light=True)
class Scan(Params, kw_only=True):
    """Index the sound folders (shipped `sounds/`, your library, added folders) by content
    hash. Bad files are recorded with the reason, never stop the scan."""
    only: Annotated[list[Path_], Meta(max_length=256, description="scan only these folders")] | None = None
    rehash: Annotated[bool, Meta(description="re-read unchanged files too")] = False


@declare("library.list", job=False, cacheable=False)
class List(Params, kw_only=True):
    """Indexed sounds whose name or tags contain `text`, carrying `tag`, under `folder`.
    Also every tag and library folder."""
    text: Annotated[str, Meta(max_length=200, description="part of a name or tag")] = ""
    tag: Annotated[str, Meta(max_length=100, description="only sounds with this tag")] = ""
    folder: Annotated[str, Meta(max_length=4096, description="only sounds under this folder")] = ""
    limit: Annotated[int, Meta(ge=1, le=100_000, description="at most this many sounds")] = 5000


@declare("library.add_folder", job=False, cacheable=False)
class AddFolder(Params, kw_only=True):
    """Add a folder of your own sounds to the library; rescan to index it."""
    path: Path_


@declare("library.remove_folder", job=False, cacheable=False)
class RemoveFolder(Params, kw_only=True):
    """Stop scanning an added folder; its sounds leave the index, files stay."""
    path: Path_


@declare("library.tag", job=False, cacheable=False)
class Tag_(Params, kw_only=True):
    """Add and remove tags on the sound at `path`; returns its tags."""
    path: Path_
    add: Tags | Tag = []
    remove: Tags | Tag = []


@declare("library.import", cacheable=False, light=True)
class Import(Params, kw_only=True):
    """Copy a WAV, FLAC or MP3 file into your library folder, optionally as `name`. The
    original is not touched; a 16 kHz mono copy is kept for the models."""
    path: Path_
    name: Name | None = None


@declare("library.overview", cacheable=False, light=True)
class Overview(Params, kw_only=True):
    """Waveform envelope (`min`/`max` in `columns` slices) and a `bands` x `columns`
    log-magnitude spectrogram (0..1, low band first) of the sound at `path`."""
    path: Path_
    columns: Annotated[int, Meta(ge=8, le=1024, description="time slices")] = 120
    bands: Annotated[int, Meta(ge=4, le=64, description="spectrogram bands")] = 16


@declare("library.audition", cacheable=False, light=True)
class Audition(Params, kw_only=True):
    """Play the sound at `path`: the original file at its own rate, or with `model_rate`
    the 16 kHz version the models hear. Returns the player's status."""
    path: Path_
    model_rate: Annotated[bool, Meta(description="play the 16 kHz copy the models hear")] = False
    loop: Annotated[bool, Meta(description="loop until stopped")] = False
    layer: Annotated[bool, Meta(description="play over what is playing")] = False


@declare("library.add_batch", cacheable=False, light=True)
class AddBatch(Params, kw_only=True):
    """Put a batch's output folder in the library in one step: it joins your folders and
    every sound of its manifest is indexed and tagged with its set (`batch:NAME`) and, for
    NSynth grids, `grid:NAME`, `pitch:P`, `x:COLUMN`, `y:ROW`. Adding it again does not
    duplicate anything."""
    out: Annotated[str, Meta(min_length=1, max_length=4096,
                             description="the batch's output folder (holds manifest.json)")]
