"""The sound check against EBU test signals and one clip per finding (real files, real ffmpeg)."""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
from click.testing import CliRunner

from adapters.media import ffmpeg_exe
from bot.cli import main
from jobs.audio.check import check_file, report_text
from jobs.audio.measure import Measurements, measure_file
from jobs.audio.report import SoundReport
from jobs.audio.waveform import BACKGROUND, CLIP_COLOUR, render_waveform_png
from tests.audio_signals import (
    RATE,
    at_lufs,
    decode,
    dual,
    noise,
    reference_lufs,
    reference_true_peak_dbtp,
    sine,
    steps,
    write_mp4,
    write_wav,
)


def programme(seconds: float = 6.0, lufs: float = -14.0, *, seed: int = 1, rate: int = RATE) -> np.ndarray:
    """A clean stereo 'mix': a soft chord with a little full-band noise, correlated but not identical L/R."""
    length = max(seconds, 1.0)  # the level is set on at least a second, then the clip is cut
    t = np.arange(int(round(length * rate))) / rate
    chord = sum(np.sin(2 * np.pi * f * t + i) / (1 + i) for i, f in enumerate((220, 277.2, 329.6, 440, 880, 1760)))
    swell = 0.8 + 0.2 * np.sin(2 * np.pi * 0.5 * t)
    left = chord * swell + 0.15 * noise(-10, length, seed=seed, rate=rate)
    right = 0.9 * chord * swell + 0.15 * noise(-10, length, seed=seed + 1, rate=rate)
    return at_lufs(np.stack([left, right], axis=1), lufs, rate)[: int(round(seconds * rate))]


def check(tmp_path: Path, samples: np.ndarray, target: str = "social", *, rate: int = RATE,
          name: str = "clip") -> SoundReport:
    return check_file(write_wav(tmp_path / f"{name}.wav", samples, rate), target)


def codes(report: SoundReport) -> set[str]:
    return {f.code for f in report.findings}


# -- EBU Tech 3341 / 3342 ---------------------------------------------------------------------------
EBU_LOUDNESS = {
    "3341-1": lambda: dual(sine(-23, 20)),
    "3341-2": lambda: dual(sine(-33, 20)),
    "3341-3": lambda: dual(steps((-36, 10), (-23, 60), (-36, 10))),
    "3341-4": lambda: dual(steps((-72, 10), (-36, 10), (-23, 60), (-36, 10), (-72, 10))),
    "3341-5": lambda: dual(steps((-26, 20), (-20, 20.1), (-26, 20))),
}
EXPECTED_I = {"3341-1": -23.0, "3341-2": -33.0, "3341-3": -23.0, "3341-4": -23.0, "3341-5": -23.0}


@pytest.mark.parametrize("case", list(EBU_LOUDNESS))
def test_ebu_3341_integrated_loudness(tmp_path: Path, case: str) -> None:
    report = check(tmp_path, EBU_LOUDNESS[case](), target="broadcast-eu")
    assert report.integrated_lufs == pytest.approx(EXPECTED_I[case], abs=0.1)


@pytest.mark.parametrize(("divisor", "amplitude", "phase", "expected"), [
    (4, 0.5, 0.0, -6.0), (4, 0.5, 45.0, -6.0), (6, 0.5, 60.0, -6.0), (8, 0.5, 67.5, -6.0), (4, 1.41, 45.0, 3.0),
], ids=["3341-15", "3341-16", "3341-17", "3341-18", "3341-19"])
def test_ebu_3341_true_peak(tmp_path: Path, divisor: int, amplitude: float, phase: float, expected: float) -> None:
    x = dual(sine(0, 5, freq=RATE / divisor, amplitude=amplitude, phase_deg=phase))
    report = check(tmp_path, x)
    assert expected - 0.4 <= report.true_peak_dbtp <= expected + 0.2  # type: ignore[operator]
    if expected > 0:
        assert "true_peak_over" in codes(report)
        assert report.sample_peak_dbfs is not None and report.sample_peak_dbfs < 0  # the over is between samples


@pytest.mark.parametrize(("parts", "expected"), [(((-20, 20), (-30, 20)), 10.0), (((-40, 20), (-20, 20)), 20.0)],
                         ids=["3342-1", "3342-3"])
def test_ebu_3342_loudness_range(tmp_path: Path, parts: tuple, expected: float) -> None:
    report = check(tmp_path, dual(steps(*parts)))
    assert report.loudness_range_lu == pytest.approx(expected, abs=1.0)


