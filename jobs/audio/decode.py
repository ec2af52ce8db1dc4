"""Stream-decode a file's first audio stream with ffmpeg to float32 chunks (optionally with their K-weighted
copies, made by ffmpeg on its own core), and list the picture's frames in a second ffmpeg run beside it."""

from __future__ import annotations

import contextlib
import fcntl
import io
import itertools
import os
import select
import subprocess
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import ffmpeg
import numpy as np

from adapters.media import (
    FfmpegStream,
    MediaError,
    MediaInfo,
    command_line,
    ffmpeg_exe,
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


def video_duration_s(listing: Path) -> float | None:
    """Picture length from the packets' own timestamps in the framecrc files of `listing` (`picture_listing`): from
    the earliest timestamp to the latest end."""
    timebase, starts, ends = None, [], []
    for framecrc in sorted(listing.glob("*.crc")):
        try:
            with framecrc.open(errors="replace") as text:
                header = [line for line in itertools.islice(text, 64) if line.startswith("#tb 0:")]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "input contained no data": no packet, said below
                # Columns: stream, dts, pts, duration, size, crc[, flags]; numpy reads them ten times a loop's speed.
                packets = np.loadtxt(framecrc, delimiter=",", usecols=(2, 3), dtype=np.int64, comments="#", ndmin=2)
        except (OSError, ValueError):
            return None
        if header and packets.size:
            num, den = header[0].split(":", 1)[1].strip().split("/")
            timebase = int(num) / int(den)
            starts.append(int(packets[:, 0].min()))
            ends.append(int((packets[:, 0] + packets[:, 1]).max()))
    if timebase is None:
        return None
    return (max(ends) - min(starts)) * timebase


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


def decode_graph(path: Path, *, rate: int, channels: int, layout: str, k_weighted: bool, frame_samples: int,
                 weighted_fd: int = 3) -> list[str]:
    """The ffmpeg command line that decodes the first audio stream to float32 at `rate` on stdout (fd 1), in frames
    of `frame_samples` (the decoder's are 1,024: far fewer writes to the pipes).

    The sound is read by a source filter (`amovie`), so demuxing, decoding and filtering run in one thread with
    no hand-off per decoded frame (the CLI's own input would pass each 1,024-sample frame between three threads:
    most of a bare decode's time goes on that). With `k_weighted`, the signal's K-weighted copy goes to a second
    pipe, `weighted_fd`, while Python measures on the other core (two outputs, not one merged stream:
    interleaving the two costs ffmpeg more than a second pipe costs Python). The two BS.1770 biquads run on the
    decoder's own planar samples in single precision: the loudness figures agree with double precision to
    0.0001 LU (reported to 0.01), for a tenth less of ffmpeg's work.
    """
    named = layout if layout in LAYOUT_WEIGHTS else f"{channels}c"
    # p=0: the last frame is not padded with silence.
    sound = (f"{movie_source(path)},aformat=sample_rates={rate}:channel_layouts={named},"
             f"asetnsamples=n={frame_samples}:p=0")
    interleaved = "aformat=sample_fmts=flt"  # what the pipe carries; the filters work on planar samples
    pcm = ["-f", "f32le", "-c:a", "pcm_f32le"]
    if k_weighted:
        weighting = ",".join(f"biquad=b0={b0!r}:b1={b1!r}:b2={b2!r}:a0={a0!r}:a1={a1!r}:a2={a2!r}:precision=f32:"
                             "transform=di" for b0, b1, b2, a0, a1, a2 in k_weighting(rate))
        graph = f"{sound},asplit=2[signal][raw];[signal]{interleaved}[out];[raw]{weighting},{interleaved}[weighted]"
        outputs = ["-map", "[out]", *pcm, "pipe:1", "-map", "[weighted]", *pcm, f"pipe:{weighted_fd}"]
    else:
        graph = f"{sound},{interleaved}[out]"
        outputs = ["-map", "[out]", *pcm, "pipe:1"]
    return [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-v", "error", "-filter_complex_threads", "1",
            "-filter_complex", graph, *outputs]


HEAD_PACKETS = 32  # more than any decoder's reordering: the earliest timestamp is among the first packets
TAIL_S = 3.0  # the last packets are read from the keyframe before this much before the end


def picture_listing(path: Path, listing: Path, *, decode_picture: bool) -> list[str]:
    """The ffmpeg command line that lists the first video stream's frames as framecrc files in the folder `listing`,
    from which the picture's length is read (`video_duration_s`).

    With `decode_picture`, every frame is decoded (a provider's file is posted only if every frame decodes; at
    `-v error`, whatever this run logs is a decode error). Otherwise only the stream's first packets and its last
    are listed, copied, nothing decoded: the length needs only the first and last timestamps, and the container's
    index takes an input seek straight to the end (listing every packet of a 10-minute take cost ≈ 0.1 CPU-s).
    Timestamps are kept as the file has them (`-copyts`), so the two listings agree.

    It is a run of its own beside the sound's: in the same run, ffmpeg's scheduler would hold the listing back to
    the sound's pace, waking both every tenth of a second of programme (about 0.2 s of a 10-minute check).
    """
    if decode_picture:
        return command_line(picture_decoded(open_input(path), listing / "frames.crc").global_args("-v", "error"))
    head = ffmpeg.output(open_input(path)["v:0"], str(listing / "head.crc"), c="copy", f="framecrc",
                         **{"frames:v": HEAD_PACKETS})
    tail = ffmpeg.output(open_input(path, sseof=-TAIL_S)["v:0"], str(listing / "tail.crc"), c="copy", f="framecrc")
    return command_line(ffmpeg.merge_outputs(head, tail).global_args("-copyts", "-v", "error"))


def _planar(data: np.ndarray, channels: int) -> np.ndarray:
    """Interleaved float32 samples as (channels, samples); a trailing partial frame (a truncated stream) is dropped."""
    usable = data.shape[0] - data.shape[0] % channels
    return data[:usable].reshape(-1, channels).T


def _fill(pipes: list[io.FileIO], buffers: list[np.ndarray]) -> list[int]:
    """Read each pipe until its buffer is full or it ends, whichever pipe has data first; the samples read into each.

    Reading whichever is ready (not one after the other) is what keeps this from waiting on one pipe while
    ffmpeg waits for the other to be read.
    """
    views = [buffer.data.cast("B") for buffer in buffers]
    got = [0] * len(pipes)
    open_pipes = {pipe.fileno(): index for index, pipe in enumerate(pipes)}
    poller = select.poll()
    for fd in open_pipes:
        poller.register(fd, select.POLLIN)
    while open_pipes:
        for fd, _ in poller.poll():
            index = open_pipes[fd]
            count = pipes[index].readinto(views[index][got[index]:]) or 0
            got[index] += count
            if not count or got[index] == len(views[index]):
                poller.unregister(fd)
                del open_pipes[fd]
    return [count // 4 for count in got]


def _read_chunks(pipes: list[io.FileIO], channels: int, chunk_samples: int,
                 on_chunk: Callable[[np.ndarray], None]) -> int:
    """Hand over each chunk read from `pipes` (one chunk from each, in turn) as rows of one array; the frames read.

    Read on this thread, straight into a buffer per pipe: each pipe holds more than a 1 s chunk, so ffmpeg decodes
    the next chunks while this one is measured, with no reader thread to wake and no allocation per read.
    """
    staging = [np.empty(chunk_samples * channels, dtype=np.float32) for _ in pipes]
    frames = 0
    while True:
        got = _fill(pipes, staging)
        # Reads are whole chunks; only the end of the stream (or a truncated one) is shorter, and the shortest decides.
        length = min(got) // channels
        if length:
            chunk = np.empty((channels * len(pipes), length), dtype=np.float32)  # rows contiguous, a new one each time
            for index, buffer in enumerate(staging):
                chunk[index * channels:(index + 1) * channels] = _planar(buffer[: length * channels], channels)
            frames += length
            on_chunk(chunk)
        if min(got) < chunk_samples * channels:
            return frames


def stream_audio(path: Path, info: MediaInfo, on_chunk: Callable[[np.ndarray], None], *, rate: int,
                 channels: int, chunk_s: float = CHUNK_S, k_weighted: bool = False,
                 picture_listing_to: Path | None = None, decode_picture: bool = False) -> int:
    """Decode the first audio stream to float32 and hand it over in (channels, samples) chunks
    ((2 * channels, samples) with `k_weighted`: the signal's channels, then their K-weighted copies).
    Returns the frames decoded. With `picture_listing_to` (a folder), the picture's frames are listed there at the
    same time (`picture_listing`).

    A run that ffmpeg ends early raises UndecodableMedia; with `decode_picture`, so does any decode error (picture
    or sound) logged on the way."""
    layout = layout_for(info.channel_layout, channels)
    chunk_samples = max(1, int(chunk_s * 100)) * max(1, rate // 100)
    with contextlib.ExitStack() as stack:
        runs: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []

        def start(args: list[str], **options: Any) -> subprocess.Popen[bytes]:
            err = stack.enter_context(tempfile.TemporaryFile())
            run = stack.enter_context(subprocess.Popen(args, stderr=err, **options))
            runs.append((run, err))
            return run

        # One pipe per output (the signal on ffmpeg's stdout, its K-weighted copy on `weighted_fd`), read unbuffered.
        ends = [os.pipe() for _ in range(2 if k_weighted else 1)]
        pipes = [stack.enter_context(os.fdopen(read_end, "rb", buffering=0)) for read_end, _ in ends]
        try:
            extra = [write_end for _, write_end in ends[1:]]
            # A chunk is one ffmpeg frame, which ffmpeg writes to every pipe before it makes the next: so the
            # chunk can always be read whole from each pipe, whatever its size against the pipes'.
            start(decode_graph(path, rate=rate, channels=channels, layout=layout, k_weighted=k_weighted,
                               frame_samples=chunk_samples, weighted_fd=extra[0] if extra else 3),
                  stdout=ends[0][1], pass_fds=extra)
        finally:
            for _, write_end in ends:
                os.close(write_end)  # ffmpeg holds its own copies; ours would keep the pipes from ending
        if picture_listing_to is not None:
            start(picture_listing(path, picture_listing_to, decode_picture=decode_picture), stdout=subprocess.DEVNULL)
        for pipe in pipes:
            _widen_pipe(pipe.fileno())
        try:
            frames = _read_chunks(pipes, channels, chunk_samples, on_chunk)
            for pipe in pipes:  # whatever one output has beyond another's end, so ffmpeg is not left writing it
                while pipe.read(1 << 16):
                    pass
            for run, err in runs:  # the sound's run first: its errors say most about the file
                code = run.wait()
                if code != 0 or decode_picture:
                    err.seek(0)
                    raise_unless_clean(err.read().decode(errors="replace"), code)
        except BaseException:
            for run, _ in runs:  # a run still going (the picture's, say) has nothing more to tell
                run.kill()
            raise
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


def picture_decoded(source: FfmpegStream, listing: Path | None = None) -> FfmpegStream:
    """An ffmpeg-python output that decodes every frame of `source`'s first video stream, to nothing or to a framecrc
    `listing` of the decoded frames: in a run at `-v error`, whatever it logs is a decode error
    (`raise_unless_clean`)."""
    if listing is None:
        return ffmpeg.output(source["v:0"], "-", f="null")
    return ffmpeg.output(source["v:0"], str(listing), f="framecrc")


def verify_picture(path: Path, *, timeout_s: float = 300.0) -> None:
    """Decode every frame of `path`'s first video stream; UndecodableMedia saying how if one does not decode."""
    argv = command_line(picture_decoded(open_input(path)).global_args("-v", "error"))
    try:
        result = subprocess.run(argv, capture_output=True, text=True, errors="replace", timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise UndecodableMedia(f"its picture did not decode within {timeout_s:.0f} s") from None
    raise_unless_clean(result.stderr, result.returncode)
