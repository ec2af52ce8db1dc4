"""*Master for…*: a delivery copy of a take at a target's loudness, with the picture copied untouched.

The recipe (reference/audio.md):

1. Measure with our own meter (`check_file`) and with ffmpeg's loudnorm (pass 1).
2. If a plain gain reaches the target without pushing the true peak over the
   ceiling, apply it with loudnorm in linear mode (pass 2) — measured values fed
   back, `measured_LRA` clamped to ≥ 0.01 so the filter does not silently fall
   back to dynamic mode, and its `normalization_type` checked.
3. Otherwise (or if the encoded result still peaks over the ceiling), apply
   the gain and a true-peak limiter: the signal is upsampled 4x so the limiter
   sees inter-sample peaks, limited, and brought back to 48 kHz.
4. Encode (AAC 48 kHz), decode the encoded audio and measure it again with our
   own meter; AAC can add overs, so nudge the gain or the limiter's ceiling and
   try again until the encoded file is within ±0.5 LU of the target with its
   true peak at or under the ceiling.
5. Mux the verified audio with the source's video stream copied bit for bit.

Clips with no audio, silent audio or less than 0.4 s of it are refused with the reason.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import ffmpeg
from pydantic import BaseModel, Field

from adapters.media import MediaError, open_input, probe_media, run_ffmpeg
from jobs.audio.check import MIN_MEASURABLE_S, check_file, num
from jobs.audio.report import SoundReport
from jobs.audio.targets import get_target

logger = logging.getLogger(__name__)
Stream = Any  # an ffmpeg-python stream (the library has no type hints)

HIT_LU = 0.5  # the promise: integrated within ±0.5 LU of the target
AIM_LU = 0.2  # what each attempt aims for, leaving room for AAC's own drift
AAC_MARGIN_DB = 0.5  # headroom left under the ceiling before encoding to AAC
TP_SAFETY_DB = 0.1  # aim this far under the ceiling so another meter's oversampler agrees too
MAX_ATTEMPTS = 5
LIMITER_RATE_HZ = 192000
OUT_RATE_HZ = 48000
PCM_SUFFIXES = {".wav": "pcm_s24le", ".flac": "flac"}


class MasteringRefused(ValueError):
    """The clip cannot be mastered; the message says why in plain words."""


class MasterResult(BaseModel):
    ok: bool  # the encoded output meets the target (re-measured, not taken from the filter)
    target: str
    method: Literal["linear", "limiter"]
    gain_db: float  # how much louder (or quieter) the master is than the source, measured
    limiter_ceiling_dbtp: float | None = None
    attempts: int
    out_path: str
    video_copied: bool
    notes: list[str] = Field(default_factory=list)
    before: SoundReport
    after: SoundReport

    @property
    def summary(self) -> str:
        b, a = self.before, self.after
        head = "Mastered" if self.ok else "Could not fully master"
        line = (f"{head} for {self.target}: {num(b.integrated_lufs or 0)} → {num(a.integrated_lufs or 0)} LUFS, "
                f"{num(b.true_peak_dbtp or 0)} → {num(a.true_peak_dbtp or 0)} dBTP")
        return line + (" — " + "; ".join(self.notes) if self.notes else "")


# -- ffmpeg's loudnorm -----------------------------------------------------------------------------
def _loudnorm_json(stderr: str) -> dict[str, str]:
    blocks = re.findall(r"\{[^{}]*\"input_i\"[^{}]*\}", stderr)
    if not blocks:
        raise MediaError("loudnorm printed no measurement")
    measured: dict[str, str] = json.loads(blocks[-1])
    return measured


def loudnorm_measure(src: Path, integrated: float, ceiling: float, lra: float = 11.0) -> dict[str, str]:
    """Pass 1: loudnorm's own measurement of the first audio stream."""
    measuring = open_input(src)["a:0"].filter("loudnorm", I=integrated, TP=ceiling, LRA=lra, print_format="json")
    return _loudnorm_json(run_ffmpeg(measuring.output("-", f="null"), timeout_s=900).stderr)


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _linear(audio: Stream, measured: dict[str, str], integrated: float, ceiling: float) -> Stream:
    """Pass 2 in linear mode; every measured value kept off loudnorm's defaults (which mean 'unknown')."""
    m_i = _clamp(float(measured["input_i"]), -99.0, -0.01)
    m_tp = _clamp(float(measured["input_tp"]), -98.99, 98.99)
    m_lra = _clamp(float(measured["input_lra"]), 0.01, 99.0)
    m_thresh = _clamp(float(measured["input_thresh"]), -98.99, -0.01)
    if m_thresh == -70.0:
        m_thresh = -69.99
    lra = _clamp(math.ceil(m_lra) + 1.0, 11.0, 50.0)  # never ask for a tighter range than the source has
    # No offset=: linear mode sets its own gain from the measurements.
    return audio.filter("loudnorm", I=f"{integrated:.2f}", TP=f"{ceiling:.2f}", LRA=f"{lra:.0f}",
                        measured_I=f"{m_i:.2f}", measured_TP=f"{m_tp:.2f}", measured_LRA=f"{m_lra:.2f}",
                        measured_thresh=f"{m_thresh:.2f}", linear="true", print_format="json"
                        ).filter("aresample", OUT_RATE_HZ)


