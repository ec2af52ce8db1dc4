"""ffmpeg location and a probe that needs no ffprobe (the bundled ffmpeg ships without one)."""

from __future__ import annotations

import os
import re
import subprocess
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    explicit = os.environ.get("IMAGEIO_FFMPEG_EXE")
    if explicit:
        return explicit
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


class MediaInfo(BaseModel):
    duration_s: float | None = None
    has_video: bool = False
    has_audio: bool = False
    video_codec: str | None = None
    pix_fmt: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    audio_codec: str | None = None
    sample_rate_hz: int | None = None
    channels: int | None = None
    channel_layout: str | None = None
    format_name: str | None = None


class MediaError(Exception):
    pass


_DURATION_RE = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
_INPUT_RE = re.compile(r"Input #0, ([^,]+(?:,[^,]+)*?), from")
_VIDEO_RE = re.compile(r"Stream #0:\d+(?:\[\w+\])?(?:\(\w+\))?: Video: (\w+)[^,]*, (\w+)[^,]*(?:\([^)]*\))?, (\d+)x(\d+)")
_FPS_RE = re.compile(r"(\d+(?:\.\d+)?) fps")
_AUDIO_RE = re.compile(r"Stream #0:\d+(?:\[\w+\])?(?:\(\w+\))?: Audio: (\w+)[^,]*, (\d+) Hz, ([^,]+),")
_CHANNEL_COUNT = {"mono": 1, "stereo": 2, "2.1": 3, "3.0": 3, "quad": 4, "4.0": 4, "5.0": 5, "5.1": 6,
                  "5.0(side)": 5, "5.1(side)": 6, "6.1": 7, "7.1": 8}


def probe_media(path: Path, *, timeout_s: float = 30.0) -> MediaInfo:
    """Read container and stream facts from ffmpeg's own description of the file."""
    if not Path(path).is_file():
        raise MediaError(f"{path} does not exist")
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
        capture_output=True, text=True, timeout=timeout_s, errors="replace",
    )
    text = result.stderr
    if "Invalid data found" in text or "Input #0" not in text:
        raise MediaError("ffmpeg cannot read this file as audio or video")
    info = MediaInfo()
    if m := _INPUT_RE.search(text):
        info.format_name = m.group(1)
    if m := _DURATION_RE.search(text):
        info.duration_s = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    for line in text.splitlines():
        if "Video:" in line and "Stream #0" in line and not info.has_video:
            if "attached pic" in line:
                continue
            info.has_video = True
            if m := _VIDEO_RE.search(line):
                info.video_codec, info.pix_fmt = m.group(1), m.group(2)
                info.width, info.height = int(m.group(3)), int(m.group(4))
            if m := _FPS_RE.search(line):
                info.fps = float(m.group(1))
        elif "Audio:" in line and "Stream #0" in line and not info.has_audio:
            info.has_audio = True
            if m := _AUDIO_RE.search(line):
                info.audio_codec, info.sample_rate_hz = m.group(1), int(m.group(2))
                layout = m.group(3).strip()
                info.channel_layout = layout
                if layout in _CHANNEL_COUNT:
                    info.channels = _CHANNEL_COUNT[layout]
                elif cm := re.match(r"(\d+) channels", layout):
                    info.channels = int(cm.group(1))
    return info


def run_ffmpeg(args: list[str], *, timeout_s: float = 300.0) -> subprocess.CompletedProcess[str]:
    """Run ffmpeg with `args`; raise MediaError with the tail of its log on failure."""
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", *args],
        capture_output=True, text=True, timeout=timeout_s, errors="replace",
    )
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        raise MediaError(f"ffmpeg failed: {tail}")
    return result
