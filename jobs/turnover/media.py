"""The turnover's picture and sound, made with ffmpeg: the take behind a 2-second head with a sync pop.

The head is black and silent but for its first frame: a white flash and a 1 kHz tone at −20 dBFS, one frame
long, at the head's start (00:59:58:00) — the "2-pop" a picture editor and a sound editor line up by eye and ear.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ffmpeg

from adapters.media import MediaInfo, find_font, open_input, run_ffmpeg
from jobs.audio.measure import measure_file
from jobs.turnover.bwf import BextLoudness, stamp_loudness
from jobs.turnover.markers import HEAD_S, Timeline
from jobs.turnover.timecode import SAMPLE_RATE_HZ, samples_since_midnight

POP_HZ = 1000
POP_AMPLITUDE = 0.1  # −20 dBFS peak


def _rate(timeline: Timeline) -> str:
    exact = timeline.rate.exact
    return f"{exact.numerator}/{exact.denominator}"


def _head_audio(timeline: Timeline, channels: int) -> Any:
    one_frame = f"{timeline.rate.exact.denominator}/{timeline.rate.exact.numerator}"
    expression = f"if(lt(t\\,{one_frame})\\,{POP_AMPLITUDE}*sin(2*PI*{POP_HZ}*t)\\,0)"
    return ffmpeg.input(f"aevalsrc=exprs={'|'.join([expression] * channels)}:s={SAMPLE_RATE_HZ}:d={HEAD_S}",
                        f="lavfi").audio


def _take_audio(clip: Path, info: MediaInfo, channels: int, duration_s: float) -> Any:
    if info.has_audio:
        return (open_input(clip).audio.filter("aresample", SAMPLE_RATE_HZ)
                .filter("apad", whole_dur=duration_s).filter("atrim", duration=duration_s))
    layout = "stereo" if channels == 2 else "mono"
    return ffmpeg.input(f"anullsrc=r={SAMPLE_RATE_HZ}:cl={layout}:d={duration_s}", f="lavfi").audio


def picture_reference(clip: Path, out: Path, timeline: Timeline, info: MediaInfo, label: str) -> Path:
    """The take with its head, a burned-in timecode window and label, and the same timecode in the file's own
    timecode track (QuickTime `tmcd`), H.264 with 48 kHz / 24-bit PCM sound."""
    width, height = info.width or 1280, info.height or 720
    rate, duration_s = _rate(timeline), float(timeline.take_frames / timeline.rate.exact)
    channels = max(1, min(info.channels or 2, 2))
    head_video = (ffmpeg.input(f"color=c=black:s={width}x{height}:r={rate}:d={HEAD_S}", f="lavfi").video
                  .filter("drawbox", x=0, y=0, w="iw", h="ih", color="white", t="fill", enable="eq(n,0)"))
    take_video = (open_input(clip).video.filter("fps", rate).filter("scale", width, height).filter("setsar", 1)
                  .filter("trim", end_frame=timeline.take_frames))
    joined = ffmpeg.concat(head_video.filter("format", "yuv420p"), _head_audio(timeline, channels),
                           take_video.filter("format", "yuv420p"),
                           _take_audio(clip, info, channels, duration_s), v=1, a=1).node
    video, audio = joined[0], joined[1]
    font = find_font()
    text_size = max(18, height // 24)
    window = {"fontcolor": "white", "fontsize": text_size, "box": 1, "boxcolor": "black@0.65", "boxborderw": 6,
              **({"fontfile": font} if font else {})}
    start = timeline.tc(timeline.head_frame)
    video = (video.filter("drawtext", timecode=start, rate=rate, x="(w-tw)/2", y=f"h-th-{text_size}", **window)
             .filter("drawtext", text=label, x=text_size, y=text_size, **window))
    out.parent.mkdir(parents=True, exist_ok=True)
    run_ffmpeg(ffmpeg.output(video, audio, str(out), vcodec="libx264", pix_fmt="yuv420p", crf=20,
                             preset="veryfast", acodec="pcm_s24le", ar=SAMPLE_RATE_HZ, timecode=start,
                             movflags="+faststart", f="mov"), timeout_s=600)
    return out


def broadcast_wav(clip: Path, out: Path, timeline: Timeline, info: MediaInfo, description: str,
                  reference: str) -> Path:
    """The native audio behind the head as Broadcast WAV, 48 kHz / 24-bit, its `bext` TimeReference the head's
    first frame in samples since midnight and its loudness figures (bext version 2, measured on the file). The
    take's own sound is untouched (no gain, no limiting)."""
    channels = info.channels or 2
    duration_s = float(timeline.take_frames / timeline.rate.exact)
    joined = ffmpeg.concat(_head_audio(timeline, channels), _take_audio(clip, info, channels, duration_s),
                           v=0, a=1)
    now = datetime.now(UTC)
    metadata = {
        "description": description[:256], "originator": "Dailies", "originator_reference": reference[:32],
        "origination_date": now.strftime("%Y-%m-%d"), "origination_time": now.strftime("%H:%M:%S"),
        "time_reference": str(samples_since_midnight(timeline.head_frame, timeline.rate)),
        "coding_history": f"A=PCM,F={SAMPLE_RATE_HZ},W=24,T=Dailies",
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    run_ffmpeg(joined.output(str(out), acodec="pcm_s24le", ar=SAMPLE_RATE_HZ, write_bext=1, rf64="auto",
                             f="wav", **{f"metadata:g:{i}": f"{k}={v}" for i, (k, v) in enumerate(metadata.items())}),
               timeout_s=300)
    measured = measure_file(out)  # the file as delivered, head and pop included, as a loudness reader would
    stamp_loudness(out, BextLoudness(integrated_lufs=measured.integrated_lufs,
                                     loudness_range_lu=measured.loudness_range_lu,
                                     true_peak_dbtp=measured.true_peak_dbtp,
                                     max_momentary_lufs=measured.max_momentary_lufs,
                                     max_short_term_lufs=measured.max_short_term_lufs))
    return out