def limited(audio: Stream, gain_db: float, limit_dbtp: float) -> Stream:
    """Gain, then a limiter that sees inter-sample peaks (run 4x oversampled), then back to 48 kHz."""
    level = _clamp(10 ** (limit_dbtp / 20), 0.0625, 1.0)
    return (audio.filter("aresample", LIMITER_RATE_HZ)
            .filter("volume", f"{gain_db:.3f}dB")
            .filter("alimiter", limit=f"{level:.5f}", attack=5, release=80, asc=0, level=0, latency=1)
            .filter("aresample", OUT_RATE_HZ))


# -- encoding --------------------------------------------------------------------------------------
def _audio_codec(out: Path, channels: int) -> dict[str, str | int]:
    codec = PCM_SUFFIXES.get(out.suffix.lower())
    if codec:
        return {"c:a": codec, "ar": OUT_RATE_HZ}
    # Generous: ffmpeg's AAC encoder adds overs (worst on a hard start) when starved of bits.
    return {"c:a": "aac", "b:a": f"{min(640, 160 * channels)}k", "ar": OUT_RATE_HZ}


def _render_audio(src: Path, shape: Callable[[Stream], Stream], work: Path, out: Path,
                  channels: int) -> tuple[Path, str]:
    """Encode the first audio stream, shaped by `shape`, to an audio-only file; return it and ffmpeg's log."""
    suffix = out.suffix.lower() if out.suffix.lower() in PCM_SUFFIXES else ".m4a"
    audio = work.with_suffix(suffix)
    graph = shape(open_input(src)["a:0"]).output(str(audio), **_audio_codec(out, channels))
    return audio, run_ffmpeg(graph, timeout_s=900).stderr


def _mux(src: Path, audio: Path, out: Path, has_video: bool) -> None:
    """The mastered audio with the source's picture copied bit for bit (and its metadata)."""
    streams = [open_input(audio)["a:0"]]
    options: dict[str, str] = {"c:a": "copy", "map_metadata": "0"}
    if has_video and out.suffix.lower() not in PCM_SUFFIXES:
        streams.insert(0, open_input(src)["v:0"])
        options["c:v"] = "copy"
    if out.suffix.lower() in {".mp4", ".m4a", ".mov", ".m4v"}:
        options["movflags"] = "+faststart"
    run_ffmpeg(ffmpeg.output(*streams, str(out), **options), timeout_s=900)


# -- the job ---------------------------------------------------------------------------------------
def refusal(before: SoundReport) -> str | None:
    """Why `before` cannot be mastered, or None."""
    if not before.has_audio:
        return "It has no audio track: there is nothing to master."
    if before.duration_s is not None and before.duration_s < MIN_MEASURABLE_S:
        return (f"Only {before.duration_s:.2f} s of audio: too short to measure loudness, so it cannot be "
                f"mastered (it takes {MIN_MEASURABLE_S} s).")
    if before.integrated_lufs is None or any(f.code == "silent" for f in before.findings):
        return "The audio is silent: there is nothing to bring up to a loudness target."
    return None




