"""Stream-decode a file's audio with ffmpeg and measure it in one pass, chunk by chunk.

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

import contextlib
import fcntl
import math
import queue
import subprocess
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import ffmpeg
import numpy as np
import numpy.typing as npt

from adapters.media import MediaError, MediaInfo, command_line, not_clean, open_input, probe_media
from jobs.audio.filters import butterworth_highpass_power, k_weighting, k_weighting_power
from jobs.audio.true_peak import TruePeakMeter

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


def decode_rate(source_rate: int | None) -> int:
    """Measure at the source rate when 10 ms is a whole number of samples; otherwise resample to 48 kHz."""
    if source_rate and source_rate % 100 == 0 and 8000 <= source_rate <= 192000:
        return source_rate
    return 48000


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
        self.sums += chunk.sum(axis=1, dtype=np.float64)
        for ch, runs in enumerate(self.clips):
            if peak[ch] >= CLIP_LEVEL or runs.open_start is not None:
                runs.feed(absx[ch] >= CLIP_LEVEL, offset)
        if self.zeros.open_start is not None or np.count_nonzero(chunk[0]) < chunk.shape[1]:
            self.zeros.feed(~np.any(chunk != 0.0, axis=0), offset)
        self.true_peak.feed(chunk)
        if self.channels >= 2:
            left, right = chunk[0].astype(np.float64), chunk[1].astype(np.float64)
            self.pair += (left.sum(), right.sum(), np.einsum("i,i->", left, left),
                          np.einsum("i,i->", right, right), np.einsum("i,i->", left, right))  # not BLAS: true_peak.py
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


def _widen_pipe(fd: int) -> None:
    """Ask for a 1 MiB pipe (Linux): with the default 64 KiB, ffmpeg and the reader hand over 16 times as often."""
    with contextlib.suppress(AttributeError, OSError):
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)


class UndecodableMedia(MediaError):
    """The file did not decode cleanly (with `decode_picture`: picture or sound); the message says how."""


def decode_graph(path: Path, *, rate: int, channels: int, layout: str, k_weighted: bool,
                 video_crc: Path | None, decode_picture: bool = False) -> list[str]:
    """The ffmpeg command line that decodes the first audio stream to float32 at `rate` on stdout.

    With `k_weighted`, each frame carries the signal's channels and then their K-weighted copies:
    ffmpeg runs the two BS.1770 biquads (in double precision) on its own core while Python measures.
    With `video_crc`, the same run copies the first video stream's packets (nothing decoded) into a
    framecrc listing, from which the picture's length is read; with `decode_picture` too, it decodes the
    picture instead (a provider's file is posted only if every frame decodes), on ffmpeg's own threads.
    """
    source = open_input(path)
    named = layout if layout in LAYOUT_WEIGHTS else f"{channels}c"
    audio = source["a:0"].filter("aformat", sample_fmts="flt", sample_rates=rate, channel_layouts=named)
    if k_weighted:
        split = audio.filter_multi_output("asplit", 2)
        signal, weighted = split[0], split[1]
        for b0, b1, b2, a0, a1, a2 in k_weighting(rate):
            weighted = weighted.filter("biquad", b0=b0, b1=b1, b2=b2, a0=a0, a1=a1, a2=a2, precision="f64", transform="tdii")
        audio = ffmpeg.filter([signal, weighted], "amerge", inputs=2)
    # Frames of 1 s instead of the decoder's 1024 samples: far fewer hand-offs between ffmpeg's threads
    # and writes to the pipe.
    audio = audio.filter("asetnsamples", n=rate, p=0)  # p=0: the last frame is not padded with silence
    outputs = [audio.output("pipe:", f="f32le", acodec="pcm_f32le")]
    if video_crc is not None:
        picture = {} if decode_picture else {"c": "copy"}
        outputs.append(source["v:0"].output(str(video_crc), f="framecrc", **picture))
    # One filter thread: slicing two biquads across channels costs more in hand-offs than it saves.
    return command_line(ffmpeg.merge_outputs(*outputs).global_args("-v", "error", "-filter_complex_threads", "1"))


def stream_audio(path: Path, info: MediaInfo, on_chunk: Callable[[np.ndarray], None], *, rate: int,
                 channels: int, chunk_s: float = CHUNK_S, k_weighted: bool = False,
                 video_crc: Path | None = None, decode_picture: bool = False) -> int:
    """Decode the first audio stream to float32 and hand it over in (channels, samples) chunks
    ((2 * channels, samples) with `k_weighted`, see `decode_graph`). Returns the frames decoded.

    With `decode_picture`, any decode error (picture or sound) raises UndecodableMedia at the end."""
    layout = layout_for(info.channel_layout, channels)
    args = decode_graph(path, rate=rate, channels=channels, layout=layout, k_weighted=k_weighted,
                        video_crc=video_crc, decode_picture=decode_picture)
    width = 2 * channels if k_weighted else channels
    frame_bytes = 4 * width
    chunk_frames = max(1, int(chunk_s * 100)) * max(1, rate // 100)
    frames = 0
    with tempfile.TemporaryFile() as err, subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err) as proc:
        assert proc.stdout is not None
        _widen_pipe(proc.stdout.fileno())
        # A reader thread lets ffmpeg decode the next chunk while this one is measured.
        chunks: queue.Queue[bytes] = queue.Queue(maxsize=2)
        reader = threading.Thread(target=_read_chunks, args=(proc.stdout, chunk_frames * frame_bytes, chunks),
                                  daemon=True)
        reader.start()
        try:
            while data := chunks.get():
                # Reads are whole chunks of whole frames; only a truncated stream ends mid-frame.
                usable = len(data) - len(data) % frame_bytes
                if usable:
                    chunk = np.frombuffer(data, dtype=np.float32, count=usable // 4).reshape(-1, width).T.copy()
                    frames += chunk.shape[1]
                    on_chunk(chunk)
        finally:
            if proc.poll() is None and reader.is_alive():
                proc.kill()
            reader.join()
        code = proc.wait()
        err.seek(0)
        problems = [line.strip() for line in err.read().decode(errors="replace").splitlines() if line.strip()]
        if code != 0:
            raise MediaError("ffmpeg could not decode the audio: " + " ".join(problems[-3:]))
        if decode_picture and problems:
            raise UndecodableMedia(not_clean(problems))
    return frames


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
        crc = Path(tmp) / "video.crc" if info.has_video else None
        stream_audio(path, info, feed, rate=rate, channels=channels, chunk_s=chunk_s, k_weighted=True,
                     video_crc=crc, decode_picture=decode_picture)
        video_s = _video_duration_s(crc) if crc is not None else None
    result = meters.result(info.sample_rate_hz or rate)
    result.video_duration_s = video_s
    result.codec = info.audio_codec
    return result
