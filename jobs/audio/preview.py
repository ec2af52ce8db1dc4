"""Loudness-matched listening copies: every take in a thread heard at one level, so the louder one does not win.

People prefer the louder of two otherwise equal sounds. The copy posted for listening has its sound moved to one
listening level (the channel's delivery target by default) by a plain gain; where that gain would push the true
peak over the ceiling, a true-peak limiter (4x oversampled, as *Master for…*) catches the peaks. The picture is
copied, not re-encoded. The sound check, *Master for…*, tickets and export all use the native file.
"""

from __future__ import annotations

from pathlib import Path

import ffmpeg
from pydantic import BaseModel

from adapters.media import FfmpegStream, open_input, run_ffmpeg
from jobs.audio.decode import picture_decoded, raise_unless_clean
from jobs.audio.master import AAC_MARGIN_DB, OUT_RATE_HZ, limited

MATCHED_WITHIN_LU = 0.1  # a take this close to the level is heard as it is: no copy
MIN_LEVEL_LUFS = -40.0
MAX_LEVEL_LUFS = -5.0


class PreviewPlan(BaseModel):
    """How a take's sound is moved to the listening level."""

    level_lufs: float  # the listening level asked for
    native_lufs: float
    gain_db: float
    limit_dbtp: float | None  # a true-peak limiter at this ceiling, when the gain alone would peak over it

    @property
    def needed(self) -> bool:
        return abs(self.gain_db) >= MATCHED_WITHIN_LU


def plan_preview(native_lufs: float, native_peak_dbtp: float, level_lufs: float, ceiling_dbtp: float) -> PreviewPlan:
    """The gain to `level_lufs`, and a limiter at the ceiling (less the AAC encoder's margin) when the gained
    true peak would pass it."""
    gain = level_lufs - native_lufs
    limit = ceiling_dbtp - AAC_MARGIN_DB
    return PreviewPlan(level_lufs=level_lufs, native_lufs=native_lufs, gain_db=round(gain, 2),
                       limit_dbtp=limit if native_peak_dbtp + gain > limit else None)


def matched(audio: FfmpegStream, plan: PreviewPlan) -> FfmpegStream:
    """`audio` moved to the plan's level (limited when the plan says so), at 48 kHz."""
    if plan.limit_dbtp is None:
        return audio.filter("volume", f"{plan.gain_db:.3f}dB").filter("aresample", OUT_RATE_HZ)
    return limited(audio, plan.gain_db, plan.limit_dbtp)


def render_preview(src: Path, out: Path, plan: PreviewPlan, *, has_video: bool, channels: int,
                   verify_picture: bool = False) -> Path:
    """The listening copy: the picture copied, the sound gained (and limited) and encoded as AAC 48 kHz.

    With `verify_picture`, the same run also decodes every frame of the picture (on ffmpeg's other threads, while
    the sound is encoded) and raises UndecodableMedia if one does not decode; a run that fails for any other reason
    raises MediaError, the picture unproven.
    """
    source = open_input(src)
    audio = matched(source["a:0"], plan)
    streams = [source["v:0"], audio] if has_video else [audio]
    # The fast AAC coder: a third quicker than the default, and a listening copy needs no more (the native file
    # is what every check, master and handoff uses).
    options: dict[str, str | int] = {"c:a": "aac", "aac_coder": "fast", "b:a": f"{min(640, 128 * max(1, channels))}k",
                                     "ar": OUT_RATE_HZ, "map_metadata": "0", "movflags": "+faststart"}
    if has_video:
        options["c:v"] = "copy"
    out.parent.mkdir(parents=True, exist_ok=True)
    copy = ffmpeg.output(*streams, str(out), **options)
    if not (verify_picture and has_video):
        run_ffmpeg(copy, timeout_s=300)
        return out
    checked = ffmpeg.merge_outputs(copy, picture_decoded(source)).global_args("-v", "error")
    raise_unless_clean(run_ffmpeg(checked, timeout_s=300).stderr, 0)
    return out