def test_max_momentary_and_short_term_follow_the_loudest_stretch(tmp_path: Path) -> None:
    report = check(tmp_path, EBU_LOUDNESS["3341-5"]())
    assert report.max_momentary_lufs == pytest.approx(-20.0, abs=0.1)
    assert report.max_short_term_lufs == pytest.approx(-20.0, abs=0.1)
    assert report.sample_peak_dbfs == pytest.approx(-20.0, abs=0.05)


def test_streaming_meter_matches_pyloudnorm_on_a_whole_array(tmp_path: Path) -> None:
    x = programme(7.3, -18.0, seed=4)
    path = write_wav(tmp_path / "p.wav", x)
    report = check_file(path)
    reference = pyloudnorm.Meter(RATE).integrated_loudness(x)
    assert report.integrated_lufs == pytest.approx(reference, abs=0.02)
    decoded = decode(path)
    assert reference_lufs(decoded) == pytest.approx(reference, abs=0.02)
    assert reference_true_peak_dbtp(decoded) == pytest.approx(report.true_peak_dbtp, abs=0.1)


def test_results_do_not_depend_on_chunk_boundaries(tmp_path: Path) -> None:
    x = programme(4.0, -12.0, seed=7)
    x[RATE + 100: RATE + 110] = 1.0  # a clipped run
    x[2 * RATE: 2 * RATE + 960] = 0.0  # a 20 ms dropout
    path = write_wav(tmp_path / "c.wav", x)
    whole, chopped = measure_file(path, chunk_s=60.0), measure_file(path, chunk_s=0.37)
    for field in ("integrated_lufs", "true_peak_dbtp", "max_momentary_lufs", "max_short_term_lufs",
                  "loudness_range_lu", "mono_fold_loss_lu", "phone_loss_lu", "lr_correlation", "sample_peak_dbfs"):
        assert getattr(chopped, field) == pytest.approx(getattr(whole, field), abs=1e-6), field
    assert chopped.clip_runs == whole.clip_runs == 2  # one run per channel
    assert chopped.zero_runs_s == whole.zero_runs_s
    assert chopped.zero_runs_s[0][0] == pytest.approx(2.0, abs=1e-3)


def test_a_chunk_far_larger_than_a_pipe_is_read_whole_from_both_outputs(tmp_path: Path) -> None:
    """The signal and its K-weighted copy come down two pipes of at most 1 MiB, read on one thread; a 30 s chunk is
    over 10 MB on each. Reading one pipe's chunk to the end before the other's would leave ffmpeg blocked on the
    other pipe and this waiting for ever: the check runs on a thread here so that a stall fails instead of hanging."""
    path = write_wav(tmp_path / "long.wav", programme(65.0, -16.0, seed=5))
    results: dict[float, Measurements] = {}

    def run() -> None:
        for chunk_s in (30.0, 1.0):
            results[chunk_s] = measure_file(path, chunk_s=chunk_s)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=300)  # a guard against a stall, not a speed limit: this takes a second or two
    assert not worker.is_alive(), "the 30 s chunks were never read whole"
    large, small = results[30.0], results[1.0]
    assert large.frames == small.frames == 65 * RATE
    for field in ("integrated_lufs", "true_peak_dbtp", "loudness_range_lu", "max_short_term_lufs", "lr_correlation"):
        assert getattr(large, field) == pytest.approx(getattr(small, field), abs=1e-6), field


def test_a_file_name_with_filtergraph_characters_is_read_as_that_file(tmp_path: Path) -> None:
    """The sound is read by a filtergraph source (`amovie`), so the name is escaped twice; a name full of the
    characters that separate options and filters still names one file."""
    x = programme(2.0, -16.0, seed=9)
    plain = write_wav(tmp_path / "plain.wav", x)
    odd = tmp_path / "take 1B: rain, wind [v2]; 'final' \\ a=b.wav"
    odd.write_bytes(plain.read_bytes())
    assert measure_file(odd) == measure_file(plain)


# -- layouts ----------------------------------------------------------------------------------------
def test_mono_is_measured_as_one_channel(tmp_path: Path) -> None:
    x = sine(-23, 5)
    report = check(tmp_path, x)
    assert report.channels == 1
    assert report.integrated_lufs == pytest.approx(pyloudnorm.Meter(RATE).integrated_loudness(x), abs=0.02)
    assert "mono" in codes(report)
    assert report.lr_correlation is None and report.mono_fold_loss_lu is None


