"""Fair review: every take in a thread is heard at one loudness (the louder take no longer wins by being louder),
the card says what was rendered and what is heard, and every check and handoff uses the native file."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from adapters.base import FailureKind, ProviderError
from adapters.media import ffmpeg_exe, probe_media
from jobs.audio.preview import plan_preview
from jobs.domain.channels import load_channel_settings
from jobs.domain.models import Take
from jobs.domain.reel import next_reel_at
from jobs.domain.spend_report import spend_summary
from jobs.pipeline import review
from jobs.pipeline.media import take_file
from jobs.pipeline.tickets import take_provenance
from tests.audio_signals import at_lufs, decode, dual, noise, reference_lufs, sine, video_md5, write_mp4
from tests.harness import BotEndpoint, Worker, block_action, make_settings, mention, react, wait_for
from tests.hostile import crafted_provider
from tests.standins.fal import FAL_KEY, FalStandin
from tests.standins.slack import SlackStandIn
from tests.test_slack_modal import opened
from tests.test_slack_modal import submission as modal_submission
from tests.vote_helpers import cancel_round

ART = "C0ART"
LEAD = "U0LEAD"
CREATIVE = "U0CREATIVE"
QUIET_LUFS, LOUD_LUFS = -26.0, -17.0
SOCIAL_LUFS = -14.0


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two takes whose native loudness differs by 9 LU: a quiet tone and a louder noise bed."""
    folder = tmp_path_factory.mktemp("loudness")
    return {
        "1A": write_mp4(folder / "quiet.mp4", at_lufs(dual(sine(-20, 3.0, freq=440.0)), QUIET_LUFS)),
        "1B": write_mp4(folder / "loud.mp4", at_lufs(dual(noise(-20, 3.0, seed=7)), LOUD_LUFS)),
    }


@pytest.fixture()
def settings(redis_url: str, slack: SlackStandIn, tmp_path: Path):
    return make_settings(redis_url, slack.api_url, tmp_path / "media", DAILIES_LEADS=LEAD)


def heard_lufs(slack: SlackStandIn, file_id: str, folder: Path) -> float:
    """The loudness of what Slack holds, measured by pyloudnorm (not by jobs/)."""
    path = folder / f"{file_id}.mp4"
    path.write_bytes(slack.uploads[file_id])
    return reference_lufs(decode(path))


def round_of_two(bot: BotEndpoint, worker: Worker, clips: dict[str, Path], thread: str) -> list[Take]:
    with crafted_provider(clips):
        assert bot.event(mention("A bell and the rain x2 3s --model crafted", ts=thread)).status_code == 200
        wait_for(worker.pending)
        worker.drain()
    takes = sorted(worker.store.thread_takes(ART, thread), key=lambda t: t.label)
    assert [t.state.value for t in takes] == ["posted", "posted"]
    return takes


def card_text(slack: SlackStandIn, take: Take) -> str:
    return str(slack.messages[(ART, take.message_ts)]["blocks"])


def test_two_takes_of_different_loudness_are_heard_at_one_level_with_their_native_numbers_on_the_cards(
        bot, worker: Worker, slack: SlackStandIn, clips, tmp_path: Path) -> None:
    quiet, loud = round_of_two(bot, worker, clips, "1700900001.000100")
    # The sound check judged the native files.
    assert quiet.sound.integrated_lufs == pytest.approx(QUIET_LUFS, abs=0.5)
    assert loud.sound.integrated_lufs == pytest.approx(LOUD_LUFS, abs=0.5)
    # What plays in the thread is matched: both within a fraction of a LU of the channel's target.
    heard = [heard_lufs(slack, take.file_id, tmp_path) for take in (quiet, loud)]
    assert heard == [pytest.approx(SOCIAL_LUFS, abs=0.4)] * 2
    assert abs(heard[0] - heard[1]) < 0.5 < abs(quiet.sound.integrated_lufs - loud.sound.integrated_lufs)
    for take in (quiet, loud):
        assert f"Native {take.sound.integrated_lufs:.1f} LUFS, heard here at -14 LUFS" in card_text(slack, take)
        # The native file stays as rendered on this machine, and is kept in Slack, shared nowhere.
        assert reference_lufs(decode(Path(take.file_path))) == pytest.approx(take.sound.integrated_lufs, abs=0.3)
        kept = slack.files[take.native_file_id]
        assert kept["completed"] and kept["channel"] is None
        assert slack.uploads[take.native_file_id] == Path(take.file_path).read_bytes()


