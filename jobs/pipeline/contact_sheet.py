"""A round at a glance: once every take of a round of two or more has finished, one image in the thread with
each take's poster frame in a grid, labelled with its take label, model and a dot for its sound verdict.

The grid is chosen for the takes' shape (`sheet_grid`), so 24 wide takes and 24 tall ones both come out near a
screen's proportions with frames large enough to read. The sheet is made once per round (`post_contact_sheet`
records the posted file on the request), from each take's own file (`take_file`: this worker's copy, else
Slack's).
"""

from __future__ import annotations

import logging
import math
import tempfile
from pathlib import Path

import ffmpeg
from pydantic import BaseModel

from adapters.base import Aspect
from adapters.media import FfmpegStream, MediaError, find_font, open_input, run_ffmpeg
from jobs.domain.models import Request, Take, TakeState
from jobs.pipeline.media import take_file
from jobs.pipeline.runtime import Runtime

log = logging.getLogger(__name__)
MIN_TAKES = 2
SHEET_MAX_WIDTH_PX = 2400
TILE_MAX_SIDE_PX = 480
GAP_PX = 16
LABEL_BAR_PX = 44
LABEL_FONT_PX = 24
HEADER_PX = 64
TARGET_SHEET_ASPECT = 1.6  # a laptop screen's proportions, roughly: what a person sees when they open the image
BACKGROUND = "0x1D1C1D"  # Slack's dark theme
LABEL_BAR = "0x000000"
NO_PICTURE = "0x3A3A3A"
VERDICT_RGB = {"pass": "0x2EB67D", "warn": "0xECB22E", "fail": "0xE01E5A"}
NO_VERDICT_RGB = "0x8D8D8D"
ASPECT_RATIO = {"16:9": 16 / 9, "9:16": 9 / 16, "1:1": 1.0}


class SheetTile(BaseModel):
    label: str
    model: str
    verdict: str | None = None  # the take's sound verdict; None when it was not measured
    clip: Path | None = None
    poster_s: float = 0.0
    caption: str | None = None  # said on the tile instead of a picture ("failed")


class SheetLayout(BaseModel):
    columns: int
    rows: int
    tile_width_px: int
    tile_height_px: int  # the picture, without its label bar

    @property
    def width_px(self) -> int:
        return self.columns * (self.tile_width_px + GAP_PX) + GAP_PX

    @property
    def height_px(self) -> int:
        return HEADER_PX + self.rows * (self.tile_height_px + LABEL_BAR_PX + GAP_PX) + GAP_PX