class _Attempt(BaseModel):
    method: Literal["linear", "limiter"]
    gain_db: float  # the loudness change it made
    applied_db: float  # the gain put in front of the limiter (equal to gain_db when linear)
    limit_dbtp: float | None
    integrated_lufs: float
    true_peak_dbtp: float

    def miss(self, goal: float) -> float:
        return abs(self.integrated_lufs - goal)


def _next_gain(history: list[tuple[float, float]], goal: float) -> float:
    """Secant step on gain -> measured loudness (a limiter makes the relation less than 1:1)."""
    gain, got = history[-1]
    slope = 1.0
    if len(history) >= 2 and abs(history[-1][0] - history[-2][0]) > 0.05:
        slope = _clamp((history[-1][1] - history[-2][1]) / (history[-1][0] - history[-2][0]), 0.15, 1.0)
    return gain + _clamp((goal - got) / slope, -20.0, 20.0)


class _Search(BaseModel):
    """What the attempts found: the attempt kept, where its audio is, and why a limiter was needed (reasons that
    matter only when a limiter attempt is the one kept)."""

    chosen: _Attempt
    audio: Path
    attempts: int
    limiter_reasons: list[str]


def master_file(src: Path, target: str, out: Path) -> MasterResult:
    """Make a delivery copy of `src` at `target`'s loudness; raise MasteringRefused when it cannot be done.

    `result.after` is measured by our own meter on the file written to `out`.
    """
    src, out = Path(src), Path(out)
    delivery = get_target(target)
    if src.resolve() == out.resolve():
        raise MasteringRefused("The output must be a new file, not the source.")
    before = check_file(src, delivery.key)
    reason = refusal(before)
    if reason:
        raise MasteringRefused(reason)
    info = probe_media(src)
    aac = out.suffix.lower() not in PCM_SUFFIXES
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dailies-master-") as tmp:
        search = _search(src, out, before, delivery.key, aac=aac, work_dir=Path(tmp))
        _mux(src, search.audio, out, info.has_video)
    after = check_file(out, delivery.key)
    assert after.integrated_lufs is not None and after.true_peak_dbtp is not None
    ok = abs(after.integrated_lufs - delivery.integrated_lufs) <= HIT_LU and \
        after.true_peak_dbtp <= delivery.true_peak_dbtp
    chosen = search.chosen
    return MasterResult(
        ok=ok, target=delivery.key, method=chosen.method, gain_db=round(chosen.gain_db, 2),
        limiter_ceiling_dbtp=round(chosen.limit_dbtp, 2) if chosen.limit_dbtp is not None else None,
        attempts=search.attempts, out_path=str(out), video_copied=info.has_video and aac,
        notes=_notes(search, before, after, aac=aac, has_video=info.has_video, ok=ok),
        before=before, after=after,
    )