def test_a_worker_without_the_file_masters_and_hands_off_the_native_copy_never_the_preview(
        bot, worker: Worker, slack: SlackStandIn, clips) -> None:
    quiet, _ = round_of_two(bot, worker, clips, "1700900101.000100")
    for path in Path(quiet.file_path).parent.iterdir():  # another machine: nothing of the take on its disk
        path.unlink()
    fetched = take_file(worker.runtime, worker.store.get_take(quiet.id))
    assert fetched is not None and fetched.read_bytes() == slack.uploads[quiet.native_file_id]
    assert reference_lufs(decode(fetched)) == pytest.approx(QUIET_LUFS, abs=0.5)


def test_a_lead_turns_matching_off_or_picks_another_level_and_bad_levels_are_refused(
        bot, worker: Worker, slack: SlackStandIn, clips, tmp_path: Path) -> None:
    def say(text: str, ts: str, user: str = LEAD) -> None:
        assert bot.event(mention(text, user=user, ts=ts)).status_code == 200

    say("set preview-loudness=loud", "1700900200.000100")
    refusal = wait_for(lambda: [m for m in slack.posted(channel=ART) if "Settings not changed" in m["text"]])
    assert "`preview-loudness` is `native`, `target`, or a level from -40 to -5 LUFS" in refusal[0]["text"]
    say("set preview-loudness=-3", "1700900201.000100")
    wait_for(lambda: len([m for m in slack.posted(channel=ART) if "Settings not changed" in m["text"]]) == 2)

    say("set preview-loudness=-16", "1700900202.000100")
    wait_for(lambda: [m for m in slack.posted(channel=ART) if "takes heard at -16 LUFS" in m["text"]])
    quiet, loud = round_of_two(bot, worker, clips, "1700900300.000100")
    assert [heard_lufs(slack, t.file_id, tmp_path) for t in (quiet, loud)] == [pytest.approx(-16, abs=0.4)] * 2
    assert "heard here at -16 LUFS" in card_text(slack, quiet)

    say("set preview-loudness=native", "1700900203.000100")
    wait_for(lambda: [m for m in slack.posted(channel=ART) if "takes heard as rendered" in m["text"]])
    quiet, loud = round_of_two(bot, worker, clips, "1700900400.000100")
    for take in (quiet, loud):
        assert take.preview is None and take.native_file_id is None
        assert slack.uploads[take.file_id] == Path(take.file_path).read_bytes()  # the thread plays the native file
        assert "heard here" not in card_text(slack, take)


def test_the_gain_alone_when_it_fits_under_the_ceiling_and_a_limiter_when_it_would_not() -> None:
    quiet = plan_preview(native_lufs=-26.0, native_peak_dbtp=-20.0, level_lufs=-14.0, ceiling_dbtp=-1.0)
    assert quiet.gain_db == 12.0 and quiet.limit_dbtp is None and quiet.needed
    spiky = plan_preview(native_lufs=-26.0, native_peak_dbtp=-6.0, level_lufs=-14.0, ceiling_dbtp=-1.0)
    assert spiky.gain_db == 12.0 and spiky.limit_dbtp == pytest.approx(-1.5)
    loud = plan_preview(native_lufs=-9.0, native_peak_dbtp=-0.5, level_lufs=-14.0, ceiling_dbtp=-1.0)
    assert loud.gain_db == -5.0 and loud.limit_dbtp is None
    assert not plan_preview(native_lufs=-14.05, native_peak_dbtp=-3.0, level_lufs=-14.0, ceiling_dbtp=-1.0).needed


