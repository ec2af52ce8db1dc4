"""ffmpeg location, safe inputs, and a probe that needs no ffprobe (the bundled ffmpeg ships without one).

A file Dailies did not make (a provider's render, a mix uploaded into Slack) is hostile until proven
otherwise: ffmpeg's DASH, HLS and concat demuxers open whatever files or URLs a manifest names. So every
ffmpeg input is first identified from its own bytes (`sniff_container`), only real media containers are
accepted, and ffmpeg is run with that demuxer pinned and the `file` protocol only (`input_args`), so no
demuxer can be talked into opening another file or a URL.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeAlias

import ffmpeg
from pydantic import BaseModel

# ffmpeg-python ships no type information: its streams and nodes are typed as this.
FfmpegStream: TypeAlias = Any


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    explicit = os.environ.get("IMAGEIO_FFMPEG_EXE")
    if explicit:
        return explicit
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
)


def find_font() -> str | None:
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    for folder in (Path("/usr/share/fonts"), Path("/usr/local/share/fonts")):
        if folder.is_dir():
            for found in sorted(folder.rglob("*.ttf")):
                return str(found)
    return None


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


class NotMedia(MediaError):
    """The file is not an audio or video container Dailies accepts; the message names what it looks like
    ("an HLS playlist"), for a sentence such as "it is an HLS playlist, not a video"."""


SNIFF_BYTES = 64
# ISO base media (MP4, MOV, M4A) top-level boxes a file may start with.
_ISO_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot"}


def _after_id3(head: bytes, path: Path) -> bytes:
    """The bytes after an ID3v2 tag (MP3 and ADTS files may start with one)."""
    size = (head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | (head[9] & 0x7F)
    with open(path, "rb") as file:
        file.seek(10 + size)
        return file.read(4)


def _mpeg_audio(frame: bytes) -> str | None:
    if len(frame) < 2 or frame[0] != 0xFF or frame[1] & 0xE0 != 0xE0:
        return None
    layer = (frame[1] >> 1) & 0x03
    if layer == 0 and frame[1] & 0xF0 == 0xF0:
        return "aac"  # ADTS: MPEG-4/2 AAC, layer bits 00
    return "mp3" if layer in (1, 2, 3) else None


def _looks_like(head: bytes) -> str:
    """What a refused file seems to be, for the message."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"#extm3u"):
        return "an HLS playlist"
    if text.startswith(b"ffconcat") or text.startswith(b"file "):
        return "an ffmpeg concat script"
    if text.startswith(b"<?xml") or text.startswith(b"<mpd") or text.startswith(b"<"):
        return "an XML or HTML document (a DASH manifest?)"
    if head.startswith(b"\x89PNG") or head.startswith(b"\xff\xd8\xff") or head[8:12] == b"WEBP" \
            or head.startswith(b"GIF8"):
        return "an image"
    if text.startswith(b"{") or text.startswith(b"["):
        return "a JSON document"
    if text.startswith(b"webvtt") or text[:1].isdigit():
        return "a text or subtitle file"
    return "a file of an unknown kind"


def sniff_container(path: Path) -> str:
    """The ffmpeg demuxer for `path`, told from its first bytes; raise NotMedia for anything but MP4/MOV/M4A,
    Matroska/WebM, WAV, AIFF, FLAC, MP3, Ogg and AAC (ADTS)."""
    try:
        with open(path, "rb") as file:
            head = file.read(SNIFF_BYTES)
    except OSError as error:
        raise MediaError(f"the file cannot be read ({type(error).__name__})") from None
    if len(head) < 12:
        raise NotMedia("an empty or truncated file")
    if head[4:8] in _ISO_BOXES:
        return "mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    if head[:4] in (b"RIFF", b"RF64", b"BW64") and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"FORM") and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"OggS"):
        return "ogg"
    frame = _after_id3(head, path) if head.startswith(b"ID3") else head
    found = _mpeg_audio(frame)
    if found:
        return found
    raise NotMedia(_looks_like(head))


def _pinned_options(path: Path) -> dict[str, str]:
    """The demuxer its bytes say, the `file` protocol only, and MOV's external data references off."""
    container = sniff_container(path)
    options = {"f": container, "protocol_whitelist": "file"}
    if container == "mov":
        options["enable_drefs"] = "0"
    return options


