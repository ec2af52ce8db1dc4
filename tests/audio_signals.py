"""Synthesised test signals (EBU Tech 3341/3342 style) written to real files with the real ffmpeg."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from adapters.media import ffmpeg_exe, run_ffmpeg

RATE = 48000
LAYOUTS = {1: "mono", 2: "stereo", 5: "5.0", 6: "5.1"}


def sine(dbfs: float, seconds: float, *, freq: float = 1000.0, rate: int = RATE, phase_deg: float = 0.0,
         amplitude: float | None = None) -> np.ndarray:
    """A sine whose peak is `dbfs` (or `amplitude` when given); 1 kHz by default."""
    t = np.arange(int(round(seconds * rate))) / rate
    peak = amplitude if amplitude is not None else 10 ** (dbfs / 20)
    return peak * np.sin(2 * np.pi * freq * t + np.deg2rad(phase_deg))


def steps(*parts: tuple[float, float], freq: float = 1000.0, rate: int = RATE) -> np.ndarray:
    """Concatenated sine segments of (dBFS, seconds); phase runs on across segments."""
    total = sum(seconds for _, seconds in parts)
    t = np.arange(int(round(total * rate))) / rate
    levels = np.concatenate([np.full(int(round(s * rate)), 10 ** (d / 20)) for d, s in parts])
    levels = np.pad(levels, (0, max(0, t.size - levels.size)), mode="edge")[: t.size]
    return levels * np.sin(2 * np.pi * freq * t)


def noise(dbfs_rms: float, seconds: float, *, seed: int = 1, rate: int = RATE, pink: bool = True) -> np.ndarray:
    """Pink (20 Hz up) or white noise at an RMS level in dBFS."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * rate))
    white = rng.standard_normal(n)
    if pink:
        spectrum = np.fft.rfft(white)
        freqs = np.fft.rfftfreq(n, 1 / rate)
        spectrum[1:] /= np.sqrt(freqs[1:])
        spectrum[freqs < 20] = 0  # nothing below 20 Hz, like any real recording
        white = np.fft.irfft(spectrum, n)
    return white / np.sqrt(np.mean(white**2)) * 10 ** (dbfs_rms / 20)


def dual(x: np.ndarray, right: np.ndarray | None = None) -> np.ndarray:
    """Stereo (samples, 2): L = x, R = `right` or a copy of x."""
    return np.stack([x, x if right is None else right], axis=1)


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    """Write float32 WAV through ffmpeg (float, so overs above full scale survive)."""
    data = np.asarray(samples, dtype=np.float32)
    if data.ndim == 1:
        data = data[:, None]
    channels = data.shape[1]
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y", "-f", "f32le", "-ar", str(rate),
           "-ch_layout", LAYOUTS.get(channels, f"{channels}c"), "-i", "-", "-c:a", "pcm_f32le", str(path)]
    subprocess.run(cmd, input=data.tobytes(), check=True, capture_output=True, timeout=120)
    return path


def write_mp4(path: Path, samples: np.ndarray | None, rate: int = RATE, *, video_s: float | None = None,
              size: str = "320x180", fps: int = 25, bitrate: str = "192k") -> Path:
    """An H.264 + AAC MP4: a small test picture of `video_s` seconds (default: the audio's length)."""
    seconds = video_s if video_s is not None else (len(samples) / rate if samples is not None else 2.0)
    args = ["-f", "lavfi", "-i", f"testsrc2=s={size}:r={fps}:d={seconds}"]
    wav = None
    if samples is not None:
        wav = write_wav(path.with_suffix(".src.wav"), samples, rate)
        args += ["-i", str(wav)]
    args += ["-map", "0:v"] + (["-map", "1:a", "-c:a", "aac", "-b:a", bitrate] if wav else [])
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
             str(path)]
    run_ffmpeg(args, timeout_s=300)
    if wav:
        wav.unlink()
    return path


def decode(path: Path, rate: int = RATE) -> np.ndarray:
    """Decode a file's first audio stream to float32 (samples, channels) independently of jobs/."""
    import re

    info = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
    layout = re.search(r"Audio: .*?, \d+ Hz, ([^,]+),", info).group(1)  # type: ignore[union-attr]
    channels = {"mono": 1, "stereo": 2, "5.0": 5, "5.0(side)": 5, "5.1": 6, "5.1(side)": 6}[layout]
    out = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0",
         "-f", "f32le", "-acodec", "pcm_f32le", "-ar", str(rate), "-"],
        capture_output=True, check=True, timeout=300,
    ).stdout
    return np.frombuffer(out, dtype=np.float32).reshape(-1, channels)


def video_md5(path: Path) -> str:
    """MD5 of the first video stream's packets, copied (not decoded)."""
    out = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-i", str(path), "-map", "0:v:0", "-c", "copy",
         "-f", "md5", "-"], capture_output=True, text=True, check=True, timeout=120,
    ).stdout.strip()
    return out


def at_lufs(x: np.ndarray, lufs: float, rate: int = RATE) -> np.ndarray:
    """Scale `x` to an integrated loudness, measured by pyloudnorm (not by jobs/)."""
    import pyloudnorm

    now = pyloudnorm.Meter(rate).integrated_loudness(np.asarray(x, dtype=np.float64))
    return x * 10 ** ((lufs - now) / 20)


def reference_true_peak_dbtp(x: np.ndarray) -> float:
    """True peak by scipy's polyphase resampler at 4x (a different filter from jobs.audio.measure's)."""
    from scipy.signal import resample_poly

    peak = float(np.max(np.abs(resample_poly(np.asarray(x, dtype=np.float64), 4, 1, axis=0))))
    return 20 * np.log10(peak) if peak > 0 else float("-inf")


def ffmpeg_ebur128(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) from ffmpeg's own ebur128 filter: a third, independent meter."""
    import re

    log = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:a:0",
         "-af", "ebur128=peak=true:framelog=quiet", "-f", "null", "-"],
        capture_output=True, text=True, timeout=300,
    ).stderr
    summary = log[log.rindex("Summary:"):]
    integrated = float(re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary).group(1))  # type: ignore[union-attr]
    peak = float(re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary).group(1))  # type: ignore[union-attr]
    return integrated, peak


def reference_lufs(x: np.ndarray, rate: int = RATE) -> float:
    """Integrated loudness of samples in memory by pyloudnorm (not by jobs/)."""
    import pyloudnorm

    return float(pyloudnorm.Meter(rate).integrated_loudness(np.asarray(x, dtype=np.float64)))
