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

import numpy as np

from adapters.media import MediaError, MediaInfo, ffmpeg_exe, input_args, movie_source, not_clean
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


def _decode_errors(problems: list[str]) -> list[str]:
    """ffmpeg's lines about the file, without its scheduler's lines about stopping (which repeat the cause)."""
    noise = ("Task finished with error code", "Terminating thread with return code")
    return [line for line in problems if not any(word in line for word in noise)]


class UndecodableMedia(MediaError):
    """The file did not decode cleanly (with `decode_picture`: picture or sound); the message says how."""


def decode_graph(path: Path, *, rate: int, channels: int, layout: str, k_weighted: bool,
                 video_crc: Path | None, decode_picture: bool = False) -> list[str]:
    """The ffmpeg command line that decodes the first audio stream to float32 at `rate` on stdout.

    The sound is read by a source filter (`amovie`), so demuxing, decoding and filtering run in one thread with
    no hand-off per decoded frame (the CLI's own input would pass each 1,024-sample frame between three threads:
    most of a bare decode's time goes on that). With `k_weighted`, each frame carries the signal's channels and
    then their K-weighted copies: the two BS.1770 biquads run in double precision in that same thread while
    Python measures on the other core. With `video_crc`, the same run copies the first video stream's packets
    (nothing decoded) into a framecrc listing, from which the picture's length is read; with `decode_picture`
    too, it decodes the picture instead (a provider's file is posted only if every frame decodes), on ffmpeg's
    own threads.
    """
    named = layout if layout in LAYOUT_WEIGHTS else f"{channels}c"
    sound = f"{movie_source(path)},aformat=sample_fmts=flt:sample_rates={rate}:channel_layouts={named}"
    # Frames of 1 s instead of the decoder's 1,024 samples: far fewer writes to the pipe.
    frames = f"asetnsamples=n={rate}:p=0"  # p=0: the last frame is not padded with silence
    if k_weighted:
        weighting = ",".join(f"biquad=b0={b0!r}:b1={b1!r}:b2={b2!r}:a0={a0!r}:a1={a1!r}:a2={a2!r}:precision=f64:"
                             "transform=tdii" for b0, b1, b2, a0, a1, a2 in k_weighting(rate))
        graph = (f"{sound},asplit=2[signal][raw];[raw]{weighting}[weighted];"
                 f"[signal][weighted]amerge=inputs=2,{frames}[out]")
    else:
        graph = f"{sound},{frames}[out]"
    args = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-v", "error", "-filter_complex_threads", "1",
            "-filter_complex", graph, "-map", "[out]", "-f", "f32le", "-c:a", "pcm_f32le", "pipe:"]
    if video_crc is not None:
        args += [*input_args(path), "-map", "0:v:0", *([] if decode_picture else ["-c", "copy"]), "-f", "framecrc",
                 str(video_crc)]
    return args


def stream_audio(path: Path, info: MediaInfo, on_chunk: Callable[[np.ndarray], None], *, rate: int,
                 channels: int, chunk_s: float = CHUNK_S, k_weighted: bool = False,
                 video_crc: Path | None = None, decode_picture: bool = False) -> int:
    """Decode the first audio stream to float32 and hand it over in (channels, samples) chunks
    ((2 * channels, samples) with `k_weighted`, see `decode_graph`). Returns the frames decoded.

    A run that ffmpeg ends early raises UndecodableMedia; with `decode_picture`, so does any decode error (picture
    or sound) logged on the way."""
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
            # The amovie source ends the run at the first packet it cannot decode (the CLI's own input logged it
            # and went on): a damaged or truncated file, said the same way as a decode error found at the end.
            raise UndecodableMedia(not_clean(_decode_errors(problems) or ["ffmpeg stopped decoding"]))
        if decode_picture and problems:
            raise UndecodableMedia(not_clean(problems))
    return frames