def frame_rgb(path: Path, at_s: float, x: int, y: int) -> tuple[int, int, int]:
    """One pixel of the frame at `at_s`, decoded by ffmpeg (not by jobs/)."""
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-ss", f"{at_s}", "-i", str(path), "-frames:v", "1",
                          "-vf", f"crop=2:2:{x}:{y}", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    return raw[0], raw[1], raw[2]


def is_tone(samples: np.ndarray, freq_hz: float = 440.0, rate: int = 48000) -> bool:
    """True when most of the energy sits at `freq_hz` (the quiet take's tone, not the loud take's noise)."""
    spectrum = np.abs(np.fft.rfft(samples[:, 0])) ** 2
    freqs = np.fft.rfftfreq(samples.shape[0], 1 / rate)
    near = spectrum[np.abs(freqs - freq_hz) < 20].sum()
    return near / spectrum.sum() > 0.8


def test_compare_plays_each_takes_own_sound_in_turn_at_one_loudness_with_the_playing_one_framed(
        bot, worker: Worker, slack: SlackStandIn, clips, tmp_path: Path) -> None:
    thread = "1700900501.000100"
    quiet, loud = round_of_two(bot, worker, clips, thread)
    for take in (quiet, loud):  # gone from every machine: the compare is cut from Slack's native copies
        for path in Path(take.file_path).parent.iterdir():
            path.unlink()
    assert bot.event(mention("compare 1A 1B", ts="1700900502.000100", thread_ts=thread)).status_code == 200
    wait_for(worker.pending)
    worker.drain()
    made = [f for f in slack.completed_uploads(ART) if f["name"].startswith("compare-1A-1B")]
    assert len(made) == 1 and made[0]["thread_ts"] == thread
    clip = tmp_path / "compare.mp4"
    clip.write_bytes(slack.uploads[made[0]["id"]])
    info = probe_media(clip)
    assert (info.width, info.height) == (1280, 360) and info.duration_s == pytest.approx(6.0, abs=0.2)
    sound = decode(clip)
    first, second = sound[: 3 * 48000], sound[3 * 48000: 6 * 48000]
    assert is_tone(first) and not is_tone(second)  # 1A's own sound, then 1B's
    assert reference_lufs(first) == pytest.approx(SOCIAL_LUFS, abs=0.5)
    assert reference_lufs(second) == pytest.approx(SOCIAL_LUFS, abs=0.5)
    gold = (242, 201, 76)
    left_edge, right_edge = (2, 180), (642, 180)
    assert closeish(frame_rgb(clip, 1.5, *left_edge), gold) and not closeish(frame_rgb(clip, 1.5, *right_edge), gold)
    assert closeish(frame_rgb(clip, 4.5, *right_edge), gold) and not closeish(frame_rgb(clip, 4.5, *left_edge), gold)


def closeish(rgb: tuple[int, int, int], wanted: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 40 for a, b in zip(rgb, wanted, strict=True))


def test_a_compare_that_cannot_be_made_says_why_and_queues_nothing(
        bot, worker: Worker, slack: SlackStandIn, clips) -> None:
    thread = "1700900601.000100"
    with crafted_provider(clips, errors={"1C": ProviderError(FailureKind.policy, "declined the brief")}):
        assert bot.event(mention("A bell and the rain x3 3s --model crafted", ts=thread)).status_code == 200
        wait_for(worker.pending)
        worker.drain()
    asked = {
        "compare 1A": "at least 2 different takes",
        "compare 1A 1A": "at least 2 different takes",
        "compare 1A 1B 1C 2A 2B": "at most 4 takes at once (5 were named)",
        "compare 1A 9Z": "there is no take 9Z here",
        "compare 1A 1C": "take 1C is failed, not posted",
    }
    for n, text in enumerate(asked):
        assert bot.event(mention(text, ts=f"1700900610.00010{n}", thread_ts=thread)).status_code == 200
    def refusals() -> list[str]:
        return [m["text"] for m in slack.posted(channel=ART, thread_ts=thread) if "compare 1A 2C" in m["text"]]

    wait_for(lambda: len(refusals()) == len(asked))
    said = refusals()
    for expected in asked.values():
        assert any(expected in text and "`@dailies compare 1A 2C`" in text for text in said), expected
    assert worker.pending() == 0
    assert not [f for f in slack.completed_uploads(ART) if f["name"].startswith("compare-")]


