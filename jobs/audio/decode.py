"""Stream-decode a file's first audio stream with ffmpeg to float32 chunks (optionally with their K-weighted
copies, made by ffmpeg on its own core), and read the picture's length from the same run."""

from __future__ import annotations

import contextlib
import fcntl
import queue
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

import ffmpeg
import numpy as np

from adapters.media import MediaError, MediaInfo, command_line, not_clean, open_input
from jobs.audio.filters import k_weighting
from jobs.audio.layouts import LAYOUT_WEIGHTS, layout_for

CHUNK_S = 5.0


def decode_rate(source_rate: int | None) -> int:
    """Measure at the source rate when 10 ms is a whole number of samples; otherwise resample to 48 kHz."""
    if source_rate and source_rate % 100 == 0 and 8000 <= source_rate <= 192000:
        return source_rate
    return 48000


def video_duration_s(framecrc: Path) -> float | None:
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
