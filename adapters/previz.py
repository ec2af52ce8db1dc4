"""Previz: the built-in provider. Renders a real H.264/AAC clip locally with ffmpeg.

The picture is a title card of the brief in a colour mood taken from its words;
the sound is a bed built from the brief's sound, music and dialogue lines. It
needs no key and no network, is deterministic for a brief and seed, and is
labelled PREVIZ on screen so nobody mistakes it for a model's take.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import textwrap
from pathlib import Path

import ffmpeg

from adapters.base import (
    FRAME_SIZES_PX,
    Capabilities,
    FailureKind,
    FrameImage,
    JobPhase,
    PollResult,
    Prices,
    Provider,
    ProviderError,
    RenderSpec,
)
from adapters.media import FfmpegStream, find_font, open_input, run_ffmpeg

FPS = 24

# Colour moods: the first keyword found in the brief picks the card's colour (RGB).
MOODS: tuple[tuple[tuple[str, ...], tuple[int, int, int]], ...] = (
    (("neon", "cyberpunk", "club"), (58, 12, 92)),
    (("night", "midnight", "dark", "noir"), (14, 22, 52)),
    (("sunset", "golden", "warm", "desert", "fire"), (150, 70, 20)),
    (("forest", "jungle", "green", "garden"), (20, 80, 40)),
    (("ocean", "sea", "beach", "underwater", "wave"), (10, 70, 110)),
    (("snow", "winter", "ice", "cold"), (120, 140, 160)),
    (("rain", "storm", "grey", "gray", "fog"), (50, 62, 74)),
    (("red", "blood", "love"), (120, 16, 28)),
)

# Sound bed elements: keywords in the sound lines (or the picture, when there are none) pick them.
BEDS: dict[str, tuple[str, ...]] = {
    "rain": ("rain", "drizzle", "downpour", "storm", "drumming", "awning"),
    "wind": ("wind", "breeze", "gust", "howl"),
    "traffic": ("traffic", "street", "city", "cars", "car", "engine", "hiss", "highway"),
    "waves": ("ocean", "sea", "waves", "surf", "beach", "water"),
    "room": ("room tone", "room", "interior", "hum", "office"),
}
MINOR_WORDS = ("melancholic", "melancholy", "sad", "dark", "tense", "minor", "moody", "ominous", "eerie")


def mood_rgb(text: str, seed: int) -> tuple[int, int, int]:
    lowered = text.lower()
    for words, rgb in MOODS:
        if any(word in lowered for word in words):
            base = rgb
            break
    else:
        digest = hashlib.sha256(lowered.encode()).digest()
        base = (40 + digest[0] % 100, 40 + digest[1] % 100, 40 + digest[2] % 100)
    # Each seed nudges the shade so takes of one brief are told apart at a glance.
    shift = (seed % 7) * 6 - 18
    return tuple(max(0, min(255, c + shift)) for c in base)  # type: ignore[return-value]


def bed_elements(spec: RenderSpec) -> list[str]:
    source = " ".join(spec.sound).lower() or spec.picture.lower()
    chosen = [name for name, words in BEDS.items() if any(word in source for word in words)]
    if not chosen:
        chosen = ["room"]
    return chosen


class PrevizProvider(Provider):
    key = "previz"
    display_name = "previz"
    capabilities = Capabilities(
        durations_s=list(range(1, 31)),
        aspects=["16:9", "9:16", "1:1"],
        resolutions=["720p", "1080p"],
        audio_switch=True,
        seed=True,
        negative_prompt=False,
        takes_per_call=1,
        max_prompt_chars=3000,
        first_frame=True,
        last_frame=True,
        video_to_audio=True,  # re-sound: a new sound bed under the take's own picture
    )
    prices = Prices(with_audio={"720p": 0.0, "1080p": 0.0}, silent={"720p": 0.0, "1080p": 0.0})
    renders_locally = True

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = Path(work_dir) / "previz"

    def _job_path(self, job_id: str) -> Path:
        return self.work_dir / f"{job_id}.mp4"

    def job_id_for(self, spec: RenderSpec) -> str:
        payload = spec.identity_json() + spec.label
        return "pv-" + hashlib.sha256(payload.encode()).hexdigest()[:20]

    def start(self, spec: RenderSpec) -> str:
        job_id = self.job_id_for(spec)
        out = self._job_path(job_id)
        if not out.is_file():
            self.work_dir.mkdir(parents=True, exist_ok=True)
            # Render beside it and rename: a worker killed mid-render never leaves a half file that looks done.
            partial = out.with_name(f"{out.stem}.{os.getpid()}.part.mp4")
            try:
                render_previz(spec, partial)
                os.replace(partial, out)
            finally:
                partial.unlink(missing_ok=True)
        return job_id

    def poll(self, job_id: str) -> PollResult:
        path = self._job_path(job_id)
        if path.is_file():
            return PollResult(phase=JobPhase.succeeded, progress=1.0, result_url=path.resolve().as_uri())
        return PollResult(phase=JobPhase.failed, message="the previz render is missing; reroll the take")

    def fetch(self, job_id: str, result_url: str, dest: Path) -> Path:
        source = self._job_path(job_id)
        if not source.is_file():  # a retried step on another machine than the one that rendered it
            raise ProviderError(FailureKind.expired, "the previz render is not on this machine; reroll the take")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)
        return dest


def resound_previz(spec: RenderSpec, source: Path, out: Path) -> Path:
    """The take's own picture (copied, not re-encoded) under a new previz sound bed made from `spec`'s lines."""
    streams = [open_input(source)["v:0"], ffmpeg.input(audio_graph(spec), f="lavfi")]
    options: dict[str, str | int] = {"t": spec.duration_s, "c:v": "copy", "c:a": "aac", "b:a": "160k", "ar": 48000,
                                     "ac": 2, "movflags": "+faststart", "map_metadata": "-1"}
    run_ffmpeg(ffmpeg.output(*streams, str(out), **options), timeout_s=max(60.0, spec.duration_s * 20))
    return out


def render_previz(spec: RenderSpec, out: Path) -> Path:
    """Render one previz clip to `out` (H.264 yuv420p, AAC 48 kHz stereo, +faststart)."""
    if spec.source_video is not None:
        return resound_previz(spec, spec.source_video.path, out)
    width, height = FRAME_SIZES_PX[(spec.aspect, spec.resolution)]
    duration = spec.duration_s
    text_file = out.with_suffix(".txt")
    text_file.write_text(card_text(spec, width), encoding="utf-8")
    picture = (background(spec, width, height)
               .filter("vignette", angle="PI/4")
               .drawbox(0, "ih-ih/60", "iw", "ih/60", color="black@0.4", thickness="fill"))
    font = find_font()
    if font:
        size = max(18, width // 40)
        picture = (picture
                   .drawtext(fontfile=font, textfile=str(text_file), expansion="none", fontcolor="white",
                             fontsize=size, line_spacing=size // 2, x="(w-text_w)/2", y="(h-text_h)/2",
                             # over a reference frame the words need a backing to stay readable
                             **({"box": 1, "boxcolor": "black@0.45", "boxborderw": size // 2} if spec.first_frame else {}))
                   .drawtext(text=f"PREVIZ {spec.label}" + (" · from reference frame" if spec.first_frame else ""),
                             fontfile=font, expansion="none", fontcolor="white@0.8",
                             fontsize=size, x=size, y=size, box=1, boxcolor="black@0.5", boxborderw=size // 3))
    streams = [picture.filter("format", "yuv420p")]
    options: dict[str, str | int] = {
        "t": duration, "c:v": "libx264", "preset": "veryfast", "crf": 26, "pix_fmt": "yuv420p",
        "x264-params": f"threads=1:keyint={FPS * 2}", "profile:v": "high", "movflags": "+faststart",
        "fflags": "+bitexact", "flags:v": "+bitexact", "flags:a": "+bitexact", "map_metadata": "-1",
    }
    if spec.audio:
        streams.append(ffmpeg.input(audio_graph(spec), f="lavfi"))
        options.update({"c:a": "aac", "b:a": "160k", "ar": 48000, "ac": 2})
    run_ffmpeg(ffmpeg.output(*streams, str(out), **options), timeout_s=max(60.0, duration * 20))
    text_file.unlink(missing_ok=True)
    return out


def still(frame: FrameImage, width: int, height: int, duration: float) -> FfmpegStream:
    """A prepared reference frame held for `duration`, darkened a little so the card's words stay readable."""
    return (ffmpeg.input(str(frame.path), f="image2", loop=1, framerate=FPS, t=duration, pattern_type="none",
                         protocol_whitelist="file").video
            .filter("scale", width, height, out_range="tv").filter("setsar", 1).filter("eq", brightness=-0.12)
            .filter("format", "yuv420p"))


