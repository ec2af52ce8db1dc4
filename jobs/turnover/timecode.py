"""SMPTE timecode at a take's own frame rate: frames ↔ `HH:MM:SS:FF` (drop-frame `HH:MM:SS;FF` at 29.97).

No I/O here. The rate is kept exact (`Fraction`): 23.976 is 24000/1001, 29.97 is 30000/1001.
"""

from __future__ import annotations

from fractions import Fraction

from pydantic import BaseModel

SAMPLE_RATE_HZ = 48_000
KNOWN_RATES = {
    "23.976": Fraction(24000, 1001), "24": Fraction(24), "25": Fraction(25),
    "29.97": Fraction(30000, 1001), "30": Fraction(30),
}
FALLBACK = "24"
_TOLERANCE = 0.01


class FrameRate(BaseModel):
    name: str  # "23.976", "24", "25", "29.97", "30"
    read_from_file: bool = True  # False: the file's rate could not be read and 24 is assumed

    @property
    def exact(self) -> Fraction:
        return KNOWN_RATES[self.name]

    @property
    def nominal(self) -> int:
        """Frames counted per timecode second (24 for 23.976, 30 for 29.97)."""
        return round(self.exact)

    @property
    def drop_frame(self) -> bool:
        return self.name == "29.97"

    @property
    def fps(self) -> float:
        return float(self.exact)


def frame_rate_of(fps: float | None) -> FrameRate:
    """The known rate a file's `fps` is, or 24 (marked as assumed) when it is missing or none of them."""
    if fps:
        for name, exact in KNOWN_RATES.items():
            if abs(float(exact) - fps) < _TOLERANCE:
                return FrameRate(name=name)
    return FrameRate(name=FALLBACK, read_from_file=False)


def to_timecode(frame: int, rate: FrameRate) -> str:
    """Frame number (counted from midnight) as timecode; drop-frame skips labels 00 and 01 of each minute but
    every tenth, so timecode keeps to the clock."""
    nominal = rate.nominal
    if rate.drop_frame:
        dropped = 2
        per_ten_minutes = nominal * 600 - dropped * 9
        per_minute = nominal * 60 - dropped
        tens, rest = divmod(frame, per_ten_minutes)
        extra = dropped * 9 * tens + (dropped * ((rest - dropped) // per_minute) if rest > dropped else 0)
        frame += extra
    frames = frame % nominal
    seconds = frame // nominal % 60
    minutes = frame // (nominal * 60) % 60
    hours = frame // (nominal * 3600) % 24
    separator = ";" if rate.drop_frame else ":"
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{frames:02d}"


def to_frame(timecode: str, rate: FrameRate) -> int:
    """Timecode as a frame number from midnight (the inverse of `to_timecode`)."""
    hours, minutes, seconds, frames = (int(part) for part in timecode.replace(";", ":").split(":"))
    nominal = rate.nominal
    total = ((hours * 60 + minutes) * 60 + seconds) * nominal + frames
    if rate.drop_frame:
        all_minutes = hours * 60 + minutes
        total -= 2 * (all_minutes - all_minutes // 10)
    return total


def seconds_of(frames: int, rate: FrameRate) -> Fraction:
    return Fraction(frames) / rate.exact


def samples_since_midnight(frame: int, rate: FrameRate, sample_rate_hz: int = SAMPLE_RATE_HZ) -> int:
    """A Broadcast WAV's `TimeReference` for a picture frame: samples from midnight to it, at the picture's rate."""
    return round(seconds_of(frame, rate) * sample_rate_hz)
