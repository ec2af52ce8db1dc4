"""Stems in the sound turnover (#24): dialogue, music and effects from fal's text-prompted separation
(`fal-ai/sam-audio/separate`, its shapes from fal's own client types), on the turnover's timecode, null-tested
against the native sound, charged through the budget and named in provenance — or a clear word why not."""

from __future__ import annotations

import io
import math
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from wavinfo import WavInfoReader

from jobs.audio.null_test import null_residual_db
from jobs.domain import tickets
from jobs.domain.spend_report import spend_summary
from jobs.domain.stems import StemsState
from jobs.domain.tickets import ticket_for_take
from jobs.infra.errors import ConfigError
from jobs.infra.settings import Settings, load_settings
from tests.harness import BotEndpoint, Worker, make_settings, reaction_event, wait_for
from tests.standins.fal import FAL_KEY, FalStandin
from tests.standins.slack import SlackStandIn
from tests.test_sound_queue import ART, LEAD, SOUND, flag_and_post
from tests.vote_helpers import posted_round

SEPARATION = "fal:fal-ai/sam-audio/separate"


@pytest.fixture()
def settings(redis_url: str, slack: SlackStandIn, tmp_path: Path) -> Settings:
    return make_settings(redis_url, slack.api_url, tmp_path / "media", DAILIES_LEADS=LEAD, DAILIES_SOUND_CHANNEL=SOUND)


@pytest.fixture()
def fal():
    standin = FalStandin().start()
    standin.finish_after_polls = 2
    yield standin
    standin.stop()


def stems_setup(redis_url: str, slack: SlackStandIn, fal: FalStandin, tmp_path: Path, **extra: object):
    settings = make_settings(redis_url, slack.api_url, tmp_path / "media", DAILIES_LEADS=LEAD,
                             DAILIES_SOUND_CHANNEL=SOUND, DAILIES_SEPARATION_MODEL=SEPARATION, FAL_KEY=FAL_KEY,
                             FAL_QUEUE_URL=fal.url, DAILIES_ALLOWED_MEDIA_URLS=fal.url + "/",
                             DAILIES_POLL_INITIAL_S=0.05, DAILIES_POLL_MAX_S=0.1, **extra)
    return BotEndpoint(settings), Worker(settings)


def archives(slack: SlackStandIn, ticket_id: str) -> dict[str, dict[str, bytes]]:
    found = {}
    for file in slack.files.values():
        if file["name"].startswith(f"{ticket_id}-turnover"):
            with zipfile.ZipFile(io.BytesIO(slack.uploads[file["id"]])) as bundle:
                found[file["name"]] = {name: bundle.read(name) for name in bundle.namelist()}
    return found


def thread_texts(slack: SlackStandIn, ticket: tickets.Ticket) -> list[str]:
    posted = [m.get("text") or "" for m in slack.posted(channel=SOUND, thread_ts=ticket.queue_ts)]
    comments = [c.args.get("initial_comment") or "" for c in slack.calls_to("files.completeUploadExternal")
                if c.args.get("thread_ts") == ticket.queue_ts]
    return posted + comments