def _layout(count: int, columns: int, ratio: float) -> SheetLayout:
    width = min(TILE_MAX_SIDE_PX, (SHEET_MAX_WIDTH_PX - GAP_PX) // columns - GAP_PX)
    height = round(width / ratio)
    if height > TILE_MAX_SIDE_PX:
        height = TILE_MAX_SIDE_PX
        width = round(height * ratio)
    return SheetLayout(columns=columns, rows=math.ceil(count / columns), tile_width_px=width - width % 2,
                       tile_height_px=height - height % 2)


def sheet_grid(count: int, aspect: Aspect) -> SheetLayout:
    """The grid for `count` takes of shape `aspect`: the sheet nearest `TARGET_SHEET_ASPECT`, no empty row,
    few empty cells, and tiles as large as the sheet's width allows."""
    ratio = ASPECT_RATIO[aspect]
    candidates = [_layout(count, columns, ratio) for columns in range(1, count + 1)
                  if columns * math.ceil(count / columns) - count < columns]

    def misfit(layout: SheetLayout) -> float:
        empty = layout.columns * layout.rows - count
        return abs(math.log(layout.width_px / layout.height_px / TARGET_SHEET_ASPECT)) + 1.5 * empty / count

    return min(candidates, key=misfit)


def _picture(tile: SheetTile, layout: SheetLayout, font: str | None, work: Path, index: int) -> FfmpegStream:
    """The tile's picture as an ffmpeg-python stream: the take's poster frame, else a plain card."""
    w, h = layout.tile_width_px, layout.tile_height_px
    if tile.clip is not None:
        return (open_input(tile.clip, ss=f"{tile.poster_s:.3f}").video
                .filter("scale", w, h, force_original_aspect_ratio="decrease")
                .filter("pad", w, h, "(ow-iw)/2", "(oh-ih)/2", color=BACKGROUND))
    card = ffmpeg.input(f"color=c={NO_PICTURE}:s={w}x{h}:d=1", f="lavfi")
    if font and tile.caption:
        caption = work / f"caption-{index:02d}.txt"
        caption.write_text(tile.caption, encoding="utf-8")
        card = card.drawtext(textfile=str(caption), fontfile=font, expansion="none", fontcolor="white@0.8",
                             fontsize=LABEL_FONT_PX, x="(w-text_w)/2", y="(h-text_h)/2")
    return card


def render_tile(tile: SheetTile, layout: SheetLayout, work: Path, index: int) -> Path:
    """One labelled tile as a PNG: the picture, then a bar with the verdict dot, the label and the model."""
    font = find_font()
    out = work / f"tile-{index:02d}.png"
    label = work / f"label-{index:02d}.txt"
    most_chars = max(8, (layout.tile_width_px - 2 * LABEL_FONT_PX) * 10 // (LABEL_FONT_PX * 6))
    text = f"{tile.label}  {tile.model}"
    label.write_text(text if len(text) <= most_chars else text[: most_chars - 1] + "…", encoding="utf-8")
    attempts = [tile, tile.model_copy(update={"poster_s": 0.0})] if tile.clip else [tile]
    attempts.append(tile.model_copy(update={"clip": None, "caption": tile.caption or "no picture"}))
    for attempt in attempts:
        stream = _picture(attempt, layout, font, work, index).filter(
            "pad", layout.tile_width_px, layout.tile_height_px + LABEL_BAR_PX, 0, 0, color=LABEL_BAR)
        if font:
            baseline = layout.tile_height_px + (LABEL_BAR_PX - LABEL_FONT_PX) // 2
            stream = (stream
                      .drawtext(text="●", fontfile=font, expansion="none", fontsize=LABEL_FONT_PX, x=LABEL_FONT_PX // 2,
                                y=baseline, fontcolor=VERDICT_RGB.get(tile.verdict or "", NO_VERDICT_RGB))
                      .drawtext(textfile=str(label), fontfile=font, expansion="none", fontsize=LABEL_FONT_PX,
                                x=LABEL_FONT_PX * 2, y=baseline, fontcolor="white"))
        try:
            out.unlink(missing_ok=True)
            run_ffmpeg(stream.output(str(out), vframes=1, pix_fmt="rgb24"), timeout_s=60)
        except MediaError as error:  # a file that will not seek or decode (or is no video) still gets its tile
            log.warning("contact sheet tile %s: %s", tile.label, error)
            continue
        if out.is_file() and out.stat().st_size:
            return out
    raise MediaError(f"no tile could be drawn for take {tile.label}")


def render_contact_sheet(tiles: list[SheetTile], aspect: Aspect, title: str, out: Path) -> SheetLayout:
    """Draw `tiles` in the grid `sheet_grid` picks, under a header line `title`, as the PNG `out`."""
    layout = sheet_grid(len(tiles), aspect)
    with tempfile.TemporaryDirectory(dir=out.parent) as folder:
        work = Path(folder)
        pictures = [render_tile(tile, layout, work, i) for i, tile in enumerate(tiles)]
        cell_w = layout.tile_width_px + GAP_PX
        cell_h = layout.tile_height_px + LABEL_BAR_PX + GAP_PX
        positions = "|".join(f"{GAP_PX + (i % layout.columns) * cell_w}_{GAP_PX + (i // layout.columns) * cell_h}"
                             for i in range(len(tiles)))
        stacked = ffmpeg.filter([ffmpeg.input(str(p)) for p in pictures], "xstack", inputs=len(pictures),
                                layout=positions, fill=BACKGROUND)
        sheet = stacked.filter("pad", layout.width_px, layout.height_px, 0, HEADER_PX, color=BACKGROUND)
        font = find_font()
        if font:
            header = work / "title.txt"
            header.write_text(title, encoding="utf-8")
            sheet = sheet.drawtext(textfile=str(header), fontfile=font, expansion="none", fontcolor="white",
                                   fontsize=30, x=GAP_PX, y=(HEADER_PX - 30) // 2)
        run_ffmpeg(sheet.output(str(out), vframes=1, pix_fmt="rgb24"), timeout_s=120)
    return layout


def tile_for(rt: Runtime, take: Take) -> SheetTile:
    tile = SheetTile(label=take.label, model=take.model)
    if take.state != TakeState.posted:
        return tile.model_copy(update={"caption": take.state.value})
    clip = take_file(rt, take)
    length_s = (take.sound.video_duration_s if take.sound else None) or take.duration_s
    verdict = take.sound.verdict if take.sound and take.sound.has_audio else None
    # A third of the way in: past a fade from black, before the ending the model may not have finished.
    return tile.model_copy(update={"clip": clip, "poster_s": length_s / 3, "verdict": verdict,
                                   "caption": None if clip else "file unavailable"})


def sheet_title(request: Request, takes: list[Take]) -> str:
    posted = sum(t.state == TakeState.posted for t in takes)
    title = f"Round {request.round} · {posted} of {len(takes)} takes · {request.resolved.model}"
    return title + " · dot = sound verdict"


def post_contact_sheet(rt: Runtime, request_id: str) -> None:
    """Post the round's contact sheet once its takes have all finished; once per round, however often it runs."""
    with rt.step_lock(f"contact-sheet:{request_id}", 300.0, "post_contact_sheet", request_id) as held:
        if not held:
            return
        request = rt.store.get_request(request_id)
        if request is None or request.contact_sheet_file_id:
            return
        takes = sorted(rt.store.takes_for(request), key=lambda t: t.index)
        if not all(t.state.finished for t in takes) or sum(t.state == TakeState.posted for t in takes) < MIN_TAKES:
            return
        rt.settings.media_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=rt.settings.media_dir) as folder:
            sheet = Path(folder) / f"round-{request.round}-contact-sheet.png"
            render_contact_sheet([tile_for(rt, take) for take in takes], request.resolved.aspect,
                                 sheet_title(request, takes), sheet)
            file_id = rt.notifier.contact_sheet(request, sheet)
        if file_id:
            rt.store.update_request(request_id, lambda r: setattr(r, "contact_sheet_file_id",
                                                                  r.contact_sheet_file_id or file_id))
