"""Reference frames: a brief posted with an image renders from that frame on every model that can, in each
provider's documented form; two images are the first and the last frame; bad files are refused in the thread
before anything is queued. Signed events to the real endpoint, the real rq pipeline, real ffmpeg, and the
provider stand-ins (which check the image fields as their APIs document them)."""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from adapters.media import MediaError, NotMedia, prepare_frame, run_ffmpeg
from jobs.domain.brief_form import BriefForm, problems
from jobs.domain.channels import ChannelSettings
from jobs.domain.export import export_takes
from jobs.domain.models import ReferenceImage, TakeState
from jobs.domain.store import RedisStore
from jobs.infra.settings import Settings
from tests.harness import BotEndpoint, Worker, make_settings, mention, wait_for
from tests.standins.fal import FAL_KEY, FalStandin
from tests.standins.kling import ACCESS_KEY, SECRET_KEY, KlingStandin
from tests.standins.media import image_facts, picture_pixels
from tests.standins.seedance import API_KEY, SeedanceStandin
from tests.standins.slack import SlackStandIn
from tests.standins.veo import LOCATION, PROJECT, TOKEN, VeoStandin
from tests.test_sound_queue import LEAD, SOUND, flag_and_post
from tests.vote_helpers import thread_takes

ART = "C0ART"


@pytest.fixture()
def providers() -> Iterator[dict[str, Any]]:
    standins = {"veo": VeoStandin(), "kling": KlingStandin(), "seedance": SeedanceStandin(), "fal": FalStandin()}
    for standin in standins.values():
        standin.start()
        standin.finish_after_polls = 1
    yield standins
    for standin in standins.values():
        standin.stop()


@pytest.fixture()
def settings(redis_url: str, slack: SlackStandIn, providers: dict[str, Any], tmp_path: Path) -> Settings:
    veo, kling, seedance, fal = (providers[k] for k in ("veo", "kling", "seedance", "fal"))
    return make_settings(
        redis_url, slack.api_url, tmp_path / "media",
        VEO_PROJECT=PROJECT, VEO_LOCATION=LOCATION, VEO_ACCESS_TOKEN=TOKEN, VEO_API_URL=veo.url,
        VEO_STORAGE_API_URL=veo.url, KLING_ACCESS_KEY=ACCESS_KEY, KLING_SECRET_KEY=SECRET_KEY, KLING_API_URL=kling.url,
        ARK_API_KEY=API_KEY, SEEDANCE_API_URL=seedance.api_url, FAL_KEY=FAL_KEY, FAL_QUEUE_URL=fal.url,
        DAILIES_ALLOWED_MEDIA_URLS=",".join(s.url + "/" for s in providers.values()),
        DAILIES_LEADS=LEAD, DAILIES_SOUND_CHANNEL=SOUND,
    )


def picture(tmp_path: Path, name: str, source: str, size: str) -> bytes:
    """A real image file made by ffmpeg from one of its test sources (`testsrc2`, `smptebars`, …)."""
    out = tmp_path / name
    run_ffmpeg(["-f", "lavfi", "-i", f"{source}=s={size}", "-frames:v", "1", str(out)])
    return out.read_bytes()


def attach(slack: SlackStandIn, name: str, data: bytes, **record: Any) -> dict[str, Any]:
    """Upload an image as a person would; the file object Slack puts on the message."""
    kind = name.rsplit(".", 1)[1]
    facts = image_facts(data) if kind in ("png", "jpg") and "original_w" not in record else None
    described = {"mimetype": f"image/{'jpeg' if kind == 'jpg' else kind}", "filetype": kind, "user": "U0CREATIVE",
                 **({"original_w": facts[1], "original_h": facts[2]} if facts else {}), **record}
    file = slack.add_file(name, data, **described)
    return {**file, "mimetype": described["mimetype"], "filetype": described["filetype"], "user": "U0CREATIVE",
            "mode": "hosted", "is_external": False, "permalink": f"https://example.slack.com/files/{file['id']}"}


