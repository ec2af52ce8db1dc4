"""The round at a glance: when a round of two or more takes has finished, one contact sheet in its thread with
every take's frame, label, model and sound-verdict dot. Through the real endpoint, rq pipeline and ffmpeg."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from jobs.domain.models import TakeState
from jobs.pipeline.contact_sheet import (
    LABEL_FONT_PX,
    SHEET_MAX_WIDTH_PX,
    SheetTile,
    render_contact_sheet,
    sheet_grid,
)
from tests.harness import BotEndpoint, Worker
from tests.standins.media import picture_pixels
from tests.standins.slack import SlackStandIn
from tests.vote_helpers import send_brief, thread_takes

THREAD = "1700300000.000100"
VERDICT_RGB = {"pass": (0x2E, 0xB6, 0x7D), "warn": (0xEC, 0xB2, 0x2E), "fail": (0xE0, 0x1E, 0x5A)}


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    assert zlib.crc32(data[12:29]) == int.from_bytes(data[29:33], "big")  # a whole header, not a truncated file
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def pixels(data: bytes, tmp_path) -> np.ndarray:
    return picture_pixels(data, tmp_path)


def sheets(slack: SlackStandIn) -> list[dict]:
    return [f for f in slack.files.values() if f.get("completed") and "contact-sheet" in f["name"]]


def near(region: np.ndarray, rgb: tuple[int, int, int], tolerance: int = 40) -> int:
    return int((np.abs(region.astype(int) - np.array(rgb)).sum(axis=2) < tolerance).sum())


def test_a_round_of_four_posts_one_sheet_after_its_fourth_take(bot: BotEndpoint, worker: Worker,
                                                                 slack: SlackStandIn, tmp_path) -> None:
    request = send_brief(bot, worker.store, "Lighthouse in fog, slow pan\nSound: foghorn, waves\nx4 3s 16:9",
                         thread_ts=THREAD)
    worker.drain_until(lambda: sum(t.state == TakeState.posted for t in thread_takes(worker.store, THREAD)) == 3)
    assert sheets(slack) == []  # not while a take is still to come
    worker.drain()
    worker.runtime.scheduler.enqueue("post_contact_sheet", request.id)  # run again: still one sheet
    worker.drain()

    posted = sheets(slack)
    assert len(posted) == 1 and posted[0]["thread_ts"] == THREAD and posted[0]["channel"] == "C0ART"
    assert "Round 1 at a glance" in posted[0]["initial_comment"]
    data = slack.uploads[posted[0]["id"]]
    assert png_size(data) == (1008, 740)  # 2 × 2 tiles of 480 × 270 with their label bars, gaps and a title
    image = pixels(data, tmp_path)
    takes = sorted(thread_takes(worker.store, THREAD), key=lambda t: t.index)
    for index, take in enumerate(takes):
        left, top = 16 + (index % 2) * 496, 64 + 16 + (index // 2) * 330
        picture = image[top:top + 270, left:left + 480]
        bar = image[top + 270:top + 314, left:left + 480]
        assert picture.std() > 3  # a frame, not an empty cell
        assert near(bar[:, :LABEL_FONT_PX * 2], VERDICT_RGB[take.sound.verdict]) > 40  # the verdict's dot
        assert near(bar[:, LABEL_FONT_PX * 2:], (255, 255, 255), 60) > 60  # its label, written in white
    assert worker.store.get_request(request.id).contact_sheet_file_id == posted[0]["id"]


def test_a_single_take_round_has_no_sheet(bot: BotEndpoint, worker: Worker, slack: SlackStandIn) -> None:
    send_brief(bot, worker.store, "Lighthouse in fog\nx1 2s", thread_ts=THREAD)
    worker.drain()
    assert [t.state for t in thread_takes(worker.store, THREAD)] == [TakeState.posted]
    assert sheets(slack) == []


@pytest.mark.parametrize("aspect", ["16:9", "9:16", "1:1"])
def test_every_round_size_gets_a_grid_that_stays_legible(aspect: str) -> None:
    for count in range(2, 25):
        layout = sheet_grid(count, aspect)
        cells = layout.columns * layout.rows
        assert count <= cells < count + layout.columns  # every take has a cell, and no row is empty
        assert layout.width_px <= SHEET_MAX_WIDTH_PX
        assert min(layout.tile_width_px, layout.tile_height_px) >= 240  # frames a person can read at 100 %
        assert 0.7 <= layout.width_px / layout.height_px <= 3.0, (count, layout)  # near a screen, not a strip


def test_a_failed_take_keeps_its_place_on_the_sheet_as_a_labelled_card(tmp_path) -> None:
    tiles = [SheetTile(label="1A", model="previz", caption="failed"),
             SheetTile(label="1B", model="fal:fal-ai/veo3.1/fast/with-a-very-long-endpoint-name", caption="cancelled")]
    out = tmp_path / "sheet.png"
    layout = render_contact_sheet(tiles, "9:16", "Round 1", out)
    data = out.read_bytes()
    assert png_size(data) == (layout.width_px, layout.height_px) and layout.columns == 2
    image = pixels(data, tmp_path)
    top = 64 + 16 + layout.tile_height_px
    for left in (16, 16 + layout.tile_width_px + 16):
        bar = image[top:top + 44, left:left + layout.tile_width_px]
        assert near(bar[:, :LABEL_FONT_PX * 2], (0x8D, 0x8D, 0x8D)) > 40  # grey: no sound verdict
        assert near(bar[:, LABEL_FONT_PX * 2:], (255, 255, 255), 60) > 60  # the label, the long name cut to fit
        card = image[64 + 16:top, left:left + layout.tile_width_px]
        assert near(card, (255, 255, 255), 200) > 30  # the caption ("failed") on a plain card


def test_a_contact_sheet_job_is_run_again_if_its_worker_dies(worker: Worker) -> None:
    """No recovery sweep looks for a missing sheet, so rq itself runs the job again (abandoned or raised)."""
    worker.runtime.scheduler.enqueue("post_contact_sheet", "0123456789abcdef")
    (job,) = worker.queue.get_jobs()
    assert job.func_name == "jobs.pipeline.tasks.post_contact_sheet" and job.retries_left == 2
    worker.runtime.scheduler.enqueue("refresh_cards", "C0ART")
    assert not worker.queue.get_jobs()[1].retries_left  # a take's steps are resumed by recovery instead
