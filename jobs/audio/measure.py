"""Stream-decode a file's audio with ffmpeg and measure it in one pass, chunk by chunk.

Nothing here holds the whole programme in memory: ffmpeg decodes the first
audio stream to float32 (never 16-bit, so overs stay visible) into a pipe, and
each chunk feeds every meter. What is kept per 10 ms of audio is a handful of
numbers (K-weighted energies, a peak), so a 10-minute file costs a few MB.

Loudness follows ITU-R BS.1770-4 / EBU R128 with pyloudnorm's K-weighting
filters: 400 ms momentary blocks, 3 s short-term blocks, both slid with a 10 ms
hop for their maxima; integrated loudness gates 400 ms blocks on a 100 ms hop
(-70 LUFS absolute, -10 LU relative); loudness range follows EBU Tech 3342.
True peak is the maximum of a 4x oversampled signal (2x at 96 kHz).
"""

from __future__ import annotations

import math
import queue
import subprocess
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
from pyloudnorm.iirfilter import IIRfilter
from scipy.signal import butter, firwin, sosfilt, sosfreqz, upfirdn

from adapters.media import MediaError, MediaInfo, ffmpeg_exe, input_args, probe_media

ABSOLUTE_GATE_LUFS = -70.0
SILENCE_DBFS = -50.0  # a 10 ms block whose peak stays under this is silence (as silencedetect n=-50dB)
CLIP_LEVEL = 0.999  # |x| at or over this counts as full scale
CLIP_RUN_SAMPLES = 3  # a clip is this many consecutive full-scale samples
ZERO_RUN_S = 0.005  # digital-zero runs longer than this are dropouts
PHONE_HIGHPASS_HZ = 180.0  # a phone speaker plays little below this
HF_SPLIT_HZ = 10000.0  # energy above this tells audio that was upsampled from a low rate
CHUNK_S = 5.0
KEEP_RUNS = 200  # positions kept per kind of run; counts are always exact

# BS.1770 channel weights by ffmpeg layout, in ffmpeg's channel order. LFE weighs 0 (excluded).
_S = 1.41
LAYOUT_WEIGHTS: dict[str, tuple[float, ...]] = {
    "mono": (1.0,),
    "stereo": (1.0, 1.0),
    "2.1": (1.0, 1.0, 0.0),
    "3.0": (1.0, 1.0, 1.0),
    "quad": (1.0, 1.0, _S, _S),
    "4.0": (1.0, 1.0, 1.0, _S),
    "5.0": (1.0, 1.0, 1.0, _S, _S),
    "5.0(side)": (1.0, 1.0, 1.0, _S, _S),
    "5.1": (1.0, 1.0, 1.0, 0.0, _S, _S),
    "5.1(side)": (1.0, 1.0, 1.0, 0.0, _S, _S),
    "6.1": (1.0, 1.0, 1.0, 0.0, _S, _S, _S),
    "7.1": (1.0, 1.0, 1.0, 0.0, _S, _S, _S, _S),
}
_BY_COUNT = {1: "mono", 2: "stereo", 5: "5.0", 6: "5.1", 8: "7.1"}
CHANNEL_NAMES: dict[str, tuple[str, ...]] = {
    "mono": ("M",), "stereo": ("L", "R"), "2.1": ("L", "R", "LFE"), "3.0": ("L", "R", "C"),
    "quad": ("L", "R", "Ls", "Rs"), "4.0": ("L", "R", "C", "Cs"), "5.0": ("L", "R", "C", "Ls", "Rs"),
    "5.1": ("L", "R", "C", "LFE", "Ls", "Rs"), "6.1": ("L", "R", "C", "LFE", "Cs", "Ls", "Rs"),
    "7.1": ("L", "R", "C", "LFE", "Lb", "Rb", "Ls", "Rs"),
}


def layout_for(channel_layout: str | None, channels: int) -> str:
    """The layout name we weigh by: ffmpeg's own when known, else the usual one for the count."""
    if channel_layout in LAYOUT_WEIGHTS and len(LAYOUT_WEIGHTS[channel_layout]) == channels:
        return channel_layout
    return _BY_COUNT.get(channels, f"{channels} channels")


def channel_weights(layout: str, channels: int) -> np.ndarray:
    return np.array(LAYOUT_WEIGHTS.get(layout, (1.0,) * channels), dtype=np.float64)


def channel_names(layout: str, channels: int) -> tuple[str, ...]:
    names = CHANNEL_NAMES.get(layout.replace("(side)", ""))
    return names if names and len(names) == channels else tuple(f"ch{i + 1}" for i in range(channels))