def brief_with_files(bot: BotEndpoint, text: str, files: list[dict[str, Any]], *, ts: str,
                     thread_ts: str | None = None) -> None:
    event = mention(text, ts=ts, thread_ts=thread_ts)
    event.update(files=files, upload=False)  # an app_mention for a message with files carries them
    assert bot.event(event).status_code == 200


def frame_pixels(data: bytes, tmp_path: Path) -> np.ndarray:
    """A coarse grey thumbnail, enough to tell one picture from another."""
    return picture_pixels(data, tmp_path, size=(32, 18), pix_fmt="gray").ravel().astype(float)


def similar(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def sent_images(model: str, providers: dict[str, Any]) -> list[tuple[str, bytes]]:
    """(role, image bytes) from the one render request the provider stand-in received, read where its API
    documents them."""
    if model == "veo":
        instance = providers["veo"].calls("POST")[0].json["instances"][0]
        return [(role, base64.b64decode(instance[field]["bytesBase64Encoded"]))
                for role, field in (("first", "image"), ("last", "lastFrame")) if field in instance]
    if model == "kling":
        call = providers["kling"].calls("POST")[0]
        assert call.path == "/v1/videos/image2video"
        return [(role, base64.b64decode(call.json[field]))
                for role, field in (("first", "image"), ("last", "image_tail")) if field in call.json]
    if model == "seedance":
        content = providers["seedance"].calls("POST")[0].json["content"]
        return [(item["role"].split("_")[0], base64.b64decode(item["image_url"]["url"].split(",", 1)[1]))
                for item in content if item["type"] == "image_url"]
    call = providers["fal"].calls("POST")[0]
    fields = (("first", "image_url"),) if call.path.endswith("/image-to-video") else (
        ("first", "first_frame_url"), ("last", "last_frame_url"))
    return [(role, base64.b64decode(call.json[field].split(",", 1)[1])) for role, field in fields]


MODELS = ["veo", "kling", "seedance", "fal:fal-ai/veo3.1"]
FAL_PATHS = {1: "/fal-ai/veo3.1/image-to-video", 2: "/fal-ai/veo3.1/first-last-frame-to-video"}


@pytest.mark.parametrize("frames", [1, 2])
@pytest.mark.parametrize("model", MODELS)
def test_attached_images_reach_each_provider_as_its_api_documents(
        model: str, frames: int, bot: BotEndpoint, worker: Worker, slack: SlackStandIn, providers: dict[str, Any],
        settings: Settings, tmp_path: Path) -> None:
    first = attach(slack, "storyboard-01.png", picture(tmp_path, "a.png", "testsrc2", "1600x900"))
    last = attach(slack, "storyboard-02.jpg", picture(tmp_path, "b.jpg", "smptebars", "1280x720"))
    thread = "1700400000.000100"
    brief_with_files(bot, f"The camera drifts through the frame\nSound: soft wind\nx1 4s --model {model}",
                     [first, last][:frames], ts=thread)
    wait_for(lambda: worker.store.thread_requests(ART, thread))
    worker.drain()

    take = thread_takes(worker.store, thread, ART)[0]
    assert take.state == TakeState.posted, take.error
    images = sent_images(model, providers)
    assert [role for role, _ in images] == ["first", "last"][:frames]
    originals = [slack.uploads[first["id"]], slack.uploads[last["id"]]]
    for (_role, sent), original in zip(images, originals, strict=False):
        assert image_facts(sent)[1:] == (1280, 720)  # scaled to the take's 16:9 720p picture
        assert similar(frame_pixels(sent, tmp_path), frame_pixels(original, tmp_path)) > 0.9
    if model.startswith("fal:"):
        assert providers["fal"].calls("POST")[0].path == FAL_PATHS[frames]

    card = slack.messages[(ART, take.message_ts)]
    assert "from reference frame" in json.dumps(card["blocks"])
    status = json.dumps(slack.messages[(ART, worker.store.thread_requests(ART, thread)[0].status_ts)]["blocks"],
                        ensure_ascii=False)
    assert "From reference frame" in status and "storyboard-01.png" in status
    assert "→ `storyboard-02.jpg`" in status if frames == 2 else "storyboard-02" not in status
    # Provenance keeps a line naming each frame, never its bytes.
    recorded = json.dumps(worker.store.get_take(take.id).sent)
    assert "sha256" in recorded and len(recorded) < 20_000
    row = export_takes(RedisStore.open(settings), ART)[0]
    assert [r["file_id"] for r in row["reference_frames"]] == [first["id"], last["id"]][:frames]


def test_previz_draws_the_reference_frame_behind_its_card(bot: BotEndpoint, worker: Worker, slack: SlackStandIn,
                                                          tmp_path: Path) -> None:
    image = picture(tmp_path, "board.png", "testsrc2", "1280x720")
    thread = "1700400100.000100"
    brief_with_files(bot, "Lighthouse in fog\nx1 3s", [attach(slack, "board.png", image)], ts=thread)
    wait_for(lambda: worker.store.thread_requests(ART, thread))
    brief_with_files(bot, "Lighthouse in fog\nx1 3s", [], ts="1700400200.000100")  # the same, without a frame
    wait_for(lambda: worker.store.thread_requests(ART, "1700400200.000100"))
    worker.drain()
    framed, plain = (thread_takes(worker.store, t, ART)[0] for t in (thread, "1700400200.000100"))
    still = frame_pixels(image, tmp_path)

    def middle_frame(take_path: str) -> np.ndarray:
        out = tmp_path / f"{Path(take_path).stem}.png"
        run_ffmpeg(["-ss", "1.5", "-i", take_path, "-frames:v", "1", str(out)])
        return frame_pixels(out.read_bytes(), tmp_path)

    assert similar(middle_frame(framed.file_path), still) > 0.8
    assert similar(middle_frame(plain.file_path), still) < 0.5


def refusal(slack: SlackStandIn, thread: str) -> str:
    found = wait_for(lambda: [m for m in slack.posted(channel=ART, thread_ts=thread) if "can't run" in m["text"]])
    return json.dumps(found[-1]["blocks"])


def test_files_that_cannot_be_reference_frames_are_refused_and_nothing_is_queued(
        bot: BotEndpoint, worker: Worker, slack: SlackStandIn, tmp_path: Path) -> None:
    png = picture(tmp_path, "frame.png", "testsrc2", "1280x720")
    cases = {
        "1700400300.000100": ([attach(slack, "treatment.pdf", b"%PDF-1.7 brief", mimetype="application/pdf",
                                      filetype="pdf")], "is a PDF file, not a PNG, JPEG or WebP image"),
        "1700400301.000100": ([attach(slack, "huge.png", png, size=25 * 1024 * 1024)], "is 25.0 MB"),
        "1700400302.000100": ([attach(slack, "thumb.png", picture(tmp_path, "t.png", "testsrc2", "200x200"))],
                              "needs at least 300 px"),
        "1700400303.000100": ([attach(slack, f"f{i}.png", png) for i in range(3)], "3 files are attached"),
    }
    for thread, (files, _) in cases.items():
        brief_with_files(bot, "Lighthouse in fog\nx1 2s", files, ts=thread)
    for thread, (_, expected) in cases.items():
        assert expected in refusal(slack, thread) and "Nothing was queued" in refusal(slack, thread)
        assert worker.store.thread_requests(ART, thread) == []
    assert worker.pending() == 0


def test_two_frames_on_a_model_that_cannot_end_on_one_name_the_models_that_can(
        bot: BotEndpoint, worker: Worker, slack: SlackStandIn, providers: dict[str, Any], tmp_path: Path) -> None:
    png = picture(tmp_path, "frame.png", "testsrc2", "1280x720")
    thread = "1700400400.000100"
    brief_with_files(bot, "Lighthouse in fog\nx1 4s --model fal:fal-ai/veo3/fast",
                     [attach(slack, "a.png", png), attach(slack, "b.png", png)], ts=thread)
    said = refusal(slack, thread)
    assert "cannot end a take on a given last frame" in said
    for able in ("`previz`", "`veo`", "`kling`", "`seedance`", "`fal:fal-ai/veo3.1`"):
        assert able in said
    assert "`fal:fal-ai/veo3/fast`" not in said.split("Models that can")[1]
    assert worker.store.thread_requests(ART, thread) == [] and providers["fal"].calls("POST") == []


def test_a_refinement_keeps_the_frame_until_a_new_one_or_no_ref(bot: BotEndpoint, worker: Worker,
                                                               slack: SlackStandIn, tmp_path: Path) -> None:
    first = attach(slack, "one.png", picture(tmp_path, "one.png", "testsrc2", "1280x720"))
    second = attach(slack, "two.png", picture(tmp_path, "two.png", "smptebars", "1280x720"))
    thread = "1700400500.000100"
    brief_with_files(bot, "Lighthouse in fog\nx1 2s", [first], ts=thread)
    wait_for(lambda: len(worker.store.thread_requests(ART, thread)) == 1)
    for ts, text, files, count in (("1700400501.000100", "warmer light", [], 2),
                                   ("1700400502.000100", "x1", [second], 3),
                                   ("1700400503.000100", "--no-ref", [], 4)):
        brief_with_files(bot, text, files, ts=ts, thread_ts=thread)
        wait_for(lambda n=count: len(worker.store.thread_requests(ART, thread)) == n)
    rounds = worker.store.thread_requests(ART, thread)
    assert [[r.file_id for r in req.resolved.references] for req in rounds] == [
        [first["id"]], [first["id"]], [second["id"]], []]
    assert "new reference frame" in rounds[2].changes and "reference frame dropped (`--no-ref`)" in rounds[3].changes
    worker.drain()
    assert all(t.state == TakeState.posted for r in rounds for t in worker.store.takes_for(r))


def test_a_file_that_is_not_the_image_slack_says_fails_its_take_before_any_provider_is_paid(
        bot: BotEndpoint, worker: Worker, slack: SlackStandIn, providers: dict[str, Any]) -> None:
    playlist = b"#EXTM3U\n#EXT-X-VERSION:3\n#EXTINF:10,\nfile:///etc/passwd\n"
    thread = "1700400600.000100"
    brief_with_files(bot, "Lighthouse in fog\nx1 4s --model kling",
                     [attach(slack, "frame.png", playlist, original_w=1280, original_h=720)], ts=thread)
    wait_for(lambda: worker.store.thread_requests(ART, thread))
    worker.drain()
    take = thread_takes(worker.store, thread, ART)[0]
    assert take.state == TakeState.failed and take.cost_usd == 0
    assert "an HLS playlist, not a PNG, JPEG or WebP image" in (take.error or "")
    assert providers["kling"].calls("POST") == []


def test_the_file_share_twin_and_the_mention_are_one_brief_whichever_comes_first(
        bot: BotEndpoint, worker: Worker, slack: SlackStandIn, tmp_path: Path) -> None:
    file = attach(slack, "board.png", picture(tmp_path, "board.png", "testsrc2", "1280x720"))
    thread = "1700400700.000100"
    share = {"type": "message", "subtype": "file_share", "user": "U0CREATIVE", "channel": ART,
             "channel_type": "channel", "ts": thread, "event_ts": thread, "upload": False, "files": [file],
             "text": "<@UDAILIESBOT> Lighthouse in fog\nx1 2s"}
    assert bot.event(share).status_code == 200
    brief_with_files(bot, "Lighthouse in fog\nx1 2s", [file], ts=thread)
    wait_for(lambda: worker.store.thread_requests(ART, thread))
    worker.drain()
    requests = worker.store.thread_requests(ART, thread)
    assert len(requests) == 1 and [r.file_id for r in requests[0].resolved.references] == [file["id"]]


def test_the_sound_teams_provenance_names_the_frames_a_take_was_made_from(
        bot: BotEndpoint, worker: Worker, slack: SlackStandIn, tmp_path: Path) -> None:
    first = attach(slack, "open.png", picture(tmp_path, "open.png", "testsrc2", "1280x720"))
    last = attach(slack, "close.png", picture(tmp_path, "close.png", "smptebars", "1280x720"))
    thread = "1700400800.000100"
    brief_with_files(bot, "Door opens onto a beach\nSound: surf\nx1 3s", [first, last], ts=thread)
    wait_for(lambda: worker.store.thread_requests(ART, thread))
    worker.drain()
    take = thread_takes(worker.store, thread, ART)[0]
    ticket = flag_and_post(bot, worker, worker.store, take)
    package = [f for f in slack.files.values() if f.get("thread_ts") == ticket.queue_ts]
    origin = json.loads(slack.uploads[next(f for f in package if f["name"] == "provenance.json")["id"]])
    assert [(r["file_id"], r["role"], r["name"]) for r in origin["reference_frames"]] == [
        (first["id"], "first_frame", "open.png"), (last["id"], "last_frame", "close.png")]
    sent = Path(worker.settings.media_dir) / "references" / take.request_id
    assert origin["parameters"]["first_frame_sha256"] == hashlib.sha256(
        (sent / f"{first['id']}-1280x720.jpg").read_bytes()).hexdigest()


def png_of(width: int, height: int, *, rows: int | None = None) -> bytes:
    """A black 1-bit PNG of `width` × `height`, a few KB however large: a decompression bomb when large.
    With `rows`, only that many rows of data follow the header (a lie about the picture)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([1, 0, 0, 0, 0])
    raw = (b"\0" + b"\0" * ((width + 7) // 8)) * (height if rows is None else rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


def test_a_large_frame_is_fitted_but_a_decompression_bomb_is_refused(tmp_path: Path) -> None:
    fine, bomb = tmp_path / "fine.png", tmp_path / "bomb.png"
    fine.write_bytes(png_of(7000, 7000))  # 49 megapixels: a real (if large) still
    bomb.write_bytes(png_of(10_000, 10_000))  # 100 megapixels in 12 KB
    assert image_facts(prepare_frame(fine, tmp_path / "fine.jpg", 1280, 720).read_bytes())[1:] == (1280, 720)
    with pytest.raises(MediaError):
        prepare_frame(bomb, tmp_path / "bomb.jpg", 1280, 720)
    assert not (tmp_path / "bomb.jpg").exists()


@pytest.mark.parametrize(("data", "expected"), [
    (png_of(2000, 2000, rows=3), MediaError),
    (b"GIF89a" + b"\0" * 64, NotMedia),
    (b"#EXTM3U\n#EXTINF:10,\nfile:///etc/passwd\n", NotMedia),
    (b"ffconcat version 1.0\nfile '/etc/passwd'\n", NotMedia),
])
def test_a_frame_is_checked_by_its_own_bytes_before_ffmpeg_decodes_it(data: bytes, expected: type, tmp_path: Path):
    source = tmp_path / "frame.png"
    source.write_bytes(data)
    with pytest.raises(expected):
        prepare_frame(source, tmp_path / "out.jpg", 1280, 720)
    assert not (tmp_path / "out.jpg").exists()


def test_the_form_names_the_frames_field_and_the_models_that_can(settings: Settings) -> None:
    frame = ReferenceImage(file_id="F1", name="a.png", mimetype="image/png", size_bytes=1000, width_px=1280,
                           height_px=720)
    last = frame.model_copy(update={"file_id": "F2", "role": "last_frame"})
    form = BriefForm(picture="A lighthouse in fog", model="fal:fal-ai/veo3/fast", duration_s=4, aspect="16:9",
                     resolution="720p", takes=1)
    found = problems(form, settings, ChannelSettings(), [frame, last])
    assert set(found) == {"frames"} and len(found["frames"]) <= 150
    assert found["frames"].startswith("Veo 3 fast (fal) cannot end on a last frame; models that can: previz, veo")
    assert "fal:fal-ai/veo3.1" in found["frames"] and "fal-ai/veo3/fast" not in found["frames"].split("can:")[1]
    assert problems(form, settings, ChannelSettings(), [frame]) == {}  # one frame: its image-to-video sibling