def band_share(wav: bytes, low_hz: float, high_hz: float) -> float:
    """The share of a WAV's energy between two frequencies (after its 2-second head)."""
    with io.BytesIO(wav) as handle:
        info = WavInfoReader(handle)
    data = wav[wav.index(b"data") + 8:]
    channels = info.fmt.channel_count
    raw = np.frombuffer(data[: len(data) // (3 * channels) * 3 * channels], dtype=np.uint8).reshape(-1, 3)
    values = (raw[:, 0].astype(np.int32) | raw[:, 1].astype(np.int32) << 8 | raw[:, 2].astype(np.int32) << 16)
    values = np.where(values >= 1 << 23, values - (1 << 24), values).reshape(-1, channels)[2 * 48000:, 0]
    power = np.abs(np.fft.rfft(values.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(values.size, 1 / 48000)
    return float(power[(freqs >= low_hz) & (freqs < high_hz)].sum() / power.sum())


def test_a_flagged_take_gets_stems_on_its_timecode_that_sum_back_to_its_sound(
        redis_url: str, slack: SlackStandIn, fal: FalStandin, tmp_path: Path) -> None:
    bot, worker = stems_setup(redis_url, slack, fal, tmp_path)
    try:
        take = posted_round(bot, worker, "Rain on a tin roof, a voice calls out\nSound: rain, a shout\nx1 4s",
                            thread_ts="1700300100.000100")[0]
        ticket = flag_and_post(bot, worker, worker.store, take)
        worker.drain()
    finally:
        bot.stop()
    ticket = tickets.get_ticket(worker.store, ticket.id)
    assert ticket.stems is not None and ticket.stems.state == StemsState.made, ticket.stems
    # Two passes: speech out of the native sound (sent inline as FLAC), then music out of the first pass's residual.
    first, second = fal.separations
    assert (first["prompt"], second["prompt"]) == ("speech", "music")
    assert first["audio_url"].startswith("data:audio/flac;base64,")
    assert second["audio_url"] == ticket.stems.passes[0].residual_url and second["audio_url"].startswith(fal.url)

    packages = archives(slack, ticket.id)
    assert sorted(packages) == [f"{ticket.id}-turnover-v2.zip", f"{ticket.id}-turnover.zip"]
    assert "Stems: being separated by fal-ai/sam-audio/separate" in packages[f"{ticket.id}-turnover.zip"]["README.txt"].decode()
    v2 = packages[f"{ticket.id}-turnover-v2.zip"]
    stem = f"{ticket.id}-{take.label}"
    native = WavInfoReader(io.BytesIO(v2[f"{stem}-native-bwf.wav"]))
    for name in ("dialogue", "music", "effects"):
        wav = v2[f"{stem}-{name}-stem-bwf.wav"]
        info = WavInfoReader(io.BytesIO(wav))
        assert info.bext.time_reference == native.bext.time_reference > 0  # the same timecode as the mix
        assert info.fmt.sample_rate == 48000 and info.fmt.bits_per_sample == 24
        assert f"{name} stem" in info.bext.description
    assert band_share(v2[f"{stem}-dialogue-stem-bwf.wav"], 300, 3400) > 0.99  # what "speech" asked for
    assert band_share(v2[f"{stem}-music-stem-bwf.wav"], 0, 300) > 0.99
    readme = v2["README.txt"].decode()
    residual = float(re.search(r"sum back to the native mix within (-?[\d.]+) dB", readme)[1])
    assert residual < -60, readme
    assert "Stems: separated by fal-ai/sam-audio/separate" in readme and ticket.stems.passes[1].job_id_short in readme
    said = [t for t in thread_texts(slack, ticket) if t.startswith("Stems are in")]
    assert len(said) == 1 and "null against the native mix" in said[0]

    cost = 2 * ticket.stems.audio_s * 0.01
    assert ticket.stems.cost_usd == pytest.approx(cost) and 3.9 < ticket.stems.audio_s < 4.2
    assert spend_summary(worker.store, ART).by_model[SEPARATION] == pytest.approx(cost, abs=1e-6)

    worker.runtime.scheduler.enqueue("separate_stems", ticket.id)  # run again: nothing new is sent, posted or charged
    worker.drain()
    assert len(fal.separations) == 2 and len(archives(slack, ticket.id)) == 2
    assert spend_summary(worker.store, ART).by_model[SEPARATION] == pytest.approx(cost, abs=1e-6)


def test_a_separation_that_fails_says_why_once_and_charges_nothing(
        redis_url: str, slack: SlackStandIn, fal: FalStandin, tmp_path: Path) -> None:
    fal.outcome = "validation"
    bot, worker = stems_setup(redis_url, slack, fal, tmp_path)
    try:
        take = posted_round(bot, worker, "A lighthouse in fog\nSound: foghorn\nx1 3s", thread_ts="1700300200.000100")[0]
        ticket = flag_and_post(bot, worker, worker.store, take)
        worker.drain()
    finally:
        bot.stop()
    ticket = tickets.get_ticket(worker.store, ticket.id)
    assert ticket.stems.state == StemsState.not_made and "could not separate it: unexpected value" in ticket.stems.reason
    said = [t for t in thread_texts(slack, ticket) if t.startswith("No stems")]
    assert len(said) == 1 and "Nothing was charged" in said[0]
    assert SEPARATION not in spend_summary(worker.store, ART).by_model
    assert list(archives(slack, ticket.id)) == [f"{ticket.id}-turnover.zip"]  # no new version without stems


def test_no_room_in_the_budget_means_no_stems_and_nothing_sent(
        redis_url: str, slack: SlackStandIn, fal: FalStandin, tmp_path: Path) -> None:
    bot, worker = stems_setup(redis_url, slack, fal, tmp_path, DAILIES_DAILY_BUDGET_USD=0)  # previz renders free
    try:
        take = posted_round(bot, worker, "Wind over dunes\nSound: wind\nx1 3s", thread_ts="1700300300.000100")[0]
        ticket = flag_and_post(bot, worker, worker.store, take)
        worker.drain()
    finally:
        bot.stop()
    ticket = tickets.get_ticket(worker.store, ticket.id)
    assert ticket.stems.state == StemsState.not_made and "daily budget has no room" in ticket.stems.reason
    assert fal.separations == [] and not fal.calls("POST")
    assert any(t.startswith("No stems: the channel's daily budget") for t in thread_texts(slack, ticket))


def test_without_a_separation_model_the_package_says_so_and_nothing_is_sent(
        bot: BotEndpoint, worker: Worker, slack: SlackStandIn) -> None:
    take = posted_round(bot, worker, "Door in a hall\nSound: door slam\nx1 3s", thread_ts="1700300400.000100")[0]
    ticket = flag_and_post(bot, worker, worker.store, take)
    readme = archives(slack, ticket.id)[f"{ticket.id}-turnover.zip"]["README.txt"].decode()
    assert "Stems: not made — no separation model is configured" in readme and "DAILIES_SEPARATION_MODEL" in readme
    assert tickets.get_ticket(worker.store, ticket.id).stems is None


@pytest.mark.parametrize("value", ["kling", "fal:", "fal:not an endpoint", "sam-audio/separate"])
def test_a_bad_separation_model_is_one_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("DAILIES_SEPARATION_MODEL", value)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert "DAILIES_SEPARATION_MODEL" in str(refused.value) and "fal:fal-ai/sam-audio/separate" in str(refused.value)
    assert "\n" not in str(refused.value)


def test_the_null_test_reads_what_a_split_lost() -> None:
    rng = np.random.default_rng(7)
    mix = rng.normal(0, 0.1, (2, 48000))
    quiet = mix * 0.01  # a part 40 dB under the mix
    assert null_residual_db(mix, [mix - quiet, quiet]) < -120  # only rounding is left
    assert null_residual_db(mix, [mix - quiet]) == pytest.approx(-40.0, abs=0.01)  # the lost part, and no more
    assert null_residual_db(mix, [mix, mix]) == pytest.approx(0.0, abs=0.01)  # an invented copy reads 0 dB
    mono = rng.normal(0, 0.1, (1, 48000))
    assert null_residual_db(np.repeat(mono, 2, axis=0), [mono[:, :47990]]) < -120  # mono, and a few samples short
    assert math.isinf(null_residual_db(np.zeros((2, 100)), [np.zeros((2, 100))]))


def test_stems_whose_checks_were_lost_are_picked_up_by_the_recovery_sweep(
        redis_url: str, slack: SlackStandIn, fal: FalStandin, tmp_path: Path) -> None:
    bot, worker = stems_setup(redis_url, slack, fal, tmp_path)
    try:
        take = posted_round(bot, worker, "Crickets at night\nSound: crickets\nx1 3s", thread_ts="1700300500.000100")[0]
        bot.event(reaction_event("headphones", user=LEAD, channel=ART, ts=take.message_ts))
        wait_for(lambda: ticket_for_take(worker.store, take.id))
        worker.drain_until(lambda: (t := ticket_for_take(worker.store, take.id)) and t.stems
                           and t.stems.passes[0].job_id)
    finally:
        bot.stop()
    # Redis loses the scheduled check and the worker that ran it dies: nothing would look at the separation again.
    for job_id in worker.queue.scheduled_job_registry.get_job_ids():
        worker.queue.scheduled_job_registry.remove(job_id)
    worker.queue.empty()
    ticket = ticket_for_take(worker.store, take.id)
    worker.store.redis.delete(worker.store.key("stems-alive", ticket.id))
    worker.runtime.scheduler.enqueue("recover_stalled")  # the sweep, as it runs every minute
    worker.drain_until(lambda: tickets.get_ticket(worker.store, ticket.id).stems.said)
    ticket = tickets.get_ticket(worker.store, ticket.id)
    assert ticket.stems.state == StemsState.made and ticket.stems.said
    assert [s["prompt"] for s in fal.separations] == ["speech", "music"]  # the first pass was not sent again
