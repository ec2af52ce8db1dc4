"""Broadcast WAV loudness metadata: the five figures of EBU Tech 3285 version 2 (EBU R 128 s1) in a `bext` chunk
that ffmpeg wrote as version 1, so a DAW or a loudness checker reads them without measuring the file again.

The chunk's layout: Description (256 bytes), Originator (32), OriginatorReference (32), OriginationDate (10),
OriginationTime (8), TimeReference (8), Version (2), UMID (64), then LoudnessValue, LoudnessRange,
MaxTruePeakLevel, MaxMomentaryLoudness and MaxShortTermLoudness as little-endian int16 in hundredths
(LUFS, LU, dBTP), 180 reserved bytes, then the coding history. 0x7FFF marks a figure that is not known.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

from pydantic import BaseModel

VERSION_OFFSET = 256 + 32 + 32 + 10 + 8 + 8
LOUDNESS_OFFSET = VERSION_OFFSET + 2 + 64
LOUDNESS_FIELDS = 5
UNKNOWN = 0x7FFF


class BextLoudness(BaseModel):
    integrated_lufs: float | None
    loudness_range_lu: float | None
    true_peak_dbtp: float | None
    max_momentary_lufs: float | None
    max_short_term_lufs: float | None


def _hundredths(value: float | None) -> int:
    if value is None or not math.isfinite(value):
        return UNKNOWN
    return max(-32768, min(32766, round(value * 100)))


def stamp_loudness(path: Path, loudness: BextLoudness) -> None:
    """Write the loudness figures into `path`'s `bext` chunk and mark it version 2; ValueError when the file has
    no `bext` chunk large enough to hold them."""
    with open(path, "r+b") as wav:
        head = wav.read(12)
        if head[:4] not in (b"RIFF", b"RF64", b"BW64") or head[8:12] != b"WAVE":
            raise ValueError(f"{path.name} is not a WAV file")
        while header := wav.read(8):
            if len(header) < 8:
                break
            kind, size = header[:4], struct.unpack("<I", header[4:])[0]
            start = wav.tell()
            if kind == b"bext":
                if size < LOUDNESS_OFFSET + 2 * LOUDNESS_FIELDS:
                    raise ValueError(f"{path.name}'s bext chunk is too short for loudness figures")
                wav.seek(start + VERSION_OFFSET)
                wav.write(struct.pack("<H", 2))
                wav.seek(start + LOUDNESS_OFFSET)
                wav.write(struct.pack("<5h", *(_hundredths(v) for v in (
                    loudness.integrated_lufs, loudness.loudness_range_lu, loudness.true_peak_dbtp,
                    loudness.max_momentary_lufs, loudness.max_short_term_lufs))))
                return
            wav.seek(start + size + (size & 1))  # chunks are padded to an even length
    raise ValueError(f"{path.name} has no bext chunk")
