"""Stream-decode a file's first audio stream with ffmpeg to float32 chunks (optionally with their K-weighted
copies, made by ffmpeg on its own core), and read the picture's length from the same run."""

from __future__ import annotations

import contextlib
import fcntl
import os
import queue
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

import ffmpeg
import numpy as np

from adapters.media import (
    FfmpegStream,
    MediaError,
    MediaInfo,
    command_line,
    ffmpeg_exe,
    input_args,
    movie_source,
    not_clean,
    open_input,
)
from jobs.audio.filters import k_weighting
from jobs.audio.layouts import LAYOUT_WEIGHTS, layout_for

CHUNK_S = 1.0  # a chunk and its K-weighted copy stay in cache while every meter reads them (5 s: 20 % slower)


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
    """Ask for a 1 MiB pipe (Linux): with the default 64 KiB, ffmpeg and a reader hand over 16 times as often."""
    with contextlib.suppress(AttributeError, OSError):
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)


def _decode_errors(problems: list[str]) -> list[str]:
    """ffmpeg's lines about the file, without its scheduler's lines about stopping (which repeat the cause)."""
    noise = ("Task finished with error code", "Terminating thread with return code")
    return [line for line in problems if not any(word in line for word in noise)]


class UndecodableMedia(MediaError):
    """The file did not decode cleanly (with `decode_picture`: picture or sound); the message says how."""


def decode_graph(path: Path, *, rate: int, channels: int, layout: str, k_weighted: bool,
                 video_crc: Path | None, decode_picture: bool = False, weighted_fd: int = 3) -> list[str]:
    """The ffmpeg command line that decodes the first audio stream to float32 at `rate` on stdout (fd 1).

    The sound is read by a source filter (`amovie`), so demuxing, decoding and filtering run in one thread with
    no hand-off per decoded frame (the CLI's own input would pass each 1,024-sample frame between three threads:
    most of a bare decode's time goes on that). With `k_weighted`, the signal's K-weighted copy goes to a second
    pipe, `weighted_fd`: the two BS.1770 biquads run in double precision in that same thread while Python
    measures on the other core (two outputs, not one merged stream: interleaving the two costs ffmpeg more than
    a second pipe costs Python). With `video_crc`, the same run copies the first video stream's packets
    (nothing decoded) into a framecrc listing, from which the picture's length is read; with `decode_picture`
    too, it decodes the picture instead (a provider's file is posted only if every frame decodes), on ffmpeg's
    own threads.
    """
    named = layout if layout in LAYOUT_WEIGHTS else f"{channels}c"
    sound = f"{movie_source(path)},aformat=sample_fmts=flt:sample_rates={rate}:channel_layouts={named}"
    # Frames of 1 s instead of the decoder's 1,024 samples: far fewer writes to the pipe.
    frames = f"asetnsamples=n={rate}:p=0"  # p=0: the last frame is not padded with silence
    pcm = ["-f", "f32le", "-c:a", "pcm_f32le"]
    if k_weighted:
        weighting = ",".join(f"biquad=b0={b0!r}:b1={b1!r}:b2={b2!r}:a0={a0!r}:a1={a1!r}:a2={a2!r}:precision=f64:"
                             "transform=di" for b0, b1, b2, a0, a1, a2 in k_weighting(rate))
        graph = f"{sound},asplit=2[signal][raw];[signal]{frames}[out];[raw]{weighting},{frames}[weighted]"
        outputs = ["-map", "[out]", *pcm, "pipe:1", "-map", "[weighted]", *pcm, f"pipe:{weighted_fd}"]
    else:
        graph = f"{sound},{frames}[out]"
        outputs = ["-map", "[out]", *pcm, "pipe:1"]
    args = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-v", "error", "-filter_complex_threads", "1",
            "-filter_complex", graph, *outputs]
    if video_crc is not None:
        args += [*input_args(path), "-map", "0:v:0", *([] if decode_picture else ["-c", "copy"]), "-f", "framecrc",
                 str(video_crc)]
    return args


def _start_reader(stream: IO[bytes], size: int) -> tuple[queue.Queue[bytes], threading.Thread]:
    """A thread that reads `stream` in `size`-byte pieces ahead of the consumer (b"" at the end)."""
    _widen_pipe(stream.fileno())
    pieces: queue.Queue[bytes] = queue.Queue(maxsize=4)
    reader = threading.Thread(target=_read_chunks, args=(stream, size, pieces), daemon=True)
    reader.start()
    return pieces, reader


