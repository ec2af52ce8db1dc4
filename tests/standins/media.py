"""Media for stand-ins and tests: a real H.264/AAC MP4 to serve (rendered once per test process with the previz
renderer), the image checks a provider makes on an inline frame, and pictures decoded to pixels."""

from __future__ import annotations

import atexit
import base64
import shutil
import subprocess
import tempfile
import time
from functools import lru_cache
from pathlib import Path

import numpy as np

from adapters.base import RenderSpec
from adapters.media import ffmpeg_exe, run_ffmpeg
from adapters.previz import render_previz


@lru_cache(maxsize=4)
def sample_mp4(audio: bool = True) -> bytes:
    folder = Path(tempfile.mkdtemp(prefix="dailies-standin-media-"))
    atexit.register(shutil.rmtree, folder, True)
    spec = RenderSpec(
        picture="Stand-in clip: neon alley at night", sound=["rain drumming on metal awnings"] if audio else [],
        duration_s=2, aspect="16:9", resolution="720p", seed=3, audio=audio, label="SI",
    )
    out = render_previz(spec, folder / ("with-audio.mp4" if audio else "silent.mp4"))
    return out.read_bytes()


class ImageProblem(ValueError):
    """An image a provider would refuse; the message is the provider's kind of complaint."""


def image_facts(data: bytes) -> tuple[str, int, int]:
    """(format, width, height) read from a PNG's or JPEG's own header, as a provider's image check does."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
        return "png", int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data.startswith(b"\xff\xd8"):
        at = 2
        while at + 9 < len(data):
            if data[at] != 0xFF:
                raise ImageProblem("corrupt JPEG")
            marker, length = data[at + 1], int.from_bytes(data[at + 2:at + 4], "big")
            if marker in (0xC0, 0xC1, 0xC2):
                return "jpeg", int.from_bytes(data[at + 7:at + 9], "big"), int.from_bytes(data[at + 5:at + 7], "big")
            at += 2 + length
        raise ImageProblem("JPEG without a frame header")
    raise ImageProblem("not a PNG or JPEG image")


def decode_image_field(value: object, *, data_uri: bool) -> tuple[str, int, int]:
    """Check an image sent inline: a `data:image/…;base64,` URI when `data_uri`, else bare base64."""
    if not isinstance(value, str) or not value:
        raise ImageProblem("image missing")
    if data_uri:
        head, sep, payload = value.partition(",")
        if not sep or not head.startswith("data:image/") or not head.endswith(";base64"):
            raise ImageProblem("not a base64 data URI")
        declared = head[len("data:image/"):-len(";base64")]
    else:
        if value.startswith("data:"):
            raise ImageProblem("base64 must not carry a data: prefix")
        payload, declared = value, None
    try:
        raw = base64.b64decode(payload, validate=True)
    except ValueError:
        raise ImageProblem("invalid base64") from None
    facts = image_facts(raw)
    if declared and declared.replace("jpg", "jpeg") != facts[0]:
        raise ImageProblem(f"declared image/{declared} but the bytes are {facts[0]}")
    return facts


def picture_pixels(data: bytes, folder: Path, *, size: tuple[int, int] | None = None,
                   pix_fmt: str = "rgb24") -> np.ndarray:
    """The picture of a PNG or JPEG, decoded by ffmpeg (scaled to `size` when given): height × width × channels
    (one channel for `gray`)."""
    path = folder / f"decode-{time.monotonic_ns()}"
    path.write_bytes(data)
    scale = ["-vf", f"scale={size[0]}:{size[1]}"] if size else []
    run = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), *scale, "-frames:v", "1", "-f", "rawvideo",
                          "-pix_fmt", pix_fmt, "-"], capture_output=True, check=True)
    channels = 1 if pix_fmt == "gray" else 3
    width, height = size or image_facts(data)[1:]
    return np.frombuffer(run.stdout, np.uint8).reshape(height, width, channels)


def resounded_mp4(video: bytes, seed: int, duration_s: float) -> bytes:
    """What a video-to-audio model hands back: the picture re-encoded (its packets are not the original's) with a
    new sound, pink noise seeded by `seed`."""
    folder = Path(tempfile.mkdtemp(prefix="dailies-standin-v2a-"))
    try:
        source, out = folder / "in.mp4", folder / "out.mp4"
        source.write_bytes(video)
        run_ffmpeg(["-i", str(source), "-f", "lavfi", "-i",
                    f"anoisesrc=d={duration_s}:c=pink:a=0.3:seed={seed % 2**31},lowpass=f=3000",
                    "-map", "0:v:0", "-map", "1:a:0", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "30",
                    "-c:a", "aac", "-ac", "2", "-ar", "48000", "-shortest", str(out)], timeout_s=120)
        return out.read_bytes()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def decode_video_field(value: object) -> bytes | None:
    """The bytes of a `data:video/mp4;base64,…` field when they are an MP4 (an `ftyp` box), else None."""
    if not isinstance(value, str) or not value.startswith("data:video/mp4;base64,"):
        return None
    try:
        data = base64.b64decode(value.split(",", 1)[1], validate=True)
    except ValueError:
        return None
    return data if data[4:8] == b"ftyp" else None


SEPARATION_BANDS_HZ = {"speech": (300.0, 3400.0), "music": (0.0, 300.0)}


def decode_audio_field(value: object, served: dict[str, bytes]) -> bytes | None:
    """The bytes of an `audio_url`: a `data:audio/…;base64,` URI, or a URL this stand-in serves itself (a previous
    result, as fal takes its own media URLs)."""
    if not isinstance(value, str):
        return None
    if value.startswith("data:audio/"):
        try:
            return base64.b64decode(value.split(",", 1)[1], validate=True)
        except (ValueError, IndexError):
            return None
    path = "/" + value.split("://", 1)[-1].split("/", 1)[-1] if "://" in value else None
    return served.get(path) if path else None


def separated_wavs(audio: bytes, prompt: str) -> tuple[bytes, bytes] | None:
    """What a text-prompted separator hands back: the band the prompt names as `target` and the exact rest as
    `residual` (so the two sum back to the input), 32-bit float WAV at 48 kHz; None when `audio` is not sound."""
    low, high = SEPARATION_BANDS_HZ.get(prompt.strip().lower(), (4000.0, 24000.0))
    folder = Path(tempfile.mkdtemp(prefix="dailies-standin-sep-"))
    try:
        source = folder / "in"
        source.write_bytes(audio)
        decoded = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(source), "-f", "f32le", "-ar", "48000",
                                  "-ac", "2", "-"], capture_output=True)
        if decoded.returncode != 0 or not decoded.stdout:
            return None
        samples = np.frombuffer(decoded.stdout, dtype=np.float32).reshape(-1, 2).T.astype(np.float64)
        spectrum = np.fft.rfft(samples, axis=1)
        freqs = np.fft.rfftfreq(samples.shape[1], 1 / 48000)
        target = np.fft.irfft(spectrum * ((freqs >= low) & (freqs < high)), n=samples.shape[1], axis=1)
        residual = samples - target
        return _f32_wav(target.astype(np.float32)), _f32_wav(residual.astype(np.float32))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _f32_wav(samples: np.ndarray) -> bytes:
    data = samples.T.astype("<f4").tobytes()
    channels = samples.shape[0]
    fmt = (3).to_bytes(2, "little") + channels.to_bytes(2, "little") + (48000).to_bytes(4, "little") + \
        (48000 * 4 * channels).to_bytes(4, "little") + (4 * channels).to_bytes(2, "little") + (32).to_bytes(2, "little")
    body = b"WAVE" + b"fmt " + len(fmt).to_bytes(4, "little") + fmt + b"data" + len(data).to_bytes(4, "little") + data
    return b"RIFF" + len(body).to_bytes(4, "little") + body
