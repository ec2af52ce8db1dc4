"""Measure a file's audio in one pass, chunk by chunk, as `jobs.audio.decode` streams it from ffmpeg.

Nothing here holds the whole programme in memory: ffmpeg decodes the first
audio stream to float32 (never 16-bit, so overs stay visible) into a pipe, and
each chunk feeds every meter. What is kept per 10 ms of audio is a handful of
numbers (K-weighted energies, a peak), so a 10-minute file costs a few MB.

Loudness follows ITU-R BS.1770-4 / EBU R128 with pyloudnorm's K-weighting
filters: 400 ms momentary blocks, 3 s short-term blocks, both slid with a 10 ms
hop for their maxima; integrated loudness gates 400 ms blocks on a 100 ms hop
(-70 LUFS absolute, -10 LU relative); loudness range follows EBU Tech 3342.
True peak is the maximum of a 4x oversampled signal (2x at 96 kHz), see true_peak.py.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from adapters.media import MediaError, MediaInfo, probe_media
from jobs.audio.decode import CHUNK_S, decode_rate, stream_audio, video_duration_s
from jobs.audio.filters import butterworth_highpass_power, k_weighting_power
from jobs.audio.layouts import channel_names, channel_weights, layout_for
from jobs.audio.true_peak import TruePeakMeter

ABSOLUTE_GATE_LUFS = -70.0
SILENCE_DBFS = -50.0  # a 10 ms block whose peak stays under this is silence (as silencedetect n=-50dB)
CLIP_LEVEL = 0.999  # |x| at or over this counts as full scale
CLIP_RUN_SAMPLES = 3  # a clip is this many consecutive full-scale samples
ZERO_RUN_S = 0.005  # digital-zero runs longer than this are dropouts
PHONE_HIGHPASS_HZ = 180.0  # a phone speaker plays little below this
HF_SPLIT_HZ = 10000.0  # energy above this tells audio that was upsampled from a low rate
KEEP_RUNS = 200  # positions kept per kind of run; counts are always exact

def lufs(mean_square: npt.ArrayLike) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.asarray(-0.691 + 10 * np.log10(mean_square))


def db(value: float) -> float:
    return 20 * math.log10(value) if value > 0 else float("-inf")


class _Runs:
    """Runs of True in a boolean stream, found chunk by chunk (a run may span chunks)."""

    def __init__(self, min_len: int) -> None:
        self.min_len = min_len
        self.open_start: int | None = None
        self.count = 0
        self.total = 0
        self.kept: list[tuple[int, int]] = []

    def feed(self, mask: np.ndarray, offset: int) -> None:
        if not mask.size:
            return
        edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
        starts = [int(i) for i in np.flatnonzero(edges == 1) + offset]
        ends = [int(i) for i in np.flatnonzero(edges == -1) + offset]
        if self.open_start is not None:
            if mask[0]:
                starts[0] = self.open_start
            else:
                self._close(self.open_start, offset)
            self.open_start = None
        if starts and ends[-1] == offset + mask.size:
            self.open_start = starts.pop()
            ends.pop()
        for start, end in zip(starts, ends, strict=True):
            self._close(int(start), int(end))

    def _close(self, start: int, end: int) -> None:
        if end - start >= self.min_len:
            self.count += 1
            self.total += end - start
            if len(self.kept) < KEEP_RUNS:
                self.kept.append((start, end))

    def finish(self, end: int) -> None:
        if self.open_start is not None:
            self._close(self.open_start, end)
            self.open_start = None


@dataclass
class Measurements:
    """Raw numbers from one pass over a file's audio (dB values may be -inf)."""

    sample_rate_hz: int
    decode_rate_hz: int
    channels: int
    layout: str
    channel_names: tuple[str, ...]
    frames: int
    duration_s: float
    integrated_lufs: float
    loudness_range_lu: float | None
    max_momentary_lufs: float | None
    max_short_term_lufs: float | None
    true_peak_dbtp: float
    sample_peak_dbfs: float
    channel_peak_dbfs: list[float]
    channel_lufs: list[float]  # each channel's level over the programme's gated blocks
    dc_offset: list[float]
    clip_runs: int
    clip_positions_s: list[float]
    zero_runs_s: list[tuple[float, float]]  # digital zero on every channel, longer than ZERO_RUN_S
    silence_runs_s: list[tuple[float, float]]  # 10 ms resolution, peak under SILENCE_DBFS
    lr_correlation: float | None
    mono_fold_loss_lu: float | None
    phone_loss_lu: float | None
    hf_energy_db: float | None
    video_duration_s: float | None = None
    codec: str | None = None