# -- the day's reel ------------------------------------------------------------------------------------------------
def reel_posts(slack: SlackStandIn) -> list[dict]:
    return [f for f in slack.completed_uploads(ART) if f["name"].startswith("reel-")]


def test_reel_posts_each_threads_top_voted_take_of_the_day_after_a_slate_at_one_loudness(
        bot, worker: Worker, slack: SlackStandIn, clips, tmp_path: Path) -> None:
    first, second, old = "1700901001.000100", "1700901002.000100", "1700901000.000100"
    quiet, loud = round_of_two(bot, worker, clips, first)
    only, _ = round_of_two(bot, worker, clips, second)
    for stale in round_of_two(bot, worker, clips, old):  # a thread of two days ago is not in today's reel
        worker.store.update_take(stale.id, lambda t: setattr(t, "created_at", t.created_at - 2 * 24 * 3600))
    for voter in ("U0ANA", "U0BEN"):  # 1B wins its thread; the other thread's takes tie, so its 1A (earliest)
        react(bot, slack, "+1", user=voter, ts=loud.message_ts)
    wait_for(lambda: worker.store.get_take(loud.id).score == 2 or worker.pending())
    worker.drain()
    assert worker.store.get_take(loud.id).score == 2

    assert bot.event(mention("reel", ts="1700901100.000100")).status_code == 200
    wait_for(worker.pending)
    worker.drain()
    (reel,) = reel_posts(slack)
    assert reel["thread_ts"] is None  # in the channel, not in a thread
    text = reel["initial_comment"]
    assert "2 selects" in text and "every sound heard at -14 LUFS" in text
    assert text.index(f"Take {loud.label}") < text.index(f"Take {only.label}")
    assert f"/archives/{ART}/p" in text
    clip = tmp_path / "reel.mp4"
    clip.write_bytes(slack.uploads[reel["id"]])
    assert probe_media(clip).duration_s == pytest.approx(2 * (1.5 + 3.0), abs=0.3)
    heard = decode(clip)
    slate, take_one, take_two = heard[: int(1.4 * 48000)], heard[int(1.5 * 48000): int(4.5 * 48000)], \
        heard[int(6.0 * 48000): int(9.0 * 48000)]
    assert float(np.abs(slate).max()) < 1e-3  # the slate is silent
    assert not is_tone(take_one) and is_tone(take_two)  # 1B (noise) of the first thread, then 1A (tone)
    assert reference_lufs(take_one) == pytest.approx(SOCIAL_LUFS, abs=0.5)
    assert reference_lufs(take_two) == pytest.approx(SOCIAL_LUFS, abs=0.5)


def test_no_takes_today_is_a_short_answer_and_no_file(bot, worker: Worker, slack: SlackStandIn) -> None:
    assert bot.event(mention("reel", ts="1700901200.000100")).status_code == 200
    wait_for(lambda: [m for m in slack.posted(channel=ART) if "no reel today" in m["text"]])
    assert worker.pending() == 0 and not reel_posts(slack)


def test_a_reel_over_slacks_upload_limit_comes_in_parts_or_says_which_take_cannot_fit(
        bot, worker: Worker, slack: SlackStandIn, clips, settings) -> None:
    round_of_two(bot, worker, clips, "1700901301.000100")
    round_of_two(bot, worker, clips, "1700901302.000100")
    review.make_reel(worker.runtime, ART, time.time())
    (whole,) = reel_posts(slack)
    size = whole["length"]

    def reel_with_limit(limit: int) -> list[dict]:
        before = {f["id"] for f in reel_posts(slack)}
        tight = Worker(settings.model_copy(update={"slack_upload_max_bytes": limit}))
        review.make_reel(tight.runtime, ART, time.time() + limit % 1000 + 1)
        return [f for f in reel_posts(slack) if f["id"] not in before]

    parts = reel_with_limit(size - 1)
    assert len(parts) == 2 and all(part["length"] <= size - 1 for part in parts)
    assert "in 2 parts, to fit Slack's upload limit" in parts[0]["initial_comment"]
    assert reel_with_limit(1000) == []
    said = [m["text"] for m in slack.posted(channel=ART) if "alone over Slack's upload limit" in m["text"]]
    assert len(said) == 1 and "1A, 1A" in said[0]