def test_surround_51_excludes_lfe_and_weights_surrounds(tmp_path: Path) -> None:
    front = programme(5.0, -24.0)
    centre = front[:, 0] * 0.7
    surrounds = front * 0.5
    lfe = sine(-3, 5.0, freq=50)  # a loud LFE must not count
    x51 = np.column_stack([front[:, 0], front[:, 1], centre, lfe, surrounds[:, 0], surrounds[:, 1]])
    report = check(tmp_path, x51, name="s51")
    five = np.column_stack([front[:, 0], front[:, 1], centre, surrounds[:, 0], surrounds[:, 1]])
    reference = pyloudnorm.Meter(RATE).integrated_loudness(five)
    assert report.channels == 6 and report.channel_layout == "5.1"
    assert report.integrated_lufs == pytest.approx(reference, abs=0.02)
    assert "LFE" not in report.channel_lufs
    x50 = check(tmp_path, five, name="s50")
    assert x50.channel_layout == "5.0" and x50.integrated_lufs == pytest.approx(reference, abs=0.02)


def test_half_second_clip_is_measured(tmp_path: Path) -> None:
    report = check(tmp_path, programme(0.5, -16.0))
    assert report.integrated_lufs == pytest.approx(-16.0, abs=0.3)
    assert report.max_short_term_lufs is None  # no 3 s window fits
    assert "too_short" not in codes(report)


def test_a_real_previz_take_checks_clean(tmp_path: Path) -> None:
    from adapters.base import RenderSpec
    from adapters.previz import render_previz

    clip = render_previz(RenderSpec(picture="Rain on a tin roof", sound=["rain drumming, distant traffic"],
                                    duration_s=3, aspect="16:9", resolution="720p", seed=3), tmp_path / "t.mp4")
    report = check_file(clip, "social")
    assert report.has_audio and report.audio_codec == "aac" and report.sample_rate_hz == 48000
    assert report.duration_s == pytest.approx(3.0, abs=0.03)
    assert report.video_duration_s == pytest.approx(3.0, abs=0.05)
    assert not codes(report) & {"av_length_mismatch", "silent", "silent_channel", "clipping", "dropout"}


# -- one clip that triggers each finding, one that does not -----------------------------------------
def _fold(x: np.ndarray, right: np.ndarray) -> np.ndarray:
    return np.stack([x, right], axis=1)


def _lowpassed(seconds: float, cutoff: float) -> np.ndarray:
    white = np.random.default_rng(3).standard_normal(int(seconds * RATE))
    spectrum = np.fft.rfft(white)
    spectrum[np.fft.rfftfreq(white.size, 1 / RATE) > cutoff] = 0
    return np.fft.irfft(spectrum, white.size)


def _with(x: np.ndarray, start_s: float, stop_s: float, value: float | None = 0.0, scale: float = 1.0) -> np.ndarray:
    y = x.copy()
    a, b = int(start_s * RATE), int(stop_s * RATE)
    y[a:b] = y[a:b] * scale if value is None else value
    return y


a_noise = noise(-20, 6, seed=11)
b_noise = noise(-20, 6, seed=12)

