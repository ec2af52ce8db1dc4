"""The pieces a compare and a reel are cut from, as ffmpeg-python streams: a take's picture fitted to a frame,
its sound matched to the listening level and cut to a length, a slate, and the one encoder settings."""

from __future__ import annotations

from pathlib import Path

import ffmpeg
from pydantic import BaseModel

from adapters.media import FfmpegStream, find_font
from jobs.audio.master import OUT_RATE_HZ
from jobs.audio.preview import PreviewPlan, matched

FPS = 25
BACKGROUND = "0x111111"
ENCODE: dict[str, str | int] = {"c:v": "libx264", "preset": "ultrafast", "crf": 26, "pix_fmt": "yuv420p", "r": FPS,
                                "c:a": "aac", "b:a": "192k", "ar": OUT_RATE_HZ, "ac": 2, "movflags": "+faststart"}


class Clip(BaseModel):
    """One take as a piece of a compare or a reel."""

    label: str
    path: Path
    duration_s: float
    plan: PreviewPlan | None  # None: no sound (silence is played)


def picture(source: FfmpegStream, width: int, height: int, length_s: float) -> FfmpegStream:
    """The take's picture letterboxed into width×height at FPS, held on its last frame up to `length_s`."""
    return (source["v:0"].filter("fps", FPS)
            .filter("scale", width, height, force_original_aspect_ratio="decrease")
            .filter("pad", width, height, "(ow-iw)/2", "(oh-ih)/2", color=BACKGROUND)
            .filter("setsar", 1)
            .filter("tpad", stop_mode="clone", stop_duration=f"{length_s:.3f}")
            .filter("trim", duration=f"{length_s:.3f}").filter("setpts", "PTS-STARTPTS"))


def sound(source: FfmpegStream | None, plan: PreviewPlan | None, length_s: float) -> FfmpegStream:
    """The take's sound at the listening level, stereo 48 kHz, padded with silence or cut to `length_s`."""
    if source is None or plan is None:
        return ffmpeg.input(f"anullsrc=r={OUT_RATE_HZ}:cl=stereo", f="lavfi", t=f"{length_s:.3f}").audio
    return (matched(source["a:0"], plan).filter("aformat", channel_layouts="stereo")
            .filter("apad").filter("atrim", duration=f"{length_s:.3f}").filter("asetpts", "PTS-STARTPTS"))


def caption(stream: FfmpegStream, text: str, work: Path, name: str, *, size: int, x: str, y: str,
            box: str | None = "black@0.55", enable: str | None = None) -> FfmpegStream:
    """`text` drawn on `stream` (read from a file, so nothing in it is ever taken for a filter option)."""
    font = find_font()
    if not font or not text:
        return stream
    path = work / f"{name}.txt"
    path.write_text(text, encoding="utf-8")
    options: dict[str, str | int] = {"textfile": str(path), "fontfile": font, "expansion": "none",
                                     "fontsize": size, "fontcolor": "white", "x": x, "y": y}
    if box:
        options.update(box=1, boxcolor=box, boxborderw=size // 3)
    if enable:
        options["enable"] = enable
    return stream.drawtext(**options)