def test_a_lead_sets_a_daily_reel_in_their_time_zone_and_it_is_scheduled_once(
        bot, worker: Worker, slack: SlackStandIn, clips) -> None:
    quiet, _ = round_of_two(bot, worker, clips, "1700901500.000100")
    slack.time_zones[LEAD] = "Europe/Paris"
    assert bot.event(mention("set reel=25:00", user=LEAD, ts="1700901400.000100")).status_code == 200
    wait_for(lambda: [m for m in slack.posted(channel=ART) if "is a time on the 24-hour clock" in m["text"]])
    assert bot.event(mention("set reel=18:00", user=LEAD, ts="1700901401.000100")).status_code == 200
    wait_for(lambda: [m for m in slack.posted(channel=ART) if "reel daily at 18:00 (Europe/Paris)" in m["text"]])

    assert load_channel_settings(worker.store, ART).reel_zone == "Europe/Paris"
    now = time.time()
    due = next_reel_at("18:00", "Europe/Paris", now).timestamp()
    assert review.arm_daily_reels(worker.runtime, now=now) == 1
    assert review.arm_daily_reels(worker.runtime, now=now + 60) == 0  # the sweep runs every minute: once
    (job_id,) = worker.queue.scheduled_job_registry.get_job_ids()
    job = worker.queue.fetch_job(job_id)
    assert job.func_name.endswith("daily_reel") and job.args == (ART, due)
    assert worker.queue.scheduled_job_registry.get_scheduled_time(job).timestamp() == pytest.approx(due, abs=2)

    review.daily_reel(worker.runtime, ART, due + 3600)  # a time the channel does not ask for: nothing
    assert not reel_posts(slack)
    review.daily_reel(worker.runtime, ART, due)  # when the scheduler runs it
    (reel,) = reel_posts(slack)
    assert f"Take {quiet.label}" in reel["initial_comment"]
    review.daily_reel(worker.runtime, ART, due)  # run twice (an rq retry): posted once
    assert len(reel_posts(slack)) == 1


def test_the_next_reel_is_today_before_its_time_and_tomorrow_after_it() -> None:
    paris = ZoneInfo("Europe/Paris")
    before = datetime(2026, 12, 3, 17, 59, tzinfo=paris).timestamp()
    after = datetime(2026, 12, 3, 18, 1, tzinfo=paris).timestamp()
    assert next_reel_at("18:00", "Europe/Paris", before) == datetime(2026, 12, 3, 18, 0, tzinfo=paris)
    assert next_reel_at("18:00", "Europe/Paris", after) == datetime(2026, 12, 4, 18, 0, tzinfo=paris)
    assert next_reel_at("09:30", "Not/AZone", after).tzinfo == ZoneInfo("UTC")


# -- re-sound --------------------------------------------------------------------------------------------------
def resound(bot: BotEndpoint, worker: Worker, text: str, thread: str, ts: str) -> None:
    assert bot.event(mention(text, ts=ts, thread_ts=thread)).status_code == 200
    wait_for(worker.pending)
    worker.drain()


def thread_take(worker: Worker, thread: str, label: str) -> Take:
    (found,) = [t for t in worker.store.thread_takes(ART, thread) if t.label == label]
    return found