def _search(src: Path, out: Path, before: SoundReport, target: str, *, aac: bool, work_dir: Path) -> _Search:
    """Render, encode and measure until an attempt lands on the target under the ceiling (at most MAX_ATTEMPTS):
    linear gain first when it fits under the ceiling, else (or when the encoded result peaks over) gain into a
    true-peak limiter, nudged by a secant step on gain → measured loudness."""
    assert before.integrated_lufs is not None and before.true_peak_dbtp is not None
    delivery = get_target(target)
    goal, ceiling = delivery.integrated_lufs, delivery.true_peak_dbtp
    channels = before.channels or 2
    margin = AAC_MARGIN_DB if aac else 0.1
    gain = goal - before.integrated_lufs
    reasons: list[str] = []
    method: Literal["linear", "limiter"] = "linear"
    if before.true_peak_dbtp + gain > ceiling - margin:
        method = "limiter"
        reasons.append(f"a plain {num(gain, signed=True)} dB gain would peak at "
                       f"{num(before.true_peak_dbtp + gain, signed=True)} dBTP, over the {num(ceiling, 0)} dBTP "
                       "ceiling, so a true-peak limiter caught the peaks")
    limit, aim = ceiling - margin, goal
    measured: dict[str, str] | None = None
    history: list[tuple[float, float]] = []
    best: _Attempt | None = None
    last: _Attempt | None = None
    work, kept = work_dir / "attempt", work_dir / "kept"
    attempts = 0
    while attempts < MAX_ATTEMPTS:
        attempts += 1
        if method == "linear":
            measured = measured or loudnorm_measure(src, goal, ceiling)
            shape = functools.partial(_linear, measured=measured, integrated=aim, ceiling=ceiling)
            audio, log = _render_audio(src, shape, work, out, channels)
            kind = _loudnorm_json(log).get("normalization_type")
            if kind != "linear":
                method = "limiter"
                reasons.append(f"loudnorm would not stay linear (it chose {kind}), so gain and a true-peak "
                               "limiter were used instead")
                continue
        else:
            shape = functools.partial(limited, gain_db=gain, limit_dbtp=limit)
            audio, _ = _render_audio(src, shape, work, out, channels)
        report = check_file(audio, delivery.key)
        if report.integrated_lufs is None or report.true_peak_dbtp is None:
            raise MediaError("the mastered audio could not be measured")
        change = report.integrated_lufs - before.integrated_lufs
        last = _Attempt(method=method, gain_db=change, applied_db=gain if method == "limiter" else change,
                        limit_dbtp=limit if method == "limiter" else None,
                        integrated_lufs=report.integrated_lufs, true_peak_dbtp=report.true_peak_dbtp)
        logger.debug("attempt %d: %s", attempts, last)
        over = last.true_peak_dbtp - (ceiling - TP_SAFETY_DB)
        if over <= 0 and last.miss(goal) <= HIT_LU and (best is None or last.miss(goal) < best.miss(goal)):
            best = last
            kept = audio.with_name("kept" + audio.suffix)
            shutil.copyfile(audio, kept)
        if over <= 0 and last.miss(goal) <= AIM_LU:
            break
        if method == "linear":
            if over > 0:
                method = "limiter"
                gain -= last.integrated_lufs - goal
                reasons.append(f"the encoded linear result peaked at {num(last.true_peak_dbtp, signed=True)} dBTP "
                               "(the AAC encoder adds overs), so a true-peak limiter was added")
            else:
                aim -= last.integrated_lufs - goal
            continue
        history.append((gain, last.integrated_lufs))
        gain = _next_gain(history, goal)
        if over > 0:
            limit -= over + 0.05
    if best is not None:
        return _Search(chosen=best, audio=kept, attempts=attempts, limiter_reasons=reasons)
    if last is not None:
        return _Search(chosen=last, audio=audio, attempts=attempts, limiter_reasons=reasons)
    raise MediaError("mastering produced no audio")


def _notes(search: _Search, before: SoundReport, after: SoundReport, *, aac: bool, has_video: bool,
           ok: bool) -> list[str]:
    """What was done to the sound, in the order a sound designer would ask."""
    chosen = search.chosen
    if chosen.method == "linear":
        notes = [f"linear gain {num(chosen.gain_db, signed=True)} dB (two-pass loudnorm), dynamics untouched"]
    else:
        notes = [f"gain {num(chosen.applied_db, signed=True)} dB into a true-peak limiter at "
                 f"{num(chosen.limit_dbtp or 0.0)} dBTP (4x oversampled)", *search.limiter_reasons]
    if before.clipped_runs:
        notes.append(f"the source was already clipped ({before.clipped_runs} runs): mastering cannot undo that")
    if aac:
        notes.append(f"audio re-encoded as AAC {OUT_RATE_HZ // 1000} kHz")
    if has_video and aac:
        notes.append("picture copied, not re-encoded")
    if not ok and after.integrated_lufs is not None and after.true_peak_dbtp is not None:
        notes.append(f"missed the target: {num(after.integrated_lufs)} LUFS, "
                     f"{num(after.true_peak_dbtp, signed=True)} dBTP after {search.attempts} attempts")
    return notes