def k_weighting_sos(rate: int) -> np.ndarray:
    """pyloudnorm's BS.1770 K-weighting (high shelf, then high-pass) as second-order sections."""
    shelf = IIRfilter(4.0, 1 / np.sqrt(2), 1500.0, rate, "high_shelf")
    highpass = IIRfilter(0.0, 0.5, 38.0, rate, "high_pass")
    return np.array([[*shelf.b, *shelf.a], [*highpass.b, *highpass.a]], dtype=np.float64)


def lufs(mean_square: float | np.ndarray) -> float | np.ndarray:
    with np.errstate(divide="ignore"):
        return -0.691 + 10 * np.log10(mean_square)


def db(value: float) -> float:
    return 20 * math.log10(value) if value > 0 else float("-inf")


class _SosStream:
    """A cascade of biquads applied chunk after chunk (channels, samples) with its state carried over."""

    def __init__(self, sos: np.ndarray, channels: int) -> None:
        self.sos = sos
        self.zi = np.zeros((sos.shape[0], channels, 2))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y, self.zi = sosfilt(self.sos, x, axis=-1, zi=self.zi)
        return y


class _TruePeak:
    """Max |x| after polyphase oversampling; the filter's history is carried between chunks.

    A stretch of samples can only produce an interpolated value as large as its own peak times
    the filter's largest phase gain (sum of |taps|), so stretches that cannot beat the peak found
    so far are skipped: the result is exact, only cheaper.
    """

    SEGMENT = 4096

    def __init__(self, rate: int, channels: int) -> None:
        self.up = 4 if rate <= 48000 else 2 if rate <= 96000 else 1
        # A 49-tap windowed-sinc interpolator (BS.1770-4 Annex 2 uses 48 taps at 4x).
        half = 6 * self.up
        taps = firwin(2 * half + 1, 1.0 / self.up, window=("kaiser", 5.0)) * self.up
        self.taps = taps.astype(np.float32)
        self.gain = max(float(np.abs(taps[p:: self.up]).sum()) for p in range(self.up))
        self.history = int(math.ceil(len(self.taps) / self.up))
        self.tail = np.zeros((channels, self.history), dtype=np.float32)
        self.peak = 0.0

    def feed(self, x: np.ndarray) -> None:
        n = x.shape[1]
        if not n:
            return
        if self.up == 1:
            self.peak = max(self.peak, float(np.max(np.abs(x))))
            return
        hist, size = self.history, self.SEGMENT
        block = np.concatenate([self.tail, x], axis=1)
        self.tail = block[:, -hist:]
        count = -(-n // size)
        padded = np.zeros((x.shape[0], count * size), dtype=np.float32)
        padded[:, :n] = np.abs(x)
        seg_peak = padded.reshape(x.shape[0], count, size).max(axis=(0, 2))
        before = np.concatenate([[float(np.abs(block[:, :hist]).max())], seg_peak[:-1]])
        bound = np.maximum(seg_peak, before) * self.gain  # the window of each segment's outputs
        order = np.argsort(-seg_peak)
        self._segment(block, order[0], n)  # the loudest first: it sets the bar the others must beat
        if np.count_nonzero(bound[order[1:]] > self.peak) > count // 2:  # most could matter: one pass is cheaper
            out = upfirdn(self.taps, block, up=self.up, axis=-1)
            self.peak = max(self.peak, float(np.max(np.abs(out[:, self.up * hist: self.up * block.shape[1]]))))
            return
        for i in order[1:]:
            if bound[i] > self.peak:
                self._segment(block, i, n)

    def _segment(self, block: np.ndarray, i: int, n: int) -> None:
        hist, size = self.history, self.SEGMENT
        start, stop = i * size, min((i + 1) * size, n) + hist
        out = upfirdn(self.taps, block[:, start:stop], up=self.up, axis=-1)
        self.peak = max(self.peak, float(np.max(np.abs(out[:, self.up * hist: self.up * (stop - start)]))))

    def finish(self) -> float:
        self.feed(np.zeros_like(self.tail))
        return self.peak


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
        starts = list(np.flatnonzero(edges == 1) + offset)
        ends = list(np.flatnonzero(edges == -1) + offset)
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


def decode_rate(source_rate: int | None) -> int:
    """Measure at the source rate when 10 ms is a whole number of samples; otherwise resample to 48 kHz."""
    if source_rate and source_rate % 100 == 0 and 8000 <= source_rate <= 192000:
        return source_rate
    return 48000


class _Meters:
    """Everything measured per chunk; `result()` turns the accumulators into Measurements."""

    def __init__(self, rate: int, channels: int, layout: str) -> None:
        self.rate, self.channels, self.layout = rate, channels, layout
        self.sub = rate // 100  # samples per 10 ms sub-block
        self.weights = channel_weights(layout, channels)
        self.kweight = _SosStream(k_weighting_sos(rate), channels)
        self.true_peak = _TruePeak(rate, channels)
        self.clips = [_Runs(CLIP_RUN_SAMPLES) for _ in range(channels)]
        self.zeros = _Runs(max(1, int(round(ZERO_RUN_S * rate)) + 1))
        self.energy: list[np.ndarray] = []  # per 10 ms: K-weighted sum of squares per channel
        self.fold_energy: list[np.ndarray] = []  # front pair folded to mono, per channel of a dual-mono pair
        self.block_peak: list[np.ndarray] = []  # per 10 ms: peak over channels
        self.peak = np.zeros(channels)
        self.sums = np.zeros(channels)
        self.pair = np.zeros(5)  # sum L, sum R, sum LL, sum RR, sum LR
        self.psd: np.ndarray | None = None
        self.window = np.hanning(2048)
        self.spectrum_pos = 0
        self.spectrum_carry: np.ndarray | None = None
        self.frames = 0
        self.carry: tuple[np.ndarray, np.ndarray] | None = None  # K-weighted and |x| of a partial 10 ms

    def feed(self, chunk: np.ndarray) -> None:
        """Measure one chunk of float32 samples laid out (channels, samples)."""
        offset = self.frames
        self.frames += chunk.shape[1]
        absx = np.abs(chunk)
        peak = absx.max(axis=1)
        self.peak = np.maximum(self.peak, peak)
        self.sums += chunk.sum(axis=1, dtype=np.float64)
        for ch, runs in enumerate(self.clips):
            if peak[ch] >= CLIP_LEVEL or runs.open_start is not None:
                runs.feed(absx[ch] >= CLIP_LEVEL, offset)
        if self.zeros.open_start is not None or np.count_nonzero(chunk[0]) < chunk.shape[1]:
            self.zeros.feed(~np.any(chunk != 0.0, axis=0), offset)
        self.true_peak.feed(chunk)
        x = chunk.astype(np.float64)
        if self.channels >= 2:
            left, right = x[0], x[1]
            self.pair += (left.sum(), right.sum(), left @ left, right @ right, left @ right)
        self._spectrum(x)
        k = self.kweight(x)
        if self.carry is not None:
            k, absx = (np.concatenate([old, new], axis=1) for old, new in zip(self.carry, (k, absx), strict=True))
        whole = (k.shape[1] // self.sub) * self.sub
        self.carry = (k[:, whole:], absx[:, whole:]) if whole < k.shape[1] else None
        if not whole:
            return
        shape = (self.channels, whole // self.sub, self.sub)
        kb = k[:, :whole].reshape(shape)
        self.energy.append(np.einsum("cij,cij->ic", kb, kb))
        if self.channels >= 2:
            fold = (kb[0] + kb[1]) / 2
            self.fold_energy.append(np.einsum("ij,ij->i", fold, fold))
        self.block_peak.append(absx[:, :whole].reshape(shape).max(axis=(0, 2)))

    def _spectrum(self, x: np.ndarray) -> None:
        """Average power spectrum per channel from Hann-windowed 2048-sample frames.

        Every fourth frame is plenty for an average; frames are counted over the whole stream, so
        the result does not depend on where chunks happen to break.
        """
        size, stride = 2048, 4 * 2048
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
        power = (np.abs(np.fft.rfft(frames * self.window, axis=-1)) ** 2).sum(axis=1)
        self.psd = power if self.psd is None else self.psd + power

    def _phone_loss(self, freqs: np.ndarray) -> float | None:
        """Loudness lost when a phone speaker drops everything under PHONE_HIGHPASS_HZ.

        From the average spectrum: K-weighted power with and without a 4th-order high-pass, channels
        weighted as in BS.1770 (ungated: an estimate, which is all a 4 LU warning needs).
        """
        assert self.psd is not None
        _, k_response = sosfreqz(k_weighting_sos(self.rate), worN=freqs, fs=self.rate)
        _, phone = sosfreqz(butter(4, PHONE_HIGHPASS_HZ, "highpass", fs=self.rate, output="sos"), worN=freqs,
                            fs=self.rate)
        weighted = (self.weights[:, None] * self.psd * np.abs(k_response) ** 2).sum()
        through = (self.weights[:, None] * self.psd * np.abs(k_response * phone) ** 2).sum()
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
    return cum[width:] - cum[:-width]


def _gated_loudness(blocks: np.ndarray) -> tuple[float, np.ndarray]:
    """BS.1770 two-stage gating over block mean squares (already channel-weighted)."""
    loud = lufs(blocks)
    above = loud > ABSOLUTE_GATE_LUFS
    if not above.any():
        return float("-inf"), above
    relative = float(lufs(blocks[above].mean())) - 10.0
    gated = above & (loud > relative)
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


def _video_duration_s(framecrc: Path) -> float | None:
    """Picture length from the packets' own timestamps (a stream copy, nothing decoded)."""
    try:
        lines = framecrc.read_text(errors="replace").splitlines()
    except OSError:
        return None
    timebase = None
    first = last = None
    for line in lines:
        if line.startswith("#tb 0:"):
            num, den = line.split(":", 1)[1].strip().split("/")
            timebase = int(num) / int(den)
        elif line and not line.startswith("#"):
            parts = [p.strip() for p in line.split(",")]
            pts, duration = int(parts[1]), int(parts[3])
            first = pts if first is None else min(first, pts)
            last = pts + duration if last is None else max(last, pts + duration)
    if timebase is None or first is None or last is None:
        return None
    return (last - first) * timebase


def _read_chunks(stream: IO[bytes], size: int, out: queue.Queue[bytes]) -> None:
    try:
        while data := stream.read(size):
            out.put(data)
    finally:
        out.put(b"")


def stream_audio(path: Path, info: MediaInfo, on_chunk: Callable[[np.ndarray], None], *, rate: int,
                 channels: int, chunk_s: float = CHUNK_S, video_crc: Path | None = None) -> int:
    """Decode the first audio stream to float32 and hand it over in (channels, samples) chunks.

    With `video_crc`, the same ffmpeg run also copies the first video stream's packets (nothing
    decoded) into a framecrc listing, from which the picture's length is read. Returns the frames decoded.
    """
    frame_bytes = 4 * channels
    chunk_frames = max(1, int(chunk_s * 100)) * max(1, rate // 100)
    args = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", *input_args(path),
            "-map", "0:a:0", "-f", "f32le", "-acodec", "pcm_f32le", "-ac", str(channels), "-ar", str(rate), "-"]
    if video_crc is not None:
        args += ["-map", "0:v:0", "-c", "copy", "-f", "framecrc", "-y", str(video_crc)]
    frames = 0
    with tempfile.TemporaryFile() as err, subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err) as proc:
        assert proc.stdout is not None
        # A reader thread lets ffmpeg decode the next chunk while this one is measured.
        chunks: queue.Queue[bytes] = queue.Queue(maxsize=2)
        reader = threading.Thread(target=_read_chunks, args=(proc.stdout, chunk_frames * frame_bytes, chunks),
                                  daemon=True)
        reader.start()
        pending = b""
        try:
            while data := chunks.get():
                data = pending + data
                usable = len(data) - len(data) % frame_bytes
                pending = data[usable:]
                if usable:
                    chunk = np.frombuffer(data[:usable], dtype=np.float32).reshape(-1, channels).T.copy()
                    frames += chunk.shape[1]
                    on_chunk(chunk)
        finally:
            if proc.poll() is None and reader.is_alive():
                proc.kill()
            reader.join()
        code = proc.wait()
        if code != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip().splitlines()[-3:]
            raise MediaError("ffmpeg could not decode the audio: " + " ".join(tail))
    return frames


def measure_file(path: Path, info: MediaInfo | None = None, *, chunk_s: float = CHUNK_S,
                 also: Callable[[np.ndarray], None] | None = None) -> Measurements:
    """Decode the first audio stream of `path` once, in chunks, and measure it; count the picture's length too.

    `also`, when given, sees every chunk as well (e.g. a waveform being drawn in the same pass).
    """
    info = info or probe_media(path)
    if not info.has_audio:
        raise MediaError("the file has no audio track")
    channels = info.channels or 2
    rate = decode_rate(info.sample_rate_hz)
    meters = _Meters(rate, channels, layout_for(info.channel_layout, channels))

    def feed(chunk: np.ndarray) -> None:
        meters.feed(chunk)
        if also is not None:
            also(chunk)

    with tempfile.TemporaryDirectory(prefix="dailies-measure-") as tmp:
        crc = Path(tmp) / "video.crc" if info.has_video else None
        stream_audio(path, info, feed, rate=rate, channels=channels, chunk_s=chunk_s, video_crc=crc)
        video_s = _video_duration_s(crc) if crc is not None else None
    result = meters.result(info.sample_rate_hz or rate)
    result.video_duration_s = video_s
    result.codec = info.audio_codec
    return result