def test_resound_on_previz_keeps_the_picture_frame_for_frame_under_a_new_sound_bed(
        bot, worker: Worker, slack: SlackStandIn, tmp_path: Path) -> None:
    thread = "1700902001.000100"
    assert bot.event(mention("Rain on a tin roof\nSound: light rain\nx1 2s", ts=thread)).status_code == 200
    wait_for(worker.pending)
    worker.drain()
    original = thread_take(worker, thread, "1A")
    native = Path(original.file_path).read_bytes()
    resound(bot, worker, "resound 1A Sound: heavy thunder, wind\nMusic: none", thread, "1700902002.000100")
    again = thread_take(worker, thread, "1A·s1")
    assert again.state.value == "posted" and again.resound_of == original.id and again.model == "previz"
    assert video_md5(Path(again.file_path)) == video_md5(Path(original.file_path))  # the picture, packet for packet
    assert decode(Path(again.file_path)).shape != (0, 2) and Path(again.file_path).read_bytes() != native
    assert again.sound is not None and again.sound.has_audio
    assert "A new sound for take 1A's picture" in card_text(slack, again)
    assert Path(original.file_path).read_bytes() == native and worker.store.get_take(original.id).state.value == "posted"
    resound(bot, worker, "resound 1A Sound: birdsong", thread, "1700902003.000100")  # the next one: ·s2
    assert thread_take(worker, thread, "1A·s2").resound_of == original.id


@pytest.fixture()
def fal():
    standin = FalStandin().start()
    standin.finish_after_polls = 1
    yield standin
    standin.stop()


def test_resound_on_fal_sends_the_takes_own_file_and_prices_it_at_the_audio_models_rate(
        redis_url: str, slack: SlackStandIn, fal: FalStandin, tmp_path: Path) -> None:
    settings = make_settings(redis_url, slack.api_url, tmp_path / "media", DAILIES_LEADS=LEAD, FAL_KEY=FAL_KEY,
                             FAL_QUEUE_URL=fal.url, DAILIES_ALLOWED_MEDIA_URLS=fal.url + "/", DAILIES_POLL_INITIAL_S=0.1,
                             DAILIES_POLL_MAX_S=0.1)
    bot, worker = BotEndpoint(settings), Worker(settings)
    try:
        thread = "1700902101.000100"
        assert bot.event(mention("Neon alley\nSound: rain\nx1 4s --model fal:fal-ai/veo3.1", ts=thread)).status_code == 200
        wait_for(worker.pending)
        worker.drain()
        original = thread_take(worker, thread, "1A")
        resound(bot, worker, "resound 1A Sound: heavier rain, no music", thread, "1700902102.000100")
    finally:
        bot.stop()
    (sent,) = [c.json for c in fal.calls("POST") if c.path.strip("/") == "fal-ai/mmaudio-v2"]
    assert sent["video_url"].startswith("data:video/mp4;base64,")
    assert base64.b64decode(sent["video_url"].split(",", 1)[1]) == Path(original.file_path).read_bytes()
    assert "heavier rain, no music" in sent["prompt"] and 0 <= sent["seed"] <= 65535 and sent["duration"] == 4.0
    again = thread_take(worker, thread, "1A·s1")
    assert again.state.value == "posted" and again.model == "fal:fal-ai/mmaudio-v2"
    assert video_md5(Path(again.file_path)) == video_md5(Path(original.file_path))
    assert again.cost_usd == pytest.approx(0.004)
    assert "<the take's picture: video/mp4" in json.dumps(again.sent)  # provenance names the file, not its bytes
    origin = take_provenance(worker.runtime, again)
    assert origin.picture_from.startswith("take 1A (fal-ai/veo3.1") and "sound by MMAudio v2 (fal)" in origin.ai_generated


