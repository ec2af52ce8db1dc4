"""Measure a take's sound: decode with ffmpeg to float32, measure with pyloudnorm and numpy.

This module holds the measurements the pipeline relies on; findings and the
full check grow here (see `check_file`).
"""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import numpy as np
import pyloudnorm
from scipy.signal import resample_poly

from adapters.media import MediaError, ffmpeg_exe, probe_media
from jobs.models import SoundFinding, SoundReport
from jobs.targets import get_target

SAMPLE_RATE_HZ = 48000


def decode_audio(path: Path, *, sample_rate_hz: int = SAMPLE_RATE_HZ, channels: int | None = None) -> np.ndarray:
    """Decode the first audio stream to float32 (samples, channels), never via 16-bit so overs stay visible."""
    info = probe_media(path)
    if not info.has_audio:
        raise MediaError("the file has no audio track")
    count = channels or info.channels or 2
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0",
         "-f", "f32le", "-acodec", "pcm_f32le", "-ar", str(sample_rate_hz), "-ac", str(count), "-"],
        capture_output=True, timeout=600,
    )
    if result.returncode != 0:
        raise MediaError("ffmpeg could not decode the audio: " + result.stderr.decode(errors="replace")[-300:])
    samples = np.frombuffer(result.stdout, dtype=np.float32)
    return samples.reshape(-1, count)


def integrated_lufs(samples: np.ndarray, sample_rate_hz: int = SAMPLE_RATE_HZ) -> float:
    meter = pyloudnorm.Meter(sample_rate_hz, filter_class="K-weighting", block_size=0.400)
    value = float(meter.integrated_loudness(samples.astype(np.float64)))
    return value


def true_peak_dbtp(samples: np.ndarray) -> float:
    oversampled = resample_poly(samples.astype(np.float64), 4, 1, axis=0)
    peak = float(np.max(np.abs(oversampled))) if oversampled.size else 0.0
    return 20 * math.log10(peak) if peak > 0 else float("-inf")


def duration_s(samples: np.ndarray, sample_rate_hz: int = SAMPLE_RATE_HZ) -> float:
    return samples.shape[0] / sample_rate_hz


def _finite(value: float) -> float | None:
    return round(value, 2) if math.isfinite(value) else None


def check_file(path: Path, target: str = "social", *, expect_audio: bool = True) -> SoundReport:
    """Measure `path` against a delivery target and return findings with a verdict."""
    delivery = get_target(target)
    info = probe_media(path)
    if not info.has_audio:
        if not expect_audio:
            return SoundReport(has_audio=False, target=delivery.key, verdict="pass", summary="silent by request",
                               duration_s=info.duration_s)
        finding = SoundFinding(code="no_audio", severity="fail", message="No audio track: the take is silent.")
        return SoundReport(has_audio=False, target=delivery.key, findings=[finding], verdict="fail",
                           summary=finding.message, duration_s=info.duration_s)
    samples = decode_audio(path)
    lufs = integrated_lufs(samples) if samples.shape[0] >= SAMPLE_RATE_HZ * 0.4 else float("-inf")
    peak = true_peak_dbtp(samples)
    findings: list[SoundFinding] = []
    if not math.isfinite(lufs):
        findings.append(SoundFinding(code="silent", severity="fail", message="Silent or too short to measure."))
    else:
        offset = lufs - delivery.integrated_lufs
        if abs(offset) > delivery.tolerance_lu:
            direction = "louder" if offset > 0 else "quieter"
            findings.append(SoundFinding(
                code="loudness_off_target", severity="warn",
                message=f"{lufs:.1f} LUFS: {abs(offset):.1f} LU {direction} than {delivery.key} ({delivery.integrated_lufs:g})",
            ))
    if math.isfinite(peak) and peak > delivery.true_peak_dbtp:
        findings.append(SoundFinding(
            code="true_peak_over", severity="warn",
            message=f"True peak {peak:+.1f} dBTP is over the {delivery.true_peak_dbtp:g} dBTP ceiling for {delivery.key}",
        ))
    verdict = "fail" if any(f.severity == "fail" for f in findings) else "warn" if findings else "pass"
    report = SoundReport(
        integrated_lufs=_finite(lufs), true_peak_dbtp=_finite(peak), duration_s=round(duration_s(samples), 3),
        sample_rate_hz=info.sample_rate_hz, channels=info.channels, target=delivery.key,
        findings=findings, verdict=verdict,
    )
    report.summary = summarise(report)
    return report


def summarise(report: SoundReport) -> str:
    if not report.has_audio:
        return report.findings[0].message if report.findings else "no audio"
    numbers = (
        f"{report.integrated_lufs:.1f} LUFS, {report.true_peak_dbtp:+.1f} dBTP"
        if report.integrated_lufs is not None and report.true_peak_dbtp is not None else "unmeasurable"
    )
    problems = "; ".join(f.message for f in report.findings if f.severity != "info")
    return f"{numbers} — " + (problems if problems else f"on target for {report.target}")