class _Meters:
    """Everything measured per chunk; `result()` turns the accumulators into Measurements."""

    def __init__(self, rate: int, channels: int, layout: str, expected_s: float | None = None) -> None:
        self.rate, self.channels, self.layout = rate, channels, layout
        self.spectrum_stride = (16 if (expected_s or 0) > 60 else 4) * 2048
        self.sub = rate // 100  # samples per 10 ms sub-block
        self.weights = channel_weights(layout, channels)
        self.true_peak = TruePeakMeter(rate, channels)
        self.clips = [_Runs(CLIP_RUN_SAMPLES) for _ in range(channels)]
        self.zeros = _Runs(max(1, int(round(ZERO_RUN_S * rate)) + 1))
        self.energy: list[np.ndarray] = []  # per 10 ms: K-weighted sum of squares per channel
        self.fold_energy: list[np.ndarray] = []  # front pair folded to mono, per channel of a dual-mono pair
        self.block_peak: list[np.ndarray] = []  # per 10 ms: peak over channels
        self.peak = np.zeros(channels)
        self.sums = np.zeros(channels)
        self.pair = np.zeros(5)  # sum L, sum R, sum LL, sum RR, sum LR
        self.psd: np.ndarray | None = None
        self.window = np.hanning(2048).astype(np.float32)
        self.spectrum_pos = 0
        self.spectrum_carry: np.ndarray | None = None
        self.frames = 0
        self.carry: tuple[np.ndarray, np.ndarray] | None = None  # K-weighted and |x| of a partial 10 ms

    def feed(self, decoded: np.ndarray) -> None:
        """Measure one chunk of float32 samples laid out (2 * channels, samples): the signal, then its
        K-weighted copy (ffmpeg runs the K-weighting in the decode graph, see `stream_audio`)."""
        chunk, k = decoded[: self.channels], decoded[self.channels:]
        offset = self.frames
        self.frames += chunk.shape[1]
        absx = np.abs(chunk)
        peak = absx.max(axis=1)
        self.peak = np.maximum(self.peak, peak)
        sums = chunk.sum(axis=1)  # float32, summed pairwise: a chunk's sum is good to a few parts in 10^7
        self.sums += sums
        for ch, runs in enumerate(self.clips):
            if peak[ch] >= CLIP_LEVEL or runs.open_start is not None:
                runs.feed(absx[ch] >= CLIP_LEVEL, offset)
        if self.zeros.open_start is not None or absx[0].min() == 0.0:
            self.zeros.feed(~np.any(chunk != 0.0, axis=0), offset)
        self.true_peak.feed(chunk)
        if self.channels >= 2:
            front = chunk[:2]
            products = front @ front.T  # sums of LL, LR, RR in one small BLAS product (see true_peak.py)
            self.pair += (sums[0], sums[1], products[0, 0], products[1, 1], products[0, 1])
        self._spectrum(chunk)
        if self.carry is not None:
            k, absx = (np.concatenate([old, new], axis=1) for old, new in zip(self.carry, (k, absx), strict=True))
        whole = (k.shape[1] // self.sub) * self.sub
        self.carry = (k[:, whole:], absx[:, whole:]) if whole < k.shape[1] else None
        if not whole:
            return
        shape = (self.channels, whole // self.sub, self.sub)
        kb = k[:, :whole].reshape(shape)
        # float32 sums over 480 samples are exact enough; everything after them runs in float64.
        self.energy.append(np.einsum("cij,cij->ic", kb, kb).astype(np.float64))
        if self.channels >= 2:
            fold = (kb[0] + kb[1]) / 2
            self.fold_energy.append(np.einsum("ij,ij->i", fold, fold).astype(np.float64))
        self.block_peak.append(absx[:, :whole].reshape(shape).max(axis=(0, 2)))

    def _spectrum(self, x: np.ndarray) -> None:
        """Average power spectrum per channel from Hann-windowed 2048-sample frames.

        Every fourth frame is plenty for an average (every sixteenth past a minute of programme, still
        hundreds of frames); frames are counted over the whole stream, so the result does not depend on
        where chunks happen to break.
        """
        size, stride = 2048, self.spectrum_stride
        start = (-self.spectrum_pos) % stride  # first sample of the next analysed frame in this chunk
        self.spectrum_pos += x.shape[1]
        if self.spectrum_carry is not None:  # a frame that began in the previous chunk
            head = np.concatenate([self.spectrum_carry, x[:, : size - self.spectrum_carry.shape[1]]], axis=1)
            self.spectrum_carry = None
            if head.shape[1] == size:
                self._add_frames(head[:, None, :])
            else:
                self.spectrum_carry = head
                return
        count = max(0, (x.shape[1] - start + stride - 1) // stride)
        starts = start + stride * np.arange(count)
        whole = starts[starts + size <= x.shape[1]]
        if whole.size:
            self._add_frames(x[:, whole[:, None] + np.arange(size)])
        if count > whole.size:  # the last frame runs into the next chunk
            self.spectrum_carry = x[:, starts[-1]:]

    def _add_frames(self, frames: np.ndarray) -> None:
        spectrum = np.fft.rfft(frames * self.window, axis=-1)
        power = (spectrum.real ** 2 + spectrum.imag ** 2).sum(axis=1, dtype=np.float64)
        self.psd = power if self.psd is None else self.psd + power

    def _phone_loss(self, freqs: np.ndarray) -> float | None:
        """Loudness lost when a phone speaker drops everything under PHONE_HIGHPASS_HZ.

        From the average spectrum: K-weighted power with and without a 4th-order high-pass, channels
        weighted as in BS.1770 (ungated: an estimate, which is all a 4 LU warning needs).
        """
        assert self.psd is not None
        k_power = k_weighting_power(freqs, self.rate)
        phone_power = butterworth_highpass_power(freqs, PHONE_HIGHPASS_HZ, 4, self.rate)
        weighted = (self.weights[:, None] * self.psd * k_power).sum()
        through = (self.weights[:, None] * self.psd * k_power * phone_power).sum()
        if weighted <= 0:
            return None
        return float(10 * math.log10(weighted / through)) if through > 0 else 99.0

    def result(self, source_rate: int) -> Measurements:
        rate, sub = self.rate, self.sub
        for runs in (*self.clips, self.zeros):
            runs.finish(self.frames)
        energy = np.concatenate(self.energy) if self.energy else np.zeros((0, self.channels))
        block_peak = np.concatenate(self.block_peak) if self.block_peak else np.zeros(0)
        weighted = energy @ self.weights
        momentary = _sliding(weighted, 40) / (40 * sub)
        short_term = _sliding(weighted, 300) / (300 * sub)
        gating = _sliding(energy, 40)[::10] / (40 * sub)  # 400 ms blocks, 100 ms hop, per channel
        integrated, gated = _gated_loudness(gating @ self.weights)
        channel_lufs = [
            float(lufs(gating[gated, ch].mean())) if gated.any() else float("-inf") for ch in range(self.channels)
        ]
        lr_corr = fold_loss = None
        if self.channels >= 2 and self.frames:
            n = self.frames
            sl, sr, sll, srr, slr = self.pair
            var_l, var_r = sll - sl * sl / n, srr - sr * sr / n
            if var_l > 1e-12 and var_r > 1e-12:
                lr_corr = float((slr - sl * sr / n) / math.sqrt(var_l * var_r))
            fold = np.concatenate(self.fold_energy) if self.fold_energy else np.zeros(0)
            pair_int, _ = _gated_loudness((_sliding(energy[:, :2], 40)[::10] / (40 * sub)).sum(axis=1))
            fold_int, _ = _gated_loudness(2 * _sliding(fold, 40)[::10] / (40 * sub))
            if math.isfinite(pair_int):
                fold_loss = float(pair_int - fold_int) if math.isfinite(fold_int) else 99.0
        hf = phone_loss = None
        if self.psd is not None and self.psd.sum() > 0:
            freqs = np.fft.rfftfreq(2048, 1 / rate)
            total = self.psd.sum(axis=0)
            if rate >= 2 * HF_SPLIT_HZ + 4000:
                above = total[freqs >= HF_SPLIT_HZ].sum()
                hf = float(10 * math.log10(above / total.sum())) if above > 0 else -150.0
            phone_loss = self._phone_loss(freqs) if math.isfinite(integrated) else None
        silent_blocks = block_peak < 10 ** (SILENCE_DBFS / 20)
        silence = _Runs(1)
        silence.feed(silent_blocks, 0)
        silence.finish(silent_blocks.size)
        clip_positions = sorted(start for runs in self.clips for start, _ in runs.kept)
        return Measurements(
            sample_rate_hz=source_rate,
            decode_rate_hz=rate,
            channels=self.channels,
            layout=self.layout,
            channel_names=channel_names(self.layout, self.channels),
            frames=self.frames,
            duration_s=self.frames / rate,
            integrated_lufs=integrated,
            loudness_range_lu=_loudness_range(short_term[::10]),
            max_momentary_lufs=float(lufs(momentary.max())) if momentary.size else None,
            max_short_term_lufs=float(lufs(short_term.max())) if short_term.size else None,
            true_peak_dbtp=db(self.true_peak.finish()),
            sample_peak_dbfs=db(float(self.peak.max()) if self.channels else 0.0),
            channel_peak_dbfs=[db(float(p)) for p in self.peak],
            channel_lufs=channel_lufs,
            dc_offset=[float(s / self.frames) if self.frames else 0.0 for s in self.sums],
            clip_runs=sum(runs.count for runs in self.clips),
            clip_positions_s=[p / rate for p in clip_positions[:KEEP_RUNS]],
            zero_runs_s=[(s / rate, e / rate) for s, e in self.zeros.kept],
            silence_runs_s=[(s * sub / rate, min(e * sub, self.frames) / rate) for s, e in silence.kept],
            lr_correlation=lr_corr,
            mono_fold_loss_lu=fold_loss,
            phone_loss_lu=phone_loss,
            hf_energy_db=hf,
        )


def _sliding(values: np.ndarray, width: int) -> np.ndarray:
    """Sums of `width` consecutive rows (complete windows only)."""
    if values.shape[0] < width:
        return np.zeros((0, *values.shape[1:]))
    cum = np.concatenate([np.zeros((1, *values.shape[1:])), np.cumsum(values, axis=0)])
    return np.asarray(cum[width:] - cum[:-width])


def _gated_loudness(blocks: np.ndarray) -> tuple[float, np.ndarray]:
    """BS.1770 two-stage gating over block mean squares (already channel-weighted)."""
    loud = lufs(blocks)
    above = np.asarray(loud > ABSOLUTE_GATE_LUFS)
    if not above.any():
        return float("-inf"), above
    relative = float(lufs(blocks[above].mean())) - 10.0
    gated = np.asarray(above & (loud > relative))
    return float(lufs(blocks[gated].mean())), gated


def _loudness_range(short_term: np.ndarray) -> float | None:
    """EBU Tech 3342: short-term loudness (3 s, 10 Hz), gated at -70 LUFS and -20 LU; 95th - 10th percentile."""
    if not short_term.size:
        return None
    loud = lufs(short_term)
    kept = short_term[loud > ABSOLUTE_GATE_LUFS]
    if not kept.size:
        return None
    relative = float(lufs(kept.mean())) - 20.0
    values = lufs(kept)
    values = values[values > relative]
    return float(np.percentile(values, 95) - np.percentile(values, 10))


def measure_file(path: Path, info: MediaInfo | None = None, *, chunk_s: float = CHUNK_S,
                 also: Callable[[np.ndarray], None] | None = None, decode_picture: bool = False) -> Measurements:
    """Decode the first audio stream of `path` once, in chunks, and measure it; count the picture's length too.

    `also`, when given, sees every chunk as well (e.g. a waveform being drawn in the same pass). With
    `decode_picture`, the same ffmpeg run decodes the picture and a decode error raises UndecodableMedia.
    """
    info = info or probe_media(path)
    if not info.has_audio:
        raise MediaError("the file has no audio track")
    channels = info.channels or 2
    rate = decode_rate(info.sample_rate_hz)
    meters = _Meters(rate, channels, layout_for(info.channel_layout, channels), info.duration_s)

    def feed(decoded: np.ndarray) -> None:
        meters.feed(decoded)
        if also is not None:
            also(decoded[:channels])

    with tempfile.TemporaryDirectory(prefix="dailies-measure-") as tmp:
        listing = Path(tmp) if info.has_video else None
        stream_audio(path, info, feed, rate=rate, channels=channels, chunk_s=chunk_s, k_weighted=True,
                     picture_listing_to=listing, decode_picture=decode_picture)
        video_s = video_duration_s(listing) if listing is not None else None
    result = meters.result(info.sample_rate_hz or rate)
    result.video_duration_s = video_s
    result.codec = info.audio_codec
    return result
