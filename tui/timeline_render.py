"""The timeline's render and export requests, built from its typed state: GANSynth
(gansynth.render, after timeline.save_midi when notes were added), the General MIDI
SoundFont (soundfont.render), and the export's file name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.markup import escape

from engine import api, paths
from engine.words import counted
from tui.pane_state import Keyframe, TimelineRender, TimelineState

RENDER_NAME = "timeline.wav"
PREVIEW_NAME = "timeline_soundfont.wav"


def short_path(p: str) -> str:
    try:
        return str(Path(p).relative_to(Path.cwd()))
    except ValueError:
        return p.replace(str(Path.home()), "~", 1)


def gansynth_params(st: TimelineState, midi: str | None = None) -> api.gansynth.Render:
    """gansynth.render's params: the chosen tracks with the keyframes' instruments;
    `midi` replaces the file (the edited copy, when notes were added)."""
    model: dict[str, Any] = ({"checkpoint": st.checkpoint} if st.checkpoint
                             else {"model": st.model})
    return api.gansynth.Render(
        midi=midi or st.midi or "", tracks=list(st.tracks), output=RENDER_NAME,
        keyframes=[api.gansynth.Keyframe(time=k.time, seed=k.seed) for k in st.keyframes],
        secs_per_instrument=st.secs_per_instrument, **model)


def preview_params(st: TimelineState, proposed: list[list[float]]) -> api.soundfont.Render:
    """soundfont.render's params: the chosen tracks, the accepted notes and `proposed`
    ([start, end, pitch, velocity, track] not yet accepted, heard before it is kept)."""
    add = [tuple(n) for n in st.added] + [tuple(n) for n in proposed]
    return api.soundfont.Render(midi=st.midi or "", tracks=list(st.tracks), add=add,
                                output=PREVIEW_NAME, soundfont=st.soundfont)


def save_params(st: TimelineState) -> api.timeline.SaveMidi:
    """timeline.save_midi's params: the file plus the accepted notes, written to the
    pane's working copy under MAGSTATION_HOME/timeline/ (replaced on every save)."""
    path = paths.home() / "timeline" / f"{Path(st.midi or 'timeline').stem}_edited.mid"
    return api.timeline.SaveMidi(midi=st.midi or "", add=[tuple(n) for n in st.added],
                                 path=str(path), overwrite=True)


def render_record(result: dict[str, Any], keyframes: list[Keyframe]) -> TimelineRender:
    """What the session keeps of a render's result."""
    return TimelineRender(
        path=result.get("path"), midi_path=result.get("midi_path"),
        duration=result.get("duration"), notes=result.get("notes"),
        notes_rendered=result.get("notes_rendered"), notes_cached=result.get("notes_cached"),
        warnings=result.get("warnings"), tracks=result.get("tracks"),
        renderer=result.get("renderer") or "gansynth", soundfont=result.get("soundfont"),
        keyframes=[Keyframe(time=k.time, seed=k.seed) for k in keyframes])


def export_name(st: TimelineState) -> str:
    stem = Path(st.midi).stem if st.midi else "timeline"
    render = st.render
    if render is not None and render.renderer == "soundfont":
        return f"{stem}_soundfont-{Path(render.soundfont or 'gm').stem}"
    model = Path(st.checkpoint).name if st.checkpoint else st.model
    return f"{stem}_gansynth-{model}"


def export_params(st: TimelineState, folder: str, overwrite: bool) -> api.timeline.Export:
    assert st.render is not None and st.render.path
    return api.timeline.Export(path=st.render.path, midi_path=st.render.midi_path,
                               folder=str(Path(folder).expanduser()), name=export_name(st),
                               overwrite=overwrite)


def rendered_text(result: dict[str, Any], fallback: str, keys: dict[str, str]) -> str:
    """What the status line says after a render; `fallback` is why GANSynth did not play
    (the SoundFont stood in); `keys` the play, export and renderer keys as written."""
    play, export = keys["play"], keys["export"]
    if result.get("renderer") == "soundfont":
        font = Path(result["soundfont"]).stem
        why = f"[yellow]{escape(fallback)}[/]\n" if fallback else ""
        return (f"{why}played {counted(result['notes'], 'note')} with the SoundFont "
                f"[b]{escape(font)}[/] (not GANSynth) · {result['duration']:.1f} s · "
                f"{play} plays, {export} exports, {keys['renderer']} switches the renderer")
    return (f"rendered {counted(result['notes'], 'note')} with GANSynth "
            f"({result['notes_rendered']} new, {result['notes_cached']} cached) · "
            f"{result['duration']:.1f} s · {play} plays, {export} exports")