FINDINGS: dict[str, tuple] = {
    # code: (triggering clip, clean clip, target)
    "loudness_off_target": (lambda: programme(lufs=-19.2), lambda: programme(lufs=-14.3), "social"),
    "true_peak_over": (lambda: dual(sine(0, 3, freq=RATE / 4, amplitude=0.95, phase_deg=45)),
                       lambda: dual(sine(0, 3, freq=RATE / 4, amplitude=0.8, phase_deg=45)), "social"),
    "short_term_over": (lambda: programme(lufs=-16), lambda: programme(lufs=-23), "broadcast-eu"),
    "clipping": (lambda: dual(np.clip(sine(0, 3, freq=100, amplitude=1.5), -1, 1)),
                 lambda: dual(sine(0, 3, freq=100, amplitude=0.99)), "social"),
    "dc_offset": (lambda: programme() + 0.01, lambda: programme(), "social"),
    "mono_fold_loss": (lambda: _fold(a_noise, -0.6 * a_noise + 0.8 * b_noise), lambda: _fold(a_noise, b_noise),
                       "social"),
    "out_of_phase": (lambda: _fold(a_noise, -0.6 * a_noise + 0.8 * b_noise), lambda: _fold(a_noise, b_noise),
                     "social"),
    "phone_loss": (lambda: dual(sine(-10, 4, freq=60)), lambda: dual(sine(-10, 4, freq=997)), "social"),
    "silent_channel": (lambda: _fold(a_noise, 0 * a_noise), lambda: _fold(a_noise, 0.8 * a_noise), "social"),
    "channel_imbalance": (lambda: _fold(a_noise, 0.3 * b_noise), lambda: _fold(a_noise, 0.7 * b_noise), "social"),
    "silent": (lambda: dual(np.zeros(3 * RATE)), lambda: programme(3), "social"),
    "too_short": (lambda: programme(0.3), lambda: programme(0.5), "social"),
    "silence_gap": (lambda: _with(programme(), 2.0, 2.6, None, 1e-4), lambda: _with(programme(), 2.0, 2.2, None, 1e-4),
                    "social"),
    "dropout": (lambda: _with(programme(), 3.0, 3.010), lambda: _with(programme(), 3.0, 3.003), "social"),
    "leading_silence": (lambda: _with(programme(), 0, 1.0), lambda: programme(), "social"),
    "trailing_silence": (lambda: _with(programme(), 5.0, 6.0), lambda: programme(), "social"),
    "band_limited": (lambda: dual(at_lufs(_lowpassed(4, 5000), -16)), lambda: dual(noise(-16, 4)), "social"),
    "mono": (lambda: programme()[:, 0], lambda: programme(), "social"),
    "target_approximate": (lambda: programme(lufs=-27), lambda: programme(lufs=-24), "netflix|broadcast-us"),
}
SEVERITY = {"silent_channel": "fail", "silent": "fail", "too_short": "fail", "leading_silence": "info",
            "trailing_silence": "info", "band_limited": "info", "mono": "info", "target_approximate": "info"}


@pytest.mark.parametrize("code", list(FINDINGS))
def test_each_finding_has_a_clip_that_triggers_it_and_one_that_does_not(tmp_path: Path, code: str) -> None:
    bad, good, target = FINDINGS[code]
    bad_target, _, good_target = target.partition("|")
    triggered = check(tmp_path, bad(), bad_target, name="bad")
    clean = check(tmp_path, good(), good_target or bad_target, name="good")
    assert code in codes(triggered), triggered.findings
    assert code not in codes(clean), clean.findings
    finding = next(f for f in triggered.findings if f.code == code)
    assert finding.severity == SEVERITY.get(code, "warn") or (code == "mono_fold_loss" and finding.severity == "fail")
    assert finding.message.endswith(".") and finding.short
    if finding.severity != "info":
        assert triggered.verdict in ("warn", "fail")


def test_anti_phase_stereo_fails_in_mono(tmp_path: Path) -> None:
    report = check(tmp_path, _fold(a_noise, -a_noise))
    fold = next(f for f in report.findings if f.code == "mono_fold_loss")
    assert fold.severity == "fail" and report.verdict == "fail"
    assert report.lr_correlation == pytest.approx(-1.0, abs=0.001)


def test_sample_rate_other_than_48k_is_flagged(tmp_path: Path) -> None:
    rate = 44100
    x = np.stack([noise(-20, 3, rate=rate, seed=1), noise(-20, 3, rate=rate, seed=2)], axis=1)
    report = check(tmp_path, x, rate=rate, name="cd")
    assert report.sample_rate_hz == 44100 and "sample_rate" in codes(report)
    assert "sample_rate" not in codes(check(tmp_path, programme(3), name="ok"))


def test_missing_audio_track_fails_unless_asked_for_silence(tmp_path: Path) -> None:
    clip = write_mp4(tmp_path / "silent.mp4", None, video_s=2)
    report = check_file(clip, "social")
    assert not report.has_audio and report.verdict == "fail" and codes(report) == {"no_audio"}
    quiet = check_file(clip, "social", expect_audio=False)
    assert quiet.verdict == "pass" and not quiet.findings
    assert "no_audio" not in codes(check_file(write_mp4(tmp_path / "ok.mp4", programme(2)), "social"))


def test_audio_shorter_than_the_picture_is_flagged(tmp_path: Path) -> None:
    short = check_file(write_mp4(tmp_path / "short.mp4", programme(4), video_s=5), "social")
    assert "av_length_mismatch" in codes(short)
    assert short.video_duration_s == pytest.approx(5.0, abs=0.05) and short.duration_s == pytest.approx(4.0, abs=0.03)
    assert "shorter" in next(f.message for f in short.findings if f.code == "av_length_mismatch")
    matched = check_file(write_mp4(tmp_path / "same.mp4", programme(4), video_s=4), "social")
    assert "av_length_mismatch" not in codes(matched)