def _planar(data: bytes, channels: int) -> np.ndarray:
    """Interleaved float32 bytes as (channels, samples); a trailing partial frame (a truncated stream) is dropped."""
    frame_bytes = 4 * channels
    usable = len(data) - len(data) % frame_bytes
    return np.frombuffer(data, dtype=np.float32, count=usable // 4).reshape(-1, channels).T


def stream_audio(path: Path, info: MediaInfo, on_chunk: Callable[[np.ndarray], None], *, rate: int,
                 channels: int, chunk_s: float = CHUNK_S, k_weighted: bool = False,
                 video_crc: Path | None = None, decode_picture: bool = False) -> int:
    """Decode the first audio stream to float32 and hand it over in (channels, samples) chunks
    ((2 * channels, samples) with `k_weighted`: the signal's channels, then their K-weighted copies).
    Returns the frames decoded.

    A run that ffmpeg ends early raises UndecodableMedia; with `decode_picture`, so does any decode error (picture
    or sound) logged on the way."""
    layout = layout_for(info.channel_layout, channels)
    chunk_bytes = max(1, int(chunk_s * 100)) * max(1, rate // 100) * 4 * channels
    frames = 0
    with contextlib.ExitStack() as stack:
        err = stack.enter_context(tempfile.TemporaryFile())
        weighted_read = weighted_write = -1
        if k_weighted:
            weighted_read, weighted_write = os.pipe()
            stack.callback(os.close, weighted_read)
        try:
            args = decode_graph(path, rate=rate, channels=channels, layout=layout, k_weighted=k_weighted,
                                video_crc=video_crc, decode_picture=decode_picture, weighted_fd=weighted_write)
            proc = stack.enter_context(subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err,
                                                        pass_fds=(weighted_write,) if k_weighted else ()))
        finally:
            if k_weighted:
                os.close(weighted_write)  # ffmpeg holds its own copy; ours would keep the pipe from ending
        assert proc.stdout is not None
        # Reader threads let ffmpeg decode the next chunk while this one is measured.
        streams = [_start_reader(proc.stdout, chunk_bytes)]
        if k_weighted:
            streams.append(_start_reader(stack.enter_context(os.fdopen(weighted_read, "rb", closefd=False)),
                                         chunk_bytes))
        try:
            while all(data := [pieces.get() for pieces, _ in streams]):
                parts = [_planar(piece, channels) for piece in data]
                # Reads are whole chunks; only a truncated stream ends mid-chunk, and the shorter part decides.
                length = min(part.shape[1] for part in parts)
                if length:
                    chunk = np.empty((channels * len(parts), length), dtype=np.float32)  # rows contiguous
                    for index, part in enumerate(parts):
                        chunk[index * channels:(index + 1) * channels] = part[:, :length]
                    frames += length
                    on_chunk(chunk)
        finally:
            if proc.poll() is None and any(reader.is_alive() for _, reader in streams):
                proc.kill()
            for pieces, reader in streams:
                while reader.is_alive():  # a reader waiting to hand over a piece nobody will take
                    with contextlib.suppress(queue.Empty):
                        pieces.get(timeout=0.1)
                reader.join()
        code = proc.wait()
        if code != 0 or decode_picture:
            err.seek(0)
            raise_unless_clean(err.read().decode(errors="replace"), code)
    return frames


def raise_unless_clean(stderr: str, returncode: int) -> None:
    """UndecodableMedia for a run at `-v error` that ended early or logged anything (each line is a decode error)."""
    problems = [line.strip() for line in stderr.splitlines() if line.strip()]
    if returncode != 0:
        # The amovie source ends the run at the first packet it cannot decode (the CLI's own input logs it and
        # goes on): a damaged or truncated file, said the same way as a decode error found at the end.
        raise UndecodableMedia(not_clean(_decode_errors(problems) or ["ffmpeg stopped decoding"]))
    if problems:
        raise UndecodableMedia(not_clean(problems))


def picture_decoded(source: FfmpegStream) -> FfmpegStream:
    """An ffmpeg-python output that decodes every frame of `source`'s first video stream to nothing: in a run at
    `-v error`, whatever it logs is a decode error (`raise_unless_clean`)."""
    return ffmpeg.output(source["v:0"], "-", f="null")


def verify_picture(path: Path, *, timeout_s: float = 300.0) -> None:
    """Decode every frame of `path`'s first video stream; UndecodableMedia saying how if one does not decode."""
    argv = command_line(picture_decoded(open_input(path)).global_args("-v", "error"))
    try:
        result = subprocess.run(argv, capture_output=True, text=True, errors="replace", timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise UndecodableMedia(f"its picture did not decode within {timeout_s:.0f} s") from None
    raise_unless_clean(result.stderr, result.returncode)
