"""Pictures for the take card: a waveform PNG of the sound and a poster frame of the picture.

The waveform is drawn from the same streaming decode the sound check uses (`check_file(...,
waveform_png=…)` draws it in its one pass), so a take's audio is decoded once. Each column shows
the real min/max of the samples it covers, one lane per channel (L and R; surround shows its
front pair), and columns that reach full scale are drawn red so clipping is visible at a glance.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from adapters.media import MediaError, MediaInfo, probe_media
from jobs.audio.decode import decode_rate, stream_audio

WAVEFORM_SIZE = (1280, 240)
BACKGROUND = (0x1B, 0x1D, 0x23)  # dark, so the card reads the same in Slack's light and dark themes
LANE_COLOURS = ((0x4F, 0xC3, 0xF7), (0x81, 0xC7, 0x84))  # L blue, R green
CLIP_COLOUR = (0xEF, 0x53, 0x50)
AXIS_COLOUR = (0x3A, 0x3D, 0x45)
CLIP_LEVEL = 0.999


class Envelope:
    """Min/max of the samples in fine bins, fed chunk by chunk; `columns()` regroups them to the width."""

    def __init__(self, channels: int, expected_frames: int, width: int = WAVEFORM_SIZE[0]) -> None:
        self.lanes = min(2, channels)
        self.width = width
        self.bin = max(1, expected_frames // (4 * width))
        self.low: list[np.ndarray] = []
        self.high: list[np.ndarray] = []
        self.carry = np.zeros((self.lanes, 0), dtype=np.float32)

    def feed(self, chunk: np.ndarray) -> None:
        """`chunk` is float32 (channels, samples), as the sound check's decoder hands it out."""
        x = np.concatenate([self.carry, chunk[: self.lanes]], axis=1) if self.carry.size else chunk[: self.lanes]
        whole = (x.shape[1] // self.bin) * self.bin
        self.carry = x[:, whole:]
        if whole:
            bins = x[:, :whole].reshape(self.lanes, -1, self.bin)
            self.low.append(bins.min(axis=2))
            self.high.append(bins.max(axis=2))

    def columns(self) -> tuple[np.ndarray, np.ndarray]:
        """(low, high), each (lanes, width): the extremes under each pixel column."""
        if self.carry.size:
            self.low.append(self.carry.min(axis=1, keepdims=True))
            self.high.append(self.carry.max(axis=1, keepdims=True))
            self.carry = np.zeros((self.lanes, 0), dtype=np.float32)
        if not self.low:
            zeros = np.zeros((self.lanes, self.width), dtype=np.float32)
            return zeros, zeros
        low, high = np.concatenate(self.low, axis=1), np.concatenate(self.high, axis=1)
        count = low.shape[1]
        starts = np.minimum((np.arange(self.width) * count) // self.width, count - 1)
        return np.minimum.reduceat(low, starts, axis=1), np.maximum.reduceat(high, starts, axis=1)


def draw_png(envelope: Envelope, out_png: Path, *, height: int = WAVEFORM_SIZE[1]) -> Path:
    low, high = envelope.columns()
    lanes, width = low.shape
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:] = BACKGROUND
    lane_h = height // lanes
    rows = np.arange(lane_h)[:, None]
    for lane in range(lanes):
        top, middle, half = lane * lane_h, lane_h // 2, lane_h / 2 - 1
        view = image[top: top + lane_h]
        view[middle, :] = AXIS_COLOUR
        # +1.0 is the lane's top row, -1.0 its bottom; every column spans at least one pixel.
        y_top = np.clip(np.round(middle - np.clip(high[lane], -1, 1) * half), 0, lane_h - 1)
        y_bottom = np.maximum(np.clip(np.round(middle - np.clip(low[lane], -1, 1) * half), 0, lane_h - 1), y_top)
        mask = (rows >= y_top) & (rows <= y_bottom)
        clipped = np.maximum(np.abs(low[lane]), np.abs(high[lane])) >= CLIP_LEVEL
        view[mask & ~clipped] = LANE_COLOURS[lane % 2]
        view[mask & clipped] = CLIP_COLOUR
    out_png.parent.mkdir(parents=True, exist_ok=True)
    out_png.write_bytes(_png(image))
    return out_png


def _png(image: np.ndarray) -> bytes:
    height, width, _ = image.shape
    raw = np.concatenate([np.zeros((height, 1), dtype=np.uint8), image.reshape(height, width * 3)], axis=1)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw.tobytes(), 3))
            + chunk(b"IEND", b""))


def envelope_for(info: MediaInfo, rate: int, width: int = WAVEFORM_SIZE[0]) -> Envelope:
    expected = int((info.duration_s or 1.0) * rate)
    return Envelope(info.channels or 2, expected, width)


def render_waveform_png(audio_or_video_path: Path, out_png: Path, *, size: tuple[int, int] = WAVEFORM_SIZE) -> Path:
    """Draw the first audio stream as a waveform PNG.

    If `out_png` was already drawn from this file (by `check_file(..., waveform_png=out_png)`), it is reused.
    """
    source = Path(audio_or_video_path)
    if out_png.is_file() and out_png.stat().st_mtime >= source.stat().st_mtime:
        return out_png
    info = probe_media(source)
    if not info.has_audio:
        raise MediaError("the file has no audio track to draw")
    rate = decode_rate(info.sample_rate_hz)
    envelope = envelope_for(info, rate, size[0])
    stream_audio(source, info, envelope.feed, rate=rate, channels=info.channels or 2)
    return draw_png(envelope, out_png, height=size[1])