def input_args(path: Path) -> list[str]:
    """ffmpeg arguments that open `path` as the container its bytes say, and nothing else."""
    pinned = [arg for key, value in _pinned_options(path).items() for arg in (f"-{key}", value)]
    return [*pinned, "-i", str(path)]


def movie_source(path: Path, stream: str = "a:0") -> str:
    """`path`'s `stream` as a filtergraph source (`amovie=…`, escaped for a filtergraph), opened as `input_args`
    opens it: the demuxer its bytes say, the `file` protocol only, MOV's external references off."""
    options = _pinned_options(path)
    demuxer = options.pop("f")
    format_options = ":".join(f"{key}={value}" for key, value in options.items())
    args = {"filename": str(path), "f": demuxer, "s": stream, "format_opts": format_options}
    # Two levels, as ffmpeg's "Quoting and escaping" says: each option's value, then the filtergraph.
    described = ":".join(f"{key}={_escaped(value, OPTION_SPECIALS)}" for key, value in args.items())
    return "amovie=" + _escaped(described, GRAPH_SPECIALS)


OPTION_SPECIALS = "\\'=:"
GRAPH_SPECIALS = "\\'[],;"


def _escaped(text: str, specials: str) -> str:
    return "".join("\\" + char if char in specials else char for char in text)


def open_input(path: Path, **options: Any) -> FfmpegStream:
    """`path` as an ffmpeg-python input node, opened as `input_args` opens it (`options` are more input options,
    such as `ss` to seek)."""
    return ffmpeg.input(str(path), **_pinned_options(path), **options)


IMAGE_DEMUXERS = {"png": "png_pipe", "jpeg": "jpeg_pipe", "webp": "webp_pipe"}
MAX_IMAGE_PIXELS = 60_000_000  # a decompression bomb (a tiny PNG claiming 100k × 100k) is refused by the decoder


def sniff_image(path: Path) -> str:
    """`png`, `jpeg` or `webp`, told from the file's own bytes; NotMedia for anything else (an animated WebP
    is refused when it is decoded)."""
    try:
        with open(path, "rb") as file:
            head = file.read(SNIFF_BYTES)
    except OSError as error:
        raise MediaError(f"the file cannot be read ({type(error).__name__})") from None
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if len(head) < 12:
        raise NotMedia("an empty or truncated file")
    if head.startswith(b"GIF8"):
        raise NotMedia("a GIF")
    looks = _looks_like(head)
    raise NotMedia("an image of a kind other than PNG, JPEG or WebP" if looks == "an image" else looks)


# Memory a decoded image may take: the decoder holds the whole picture (and the scaler a converted copy), so it
# is what bounds the work, not the file's size or its pixel count alone. 128 MiB admits an 8K RGBA still at 8 bits
# per channel; a 7700 × 7700 RGBA image at 16 bits (474 MB decoded, from a 461 KB PNG) is refused unread.
MAX_DECODED_IMAGE_BYTES = 128 * 1024 * 1024
# Bytes per pixel of the formats PNG, JPEG and WebP decode to (by ffmpeg's name; others count as 8, the most).
_BYTES_PER_PIXEL = {
    "gray": 1, "pal8": 4, "monob": 1, "gray16be": 2, "gray16le": 2, "ya8": 2, "ya16be": 4, "ya16le": 4,
    "rgb24": 3, "bgr24": 3, "rgba": 4, "bgra": 4, "argb": 4, "abgr": 4, "rgb48be": 6, "rgb48le": 6,
    "rgba64be": 8, "rgba64le": 8, "yuv420p": 1.5, "yuvj420p": 1.5, "yuv422p": 2, "yuvj422p": 2, "yuv440p": 2,
    "yuvj440p": 2, "yuv444p": 3, "yuvj444p": 3, "yuva420p": 2.5, "gbrp": 3, "gbrap": 4, "cmyk": 4,
}


class ImageTooLarge(MediaError):
    """An image whose decoded pixels would take more memory than a frame may; the message says how much."""


@dataclass
class ImageHeader:
    width_px: int
    height_px: int
    pix_fmt: str

    @property
    def decoded_bytes(self) -> int:
        return int(self.width_px * self.height_px * _BYTES_PER_PIXEL.get(self.pix_fmt, 8))


