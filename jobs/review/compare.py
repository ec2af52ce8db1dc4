"""An A/B compare as one clip: the takes' pictures side by side (a 2×2 grid for three or four), each labelled,
played once per take with that take's own sound, the take being heard framed; every sound at one loudness.

Two passes, so each take's picture is decoded and scaled once: the labelled grid for one turn, then that grid
played once per turn (`-stream_loop`) with the frame and the caption moving to the take being heard, over the
takes' sounds one after another.
"""

from __future__ import annotations

from pathlib import Path

import ffmpeg

from adapters.media import open_input, run_ffmpeg
from jobs.review.compose import BACKGROUND, ENCODE, FPS, Clip, caption, picture, sound

TILE_W, TILE_H = 640, 360
BORDER_PX = 8
PLAYING = "0xF2C94C"
LABEL_PX = 28
GRID_QUALITY: dict[str, str | int] = {"c:v": "libx264", "preset": "ultrafast", "crf": 16, "pix_fmt": "yuv420p",
                                      "r": FPS}


def grid(count: int) -> list[tuple[int, int]]:
    """Each tile's top-left corner: side by side for two, two by two for three or four."""
    if count == 2:
        return [(0, 0), (TILE_W, 0)]
    return [(0, 0), (TILE_W, 0), (0, TILE_H), (TILE_W, TILE_H)][:count]


def render_compare(clips: list[Clip], out: Path, work: Path) -> Path:
    turn_s = max(clip.duration_s for clip in clips)
    corners = grid(len(clips))
    tiles = []
    for index, clip in enumerate(clips):
        tile = picture(open_input(clip.path), TILE_W - 2 * BORDER_PX, TILE_H - 2 * BORDER_PX, turn_s)
        tile = caption(tile, clip.label, work, f"label-{index}", size=LABEL_PX, x="16", y="14")
        tiles.append(tile.filter("pad", TILE_W, TILE_H, BORDER_PX, BORDER_PX, color=BACKGROUND))
    layout = "|".join(f"{x}_{y}" for x, y in corners)
    base = work / "grid.mp4"
    run_ffmpeg(ffmpeg.filter(tiles, "xstack", inputs=len(tiles), layout=layout, fill=BACKGROUND)
               .output(str(base), **GRID_QUALITY).global_args("-filter_complex_threads", "2"), timeout_s=600)

    shown = open_input(base, stream_loop=len(clips) - 1)["v:0"].filter("trim", duration=f"{turn_s * len(clips):.3f}")
    for turn, (clip, (x, y)) in enumerate(zip(clips, corners, strict=True)):
        during = f"between(t,{turn * turn_s:.3f},{(turn + 1) * turn_s - 0.001:.3f})"
        shown = shown.filter("drawbox", x=x, y=y, w=TILE_W, h=TILE_H, color=PLAYING, t=BORDER_PX, enable=during)
        shown = caption(shown, f"now hearing {clip.label}", work, f"playing-{turn}", size=LABEL_PX,
                        x="(w-text_w)/2", y="h-text_h-24", enable=during)
    sounds = [sound(open_input(clip.path) if clip.plan else None, clip.plan, turn_s) for clip in clips]
    heard = ffmpeg.concat(*sounds, v=0, a=1, n=len(sounds))
    out.parent.mkdir(parents=True, exist_ok=True)
    run_ffmpeg(ffmpeg.output(shown, heard, str(out), **ENCODE), timeout_s=600)
    return out