def background(spec: RenderSpec, width: int, height: int) -> FfmpegStream:
    """The card's background: the brief's mood colour, or its reference frame (cross-fading into the last
    frame when there is one)."""
    duration = spec.duration_s
    if spec.first_frame is None:
        r, g, b = mood_rgb(spec.picture, spec.seed or 0)
        return ffmpeg.input(f"color=c=0x{r:02x}{g:02x}{b:02x}:s={width}x{height}:r={FPS}:d={duration}", f="lavfi")
    first = still(spec.first_frame, width, height, duration)
    if spec.last_frame is None:
        return first
    fade_s = min(1.0, duration / 3)
    if spec.last_frame.path == spec.first_frame.path:  # one picture twice: one input, split
        first, last = first.split()[0], first.split()[1]
    else:
        last = still(spec.last_frame, width, height, duration)
    return ffmpeg.filter([first, last], "xfade", transition="fade",
                         duration=fade_s, offset=(duration - fade_s) / 2).trim(duration=duration)


def card_text(spec: RenderSpec, width: int) -> str:
    columns = max(20, width // 32)
    picture = spec.picture or "(sound only)"
    lines = textwrap.wrap(picture, columns)[:6]
    if len(textwrap.wrap(picture, columns)) > 6:
        lines[-1] = lines[-1][: columns - 1] + "…"
    if spec.sound:
        lines += ["", *textwrap.wrap("Sound: " + "; ".join(spec.sound), columns)[:2]]
    if spec.music and not spec.music_off:
        lines += textwrap.wrap("Music: " + spec.music, columns)[:1]
    return "\n".join(lines)


def audio_graph(spec: RenderSpec) -> str:
    """A lavfi graph for the sound bed: ambience, a music pad, a placeholder voice; seeded noise."""
    seed = (spec.seed or 0) % 2**31
    duration = spec.duration_s
    parts: list[str] = []
    for element in bed_elements(spec):
        # anoisesrc takes a 32-bit seed.
        s1, s2 = (seed * 7 + len(parts) * 101 + 1) % 2**31, (seed * 7 + len(parts) * 101 + 2) % 2**31
        if element == "rain":
            parts.append(
                f"anoisesrc=d={duration}:c=white:a=0.5:seed={s1},highpass=f=1200,lowpass=f=8000,"
                f"tremolo=f=9:d=0.35,volume=0.5"
            )
        elif element == "wind":
            parts.append(f"anoisesrc=d={duration}:c=brown:a=0.6:seed={s1},lowpass=f=600,tremolo=f=0.25:d=0.7")
        elif element == "traffic":
            parts.append(
                f"anoisesrc=d={duration}:c=brown:a=0.5:seed={s1},lowpass=f=300,tremolo=f=0.12:d=0.5,volume=0.8"
            )
            parts.append(f"anoisesrc=d={duration}:c=pink:a=0.08:seed={s2},bandpass=f=2500:w=1500")
        elif element == "waves":
            parts.append(f"anoisesrc=d={duration}:c=pink:a=0.5:seed={s1},lowpass=f=1500,tremolo=f=0.15:d=0.9")
        elif element == "room":
            parts.append(f"anoisesrc=d={duration}:c=pink:a=0.06:seed={s1},lowpass=f=900")
    if spec.music and not spec.music_off:
        parts.append(pad_source(spec.music, seed, duration))
    elif not spec.music_off and not spec.sound and not spec.dialogue:
        # No direction at all: a soft pad so the take is never silent.
        parts.append(pad_source(spec.picture, seed, duration))
    if spec.dialogue:
        parts.append(voice_source(spec, duration))
    inputs = "".join(f"[a{i}]" for i in range(len(parts)))
    chains = ";".join(f"{src},aformat=sample_rates=48000:channel_layouts=mono[a{i}]" for i, src in enumerate(parts))
    return (
        f"{chains};{inputs}amix=inputs={len(parts)}:normalize=0:duration=longest,"
        f"pan=stereo|c0=c0|c1=0.92*c0,"
        f"afade=t=in:d=0.05,afade=t=out:st={max(0.0, duration - 0.2)}:d=0.2,"
        f"alimiter=limit=0.7:level=false,aformat=sample_rates=48000:channel_layouts=stereo"
    )


def pad_source(words: str, seed: int, duration: int) -> str:
    minor = any(word in words.lower() for word in MINOR_WORDS)
    root = 110.0 * 2 ** ((seed % 5) / 12)
    third = root * (2 ** (3 / 12) if minor else 2 ** (4 / 12))
    fifth = root * 2 ** (7 / 12)
    expr = (
        f"0.10*sin(2*PI*{root:.3f}*t)+0.07*sin(2*PI*{third * 2:.3f}*t)"
        f"+0.06*sin(2*PI*{fifth * 2:.3f}*t)+0.03*sin(2*PI*{root * 4:.3f}*t)"
    )
    return f"aevalsrc=exprs='{expr}':s=48000:d={duration},tremolo=f=0.3:d=0.3,lowpass=f=2500"


def voice_source(spec: RenderSpec, duration: int) -> str:
    """A placeholder voice: a pitched buzz in syllable bursts where the lines are spoken."""
    words = sum(len(d.line.split()) for d in spec.dialogue)
    start = min(0.8, duration * 0.15)
    end = min(duration - 0.3, start + max(0.6, words * 0.35))
    pitch = 140 + (spec.seed or 0) % 60
    expr = (
        f"between(t,{start:.2f},{end:.2f})*0.35*(0.5+0.5*sin(2*PI*4.5*t))"
        f"*(sin(2*PI*{pitch}*t)+0.5*sin(2*PI*{pitch * 2}*t)+0.3*sin(2*PI*{pitch * 3}*t))"
    )
    return f"aevalsrc=exprs='{expr}':s=48000:d={duration},bandpass=f=900:w=1200"