def image_header(path: Path, *, timeout_s: float = 30.0) -> ImageHeader:
    """Size and pixel format of a PNG, JPEG or WebP, as ffmpeg reads its header (demuxer pinned, nothing decoded)."""
    kind = sniff_image(path)
    result = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-f", IMAGE_DEMUXERS[kind],
                             "-protocol_whitelist", "file", "-i", str(path)],
                            capture_output=True, text=True, timeout=timeout_s, errors="replace")
    found = re.search(r"Video: \w+[^,]*, (\w+)[^,]*(?:\([^)]*\))?, (\d{1,6})x(\d{1,6})", result.stderr)
    if not found:
        raise MediaError("ffmpeg cannot read this file as an image")
    return ImageHeader(width_px=int(found.group(2)), height_px=int(found.group(3)), pix_fmt=found.group(1))


def image_size(path: Path, *, timeout_s: float = 30.0) -> tuple[int, int]:
    """(width, height) of a PNG, JPEG or WebP, as ffmpeg reads its header (its demuxer pinned, nothing decoded)."""
    header = image_header(path, timeout_s=timeout_s)
    return header.width_px, header.height_px


def prepare_frame(source: Path, dest: Path, width_px: int, height_px: int, *, timeout_s: float = 60.0) -> Path:
    """`source` (PNG, JPEG or WebP, its demuxer pinned) scaled to cover `width_px` × `height_px`, centre-cropped
    to exactly that, as a high-quality JPEG at `dest`: what an image-to-video model is given as a frame. An image
    whose decoded pixels would pass `MAX_DECODED_IMAGE_BYTES` is refused before anything decodes it."""
    kind = sniff_image(source)
    header = image_header(source)
    if header.decoded_bytes > MAX_DECODED_IMAGE_BYTES:
        raise ImageTooLarge(f"it is {header.width_px}×{header.height_px} in {header.pix_fmt}: "
                            f"{header.decoded_bytes / 1048576:.0f} MB once decoded, over the "
                            f"{MAX_DECODED_IMAGE_BYTES // 1048576} MB a frame may take")
    picture = (ffmpeg.input(str(source), f=IMAGE_DEMUXERS[kind], protocol_whitelist="file",
                            max_pixels=MAX_IMAGE_PIXELS).video
               .filter("scale", width_px, height_px, force_original_aspect_ratio="increase", flags="lanczos")
               .filter("crop", width_px, height_px)
               .filter("setsar", 1))
    dest.parent.mkdir(parents=True, exist_ok=True)
    run_ffmpeg(picture.output(str(dest), vframes=1, **{"q:v": 2, "pix_fmt": "yuvj444p"}), timeout_s=timeout_s)
    if not dest.is_file() or not dest.stat().st_size:
        raise MediaError("ffmpeg made no picture from the image")
    return dest


def command_line(graph: FfmpegStream) -> list[str]:
    """The whole command line (the bundled binary first) of an ffmpeg-python graph, non-interactive."""
    args = ffmpeg.compile(graph.global_args("-hide_banner", "-nostdin"), cmd=ffmpeg_exe(), overwrite_output=True)
    return [str(arg) for arg in args]


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
        [ffmpeg_exe(), "-hide_banner", "-nostdin", *input_args(path)],
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


def run_ffmpeg(args: list[str] | Any, *, timeout_s: float = 300.0) -> subprocess.CompletedProcess[str]:
    """Run ffmpeg with `args` (a list, or an ffmpeg-python graph); raise MediaError with the tail of its log
    on failure or timeout."""
    argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", *args] if isinstance(args, list) else command_line(args)
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, errors="replace")
    except subprocess.TimeoutExpired:
        raise MediaError(f"ffmpeg took longer than {timeout_s:.0f} s") from None
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        raise MediaError(f"ffmpeg failed: {tail}")
    return result


def not_clean(errors: list[str], detail: str = "") -> str:
    """The sentence for a file that did not decode cleanly, from ffmpeg's error lines (at least one)."""
    first = errors[0].split("] ", 1)[-1][:160]
    return f"it does not decode cleanly ({first}; {len(errors)} decode error(s){detail})"
