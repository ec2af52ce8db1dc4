"""The day's reel as one clip: for each select, a 1.5 s slate (the brief's first line, the take, its model, its
votes and its sound verdict), then the take letterboxed to 1280×720 with its sound at the listening level."""

from __future__ import annotations

from pathlib import Path

import ffmpeg
from pydantic import BaseModel

from adapters.media import FfmpegStream, open_input, run_ffmpeg
from jobs.review.compose import ENCODE, FPS, Clip, caption, picture, sound

WIDTH, HEIGHT = 1280, 720
SLATE_S = 1.5
SLATE_COLOR = "0x1b1f2a"


class Slate(BaseModel):
    """The words before a take."""

    title: str  # the brief's first line
    take: str  # "Take 1B · veo-3.1"
    facts: str  # "score +3 (5 votes) · sound: pass"


def slate(card: Slate, work: Path, index: int) -> FfmpegStream:
    shown = ffmpeg.input(f"color=c={SLATE_COLOR}:s={WIDTH}x{HEIGHT}:r={FPS}:d={SLATE_S}", f="lavfi").video
    shown = caption(shown, card.title[:90], work, f"slate-{index}-title", size=44, x="80", y="250", box=None)
    shown = caption(shown, card.take, work, f"slate-{index}-take", size=34, x="80", y="340", box=None)
    return caption(shown, card.facts, work, f"slate-{index}-facts", size=30, x="80", y="400", box=None)


def render_reel(clips: list[Clip], slates: list[Slate], out: Path, work: Path) -> Path:
    pieces: list[FfmpegStream] = []
    for index, (clip, card) in enumerate(zip(clips, slates, strict=True)):
        source = open_input(clip.path)
        pieces += [slate(card, work, index), sound(None, None, SLATE_S),
                   picture(source, WIDTH, HEIGHT, clip.duration_s),
                   sound(source if clip.plan else None, clip.plan, clip.duration_s)]
    joined = ffmpeg.concat(*pieces, v=1, a=1, n=2 * len(clips)).node
    out.parent.mkdir(parents=True, exist_ok=True)
    run_ffmpeg(ffmpeg.output(joined[0], joined[1], str(out), **ENCODE), timeout_s=900)
    return out