def test_a_resound_that_cannot_be_made_says_why_and_charges_nothing(
        bot, worker: Worker, slack: SlackStandIn, clips) -> None:
    thread, other = "1700902201.000100", "1700902202.000100"
    with crafted_provider({**clips, "*": clips["1A"]},
                          errors={"1B": ProviderError(FailureKind.policy, "declined the brief")}):
        for where, brief in ((thread, "A bell and the rain x2 3s --model crafted"),
                             (other, "A bell and the rain x2 3s --model crafted"),
                             (other, "Louder x1 3s --model crafted")):  # round 2 of the other thread: its 2A
            assert bot.event(mention(brief, ts=f"{where[:-1]}{len(brief) % 7}", thread_ts=where)).status_code == 200
            wait_for(worker.pending)
            worker.drain()
        assert bot.event(mention("Another bell x1 3s --model crafted", ts="1700902203.000200",
                                 thread_ts=thread)).status_code == 200
        (cancelled,) = wait_for(lambda: [r for r in worker.store.thread_requests(ART, thread)
                                         if r.round == 2 and r.status_ts])
        cancel_round(bot, cancelled)  # ❌ before it renders: its take 2A is cancelled
        wait_for(lambda: worker.store.get_request(cancelled.id).state.value == "cancelled")
        worker.drain()
        assert thread_take(worker, thread, "2A").state.value == "cancelled"
    assert thread_take(worker, other, "2A").state.value == "posted"
    spent_before = spend_summary(worker.store, ART).today_usd
    asked = {
        "resound 1A": "Nothing says what take 1A should sound like",
        "resound 1B Sound: thunder": "Take 1B is failed: only a posted take can get a new sound",
        "resound 2A Sound: thunder": "Take 2A is cancelled: only a posted take can get a new sound",
        "resound 7C Sound: thunder": "There is no take `7C` in this thread",
    }
    for n, text in enumerate(asked):
        assert bot.event(mention(text, ts=f"1700902210.00010{n}", thread_ts=thread)).status_code == 200
    for expected in asked.values():
        wait_for(lambda expected=expected: [m for m in slack.posted(channel=ART, thread_ts=thread)
                                            if expected in json.dumps(m.get("blocks")) + m["text"]])
    assert bot.event(mention("resound 2A Sound: thunder", ts="1700902220.000100", thread_ts=other)).status_code == 200
    wait_for(worker.pending)  # the other thread's own 2A can be re-sounded there
    assert not [t for t in worker.store.thread_takes(ART, thread) if "·s" in t.label]
    assert spend_summary(worker.store, ART).today_usd == spent_before


def test_the_new_sound_button_opens_a_form_only_its_presser_can_submit_and_the_take_gets_its_new_sound(
        bot, worker: Worker, slack: SlackStandIn) -> None:
    thread = "1700902301.000100"
    assert bot.event(mention("Rain on a tin roof\nSound: light rain\nx1 2s", ts=thread)).status_code == 200
    wait_for(worker.pending)
    worker.drain()
    original = thread_take(worker, thread, "1A")
    assert "new_sound" in card_text(slack, original)
    press = block_action("new_sound", original.id, user=CREATIVE, channel=ART, message_ts=original.message_ts,
                         thread_ts=thread)
    assert bot.action(press).status_code == 200
    form = opened(slack)
    assert form["callback_id"] == "new_sound_modal" and form["private_metadata"] == original.id

    stranger = submission(form, user="U0STRANGER", sound="thunder")
    assert "not opened for you" in bot.action(stranger).json()["errors"]["sound"]
    empty = bot.action(submission(form, user=CREATIVE))
    assert "Nothing says what take 1A should sound like" in empty.json()["errors"]["sound"]
    answer = bot.action(submission(form, user=CREATIVE, sound="heavy thunder\nand wind", music="none"))
    assert answer.status_code == 200 and not answer.content  # accepted: the form closes
    wait_for(worker.pending)
    worker.drain()
    again = thread_take(worker, thread, "1A·s1")
    assert again.state.value == "posted" and again.requester == CREATIVE
    assert worker.store.get_request(again.request_id).resolved.brief.sound == ["heavy thunder and wind"]
    assert video_md5(Path(again.file_path)) == video_md5(Path(original.file_path))


def submission(view: dict, *, user: str, **typed: str) -> dict:
    """A `view_submission` as Slack sends it, from `user` (the form tests' payload, another person's press)."""
    payload = modal_submission(view, **typed)
    return {**payload, "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T0TEAM"}}