PICTURES = {  # name: (container, picture, sound): B-frames at 29.97 fps, long GOPs, picture short or long, VP8
    "h264 b-frames 29.97": ("mp4", ["testsrc2=s=320x240:r=30000/1001:d=7", "-c:v", "libx264", "-bf", "3", "-g", "48"],
                            ["sine=d=7", "-c:a", "aac"]),
    "picture ends first": ("mp4", ["testsrc2=s=320x240:r=25:d=4", "-c:v", "libx264"], ["sine=d=9", "-c:a", "aac"]),
    "sound ends first": ("mov", ["testsrc2=s=320x240:r=24:d=9", "-c:v", "libx264", "-g", "300"],
                         ["sine=d=4", "-c:a", "aac"]),
    "vp8 in webm": ("webm", ["testsrc2=s=320x240:r=24:d=6", "-c:v", "libvpx", "-b:v", "200k"],
                    ["sine=d=6", "-c:a", "libopus"]),
}


@pytest.mark.parametrize("name", list(PICTURES))
def test_the_picture_length_from_its_first_and_last_packets_is_every_packets(tmp_path: Path, name: str) -> None:
    """The sound check lists only a picture's first packets and, from a seek near the end, its last; the length
    must be what a listing of every packet gives (pts of the first to pts + duration of the last)."""
    container, picture, sound = PICTURES[name]
    path = tmp_path / f"take.{container}"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", picture[0], "-f", "lavfi", "-i", sound[0],
                    *picture[1:], *sound[1:], str(path)], check=True, timeout=120)
    listing = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:v:0", "-c", "copy",
                              "-f", "framecrc", "-"], check=True, capture_output=True, text=True, timeout=120).stdout
    timebase = next(line for line in listing.splitlines() if line.startswith("#tb 0:")).split(":")[1].strip()
    num, den = (int(part) for part in timebase.split("/"))
    packets = [[int(field) for field in line.split(",")[2:4]] for line in listing.splitlines()
               if line and not line.startswith("#")]
    every_packet_s = (max(pts + duration for pts, duration in packets) - min(pts for pts, _ in packets)) * num / den
    assert len(packets) > 3 * 32  # more packets than the listing's head, so its tail has to find the end
    assert measure_file(path).video_duration_s == pytest.approx(every_packet_s, abs=1e-9)


# -- words ------------------------------------------------------------------------------------------
def test_findings_read_as_plain_sentences_against_the_target(tmp_path: Path) -> None:
    report = check(tmp_path, programme(lufs=-19.2))
    finding = next(f for f in report.findings if f.code == "loudness_off_target")
    assert re.fullmatch(r"−19\.[12] LUFS: 5\.[12] LU quieter than social \(−14\)\.", finding.message)
    assert re.fullmatch(r"−19\.[12] LUFS · −\d+\.\d dBTP — 5\.[12] LU quiet for social \(−14\)", report.summary)


def test_a_clean_mix_passes(tmp_path: Path) -> None:
    report = check(tmp_path, programme(lufs=-14.0))
    assert report.verdict == "pass", report.findings
    assert report.summary.endswith("on target for social (−14)")
    assert report.true_peak_dbtp is not None and report.true_peak_dbtp <= -1


def test_qc_command_prints_json_and_a_table(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "mix.wav", programme(lufs=-20))
    result = CliRunner().invoke(main, ["qc", str(path), "--target", "broadcast-eu", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    for key in ("integrated_lufs", "true_peak_dbtp", "loudness_range_lu", "max_momentary_lufs",
                "max_short_term_lufs", "sample_rate_hz", "channels", "duration_s", "findings", "verdict"):
        assert key in data
    assert data["integrated_lufs"] == pytest.approx(-20.0, abs=0.1) and data["verdict"] == "warn"
    table = CliRunner().invoke(main, ["qc", str(path), "--target", "broadcast-eu"])
    assert table.exit_code == 0 and "Integrated" in table.output and "−20.0 LUFS" in table.output
    assert "3.0 LU louder than broadcast-eu (−23)" in table.output
    silent = write_wav(tmp_path / "zero.wav", dual(np.zeros(RATE)))
    assert CliRunner().invoke(main, ["qc", str(silent)]).exit_code == 1
    unknown = CliRunner().invoke(main, ["qc", str(path), "--target", "cinema"])
    assert unknown.exit_code == 2 and "Known targets" in unknown.output


def test_qc_of_a_truncated_file_says_it_does_not_decode_cleanly(tmp_path: Path) -> None:
    whole = tmp_path / "whole.m4a"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=3",
                    "-c:a", "aac", "-movflags", "+faststart", str(whole)], check=True)
    cut = tmp_path / "cut.m4a"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    result = CliRunner().invoke(main, ["qc", str(cut)])
    assert result.exit_code == 1 and "does not decode cleanly" in result.output, result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("operator_says", "blas_threads"), [(None, "1"), ("3", "3")])
