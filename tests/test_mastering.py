"""Mastering: the output is decoded and measured independently; the picture must be copied bit for bit."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
from click.testing import CliRunner

from adapters.media import probe_media
from bot.cli import main
from jobs.audio.master import MasteringRefused, master_file
from jobs.audio.targets import get_target
from tests.audio_signals import (
    RATE,
    at_lufs,
    decode,
    dual,
    ffmpeg_ebur128,
    noise,
    reference_true_peak_dbtp,
    video_md5,
    write_mp4,
    write_wav,
)


def take(seconds: float, lufs: float, *, seed: int = 1) -> np.ndarray:
    """A take-like bed: pink noise ambience with a slow swell, correlated stereo."""
    t = np.arange(int(seconds * RATE)) / RATE
    bed = noise(-20, seconds, seed=seed) * (0.7 + 0.3 * np.sin(2 * np.pi * 0.4 * t))
    return at_lufs(dual(bed, 0.8 * bed + 0.2 * noise(-20, seconds, seed=seed + 1)), lufs)


def peaky_take(seconds: float, lufs: float) -> np.ndarray:
    """A quiet bed with hard hits: a plain gain to the target would push the hits far over the ceiling."""
    x = take(seconds, lufs - 6)
    hit = 0.95 * np.hanning(480) * np.sign(np.sin(2 * np.pi * 180 * np.arange(480) / RATE))
    for second in np.arange(0.5, seconds - 0.5, 0.5):
        start = int(second * RATE)
        x[start: start + 480] += hit[:, None]
    return x


def assert_meets(out: Path, target: str) -> None:
    """Decode the master and measure it with meters that are not ours: pyloudnorm + scipy, and ffmpeg's ebur128."""
    delivery = get_target(target)
    samples = decode(out).astype(np.float64)
    lufs = pyloudnorm.Meter(RATE).integrated_loudness(samples)
    assert abs(lufs - delivery.integrated_lufs) <= 0.5, lufs
    assert reference_true_peak_dbtp(samples) <= delivery.true_peak_dbtp, reference_true_peak_dbtp(samples)
    ff_lufs, ff_peak = ffmpeg_ebur128(out)
    assert abs(ff_lufs - delivery.integrated_lufs) <= 0.55  # ebur128 prints one decimal
    assert ff_peak <= delivery.true_peak_dbtp + 0.05


def test_quiet_take_is_brought_up_linearly_with_the_picture_untouched(tmp_path: Path) -> None:
    src = write_mp4(tmp_path / "take.mp4", take(5, -30), size="640x360")
    out = tmp_path / "apple.mp4"
    result = master_file(src, "apple", out)
    assert result.ok and result.method == "linear" and result.video_copied
    assert_meets(out, "apple")
    assert video_md5(out) == video_md5(src)
    info = probe_media(out)
    assert info.audio_codec == "aac" and info.sample_rate_hz == 48000 and info.channels == 2
    assert result.before.integrated_lufs == pytest.approx(-30, abs=0.6)  # the source's own AAC shaves a little
    assert result.after.integrated_lufs == pytest.approx(pyloudnorm.Meter(RATE).integrated_loudness(
        decode(out).astype(np.float64)), abs=0.05)
    assert result.after.duration_s == pytest.approx(result.before.duration_s, abs=0.025)
    assert "av_length_mismatch" not in {f.code for f in result.after.findings}
    assert "linear gain" in result.summary and "picture copied" in result.summary


def test_peaks_that_a_plain_gain_would_push_over_go_through_a_true_peak_limiter(tmp_path: Path) -> None:
    src = write_mp4(tmp_path / "hits.mp4", peaky_take(5, -24))
    out = tmp_path / "hits_social.mp4"
    result = master_file(src, "social", out)
    assert result.ok, result.summary
    assert result.method == "limiter" and result.limiter_ceiling_dbtp is not None
    assert "true-peak limiter" in result.summary and "would peak at" in result.summary
    assert_meets(out, "social")
    assert video_md5(out) == video_md5(src)


def test_loud_take_comes_down_to_broadcast(tmp_path: Path) -> None:
    src = write_mp4(tmp_path / "loud.mp4", take(4, -12, seed=5))
    out = tmp_path / "r128.mp4"
    result = master_file(src, "broadcast-eu", out)
    assert result.ok and result.gain_db < -10
    assert_meets(out, "broadcast-eu")
    assert video_md5(out) == video_md5(src)


def test_us_broadcast_ceiling_is_minus_two(tmp_path: Path) -> None:
    src = write_wav(tmp_path / "mix.wav", peaky_take(4, -30))
    out = tmp_path / "atsc.m4a"
    result = master_file(src, "broadcast-us", out)
    assert result.ok and not result.video_copied
    assert_meets(out, "broadcast-us")
    assert result.after.true_peak_dbtp is not None and result.after.true_peak_dbtp <= -2.0


def test_wav_delivery_is_pcm_48k(tmp_path: Path) -> None:
    src = write_mp4(tmp_path / "take.mp4", take(3, -20))
    out = tmp_path / "apple.wav"
    result = master_file(src, "apple", out)
    info = probe_media(out)
    assert result.ok and info.audio_codec == "pcm_s24le" and info.sample_rate_hz == 48000 and not info.has_video
    assert_meets(out, "apple")


@pytest.mark.parametrize(("samples", "words"), [
    (None, "no audio track"),
    (dual(np.zeros(2 * RATE)), "silent"),
    (dual(noise(-20, 0.3)), "too short"),
])
def test_clips_that_cannot_be_mastered_are_refused_with_the_reason(tmp_path: Path, samples: np.ndarray | None,
                                                                   words: str) -> None:
    src = write_mp4(tmp_path / "bad.mp4", samples, video_s=2)
    out = tmp_path / "out.mp4"
    with pytest.raises(MasteringRefused, match=words):
        master_file(src, "social", out)
    assert not out.exists()


def test_master_command_prints_before_and_after(tmp_path: Path) -> None:
    src = write_mp4(tmp_path / "take.mp4", take(3, -26))
    out = tmp_path / "cli.mp4"
    result = CliRunner().invoke(main, ["master", str(src), "--target", "social", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "before" in result.output and "after" in result.output and "Integrated (LUFS)" in result.output
    assert re.search(r"Integrated \(LUFS\)\s+−26\.\d\s+−1[34]\.\d\s+−14 ±0\.5", result.output), result.output
    assert out.is_file()
    refused = CliRunner().invoke(main, ["master", str(write_mp4(tmp_path / "v.mp4", None)), "--target", "social",
                                        "--out", str(tmp_path / "x.mp4")])
    assert refused.exit_code == 2 and "no audio track" in refused.output