def test_dailies_runs_blas_on_one_thread_unless_the_operator_says_otherwise(operator_says: str | None,
                                                                            blas_threads: str) -> None:
    """The meters' small matrix products must not wake OpenBLAS's helper threads, which spin on the core ffmpeg
    decodes on; the setting has to be in place before numpy loads, so it is read in a fresh interpreter."""
    env = {name: value for name, value in os.environ.items() if name != "OPENBLAS_NUM_THREADS"}
    if operator_says is not None:
        env["OPENBLAS_NUM_THREADS"] = operator_says
    probe = "import bot.cli, numpy, os; print(os.environ['OPENBLAS_NUM_THREADS'])"
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[1])
    assert result.stdout.strip() == blas_threads


def test_report_text_lists_every_finding(tmp_path: Path) -> None:
    report = check(tmp_path, _with(programme(lufs=-30), 2.0, 2.6, None, 1e-4))
    text = report_text(report)
    for finding in report.findings:
        assert finding.message in text


# -- measurements checked against independent references -----------------------------------------
def test_phone_loss_of_equal_bass_and_mid_is_three_lu(tmp_path: Path) -> None:
    meter = pyloudnorm.Meter(RATE)
    bass, mid = dual(sine(0, 6, freq=100, amplitude=0.1)), dual(sine(0, 6, freq=997, amplitude=0.1))
    bass = bass * 10 ** ((meter.integrated_loudness(mid) - meter.integrated_loudness(bass)) / 20)
    report = check(tmp_path, bass + mid)  # equal K-weighted power; a phone keeps only the 997 Hz half
    assert report.phone_loss_lu == pytest.approx(3.0, abs=0.2)


def test_true_peak_of_sparse_hits_matches_an_independent_oversampler(tmp_path: Path) -> None:
    x = dual(noise(-50, 6, seed=2))
    burst = _lowpassed(0.02, 16000)
    burst = burst / np.abs(burst).max()
    for second, level in ((1.3, 0.4), (3.7, 0.9), (5.1, 0.2)):  # the loudest hit sits mid-clip
        start = int(second * RATE)
        x[start: start + burst.size] += level * burst[:, None]
    report = check(tmp_path, x)
    assert report.true_peak_dbtp == pytest.approx(reference_true_peak_dbtp(x), abs=0.15)
    assert report.true_peak_dbtp > report.sample_peak_dbfs  # type: ignore[operator]


# -- pictures ---------------------------------------------------------------------------------------
def _rgb(png: Path) -> np.ndarray:
    """Decode a PNG with ffmpeg (not with our writer's code) into (height, width, 3)."""
    width, height = struct.unpack(">II", png.read_bytes()[16:24])  # the IHDR chunk
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(png), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3)


def test_waveform_is_drawn_in_the_checks_own_pass_and_shows_clipping(tmp_path: Path) -> None:
    x = programme(4, -20)
    x[: 2 * RATE] = 0  # silent first half
    x[3 * RATE: 3 * RATE + 200] = 1.0  # a clipped burst at 3 s
    clip = write_mp4(tmp_path / "w.mp4", x)
    png = tmp_path / "w.png"
    check_file(clip, waveform_png=png)
    image = _rgb(png)
    assert image.shape == (240, 1280, 3)
    red = np.all(image == CLIP_COLOUR, axis=2)
    columns = np.flatnonzero(red.any(axis=0))
    assert columns.size and columns.min() >= 900 and columns.max() <= 1000  # 3.0 s of 4 s is column 960
    lit = ~np.all(image == BACKGROUND, axis=2)
    lit_rows = lit.sum(axis=0)
    assert lit_rows[:600].max() <= 2  # only the lanes' axis lines where it is silent
    assert lit_rows[700:900].min() > 10
    before = png.read_bytes()
    assert render_waveform_png(clip, png) == png and png.read_bytes() == before  # reused, not redrawn
    fresh = render_waveform_png(clip, tmp_path / "fresh.png")
    assert fresh.read_bytes() == before  # drawing on its own gives the same picture
