"""Hostile media (issue: ffmpeg follows references inside files it is handed): a provider result or a mix
that is a DASH manifest, an HLS playlist, an ffconcat script or an image is refused with a clear sentence,
and nothing of the file it points at is measured, posted or packaged."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.media import NotMedia, input_args, probe_media, sniff_container
from jobs.domain.models import TakeState
from jobs.domain.store import RedisStore
from tests.harness import Worker, make_settings, mention, wait_for
from tests.hostile_files import hostile_files, make_victim
from tests.standins.fal import FAL_KEY, FalStandin
from tests.standins.slack import SlackStandIn

KINDS = ["dash", "hls", "concat", "png"]
WHAT = {"dash": "DASH manifest", "hls": "HLS playlist", "concat": "concat script", "png": "an image"}


def test_the_victim_is_real_media_and_the_hostile_files_are_refused_by_their_bytes(tmp_path: Path) -> None:
    victim = make_victim(tmp_path / "other-take" / "1A.mp4")
    assert sniff_container(victim) == "mov" and probe_media(victim).has_audio
    for kind, data in hostile_files(victim, tmp_path / "h").items():
        path = tmp_path / f"{kind}.mp4"
        path.write_bytes(data)
        with pytest.raises(NotMedia) as refused:
            input_args(path)
        assert WHAT[kind] in str(refused.value)


@pytest.mark.parametrize("kind", KINDS)
def test_a_provider_result_that_is_not_a_video_is_refused(kind: str, bot, slack: SlackStandIn, settings,
                                                           tmp_path: Path) -> None:
    media = tmp_path / "media"
    victim = make_victim(media / "takes" / "victim0000000000-0" / "1A.mp4")  # another channel's take
    data = hostile_files(victim, tmp_path / "hostile")[kind]
    with FalStandin() as fal:
        fal.video_url = fal.serve_media(f"/media/{kind}.mp4", data)
        tuned = make_settings(settings.redis_url, slack.api_url, media, FAL_KEY=FAL_KEY, FAL_QUEUE_URL=fal.url,
                              DAILIES_ALLOWED_MEDIA_URLS=fal.url + "/")
        worker = Worker(tuned)
        thread = "1700500000.000100"
        bot.event(mention("Ferris wheel at dusk\nSound: creaking\nx1 4s --model fal:fal-ai/veo3.1", ts=thread))
        wait_for(worker.pending)
        worker.drain()
    store = RedisStore.open(tuned)
    (take,) = store.channel_takes("C0ART")
    assert take.state == TakeState.failed and take.cost_usd == 0
    assert "not a video" in (take.error or "") and WHAT[kind] in (take.error or "")
    said = [m["text"] for m in slack.posted(thread_ts=thread)]
    assert any("not a video" in text for text in said), said
    assert not slack.completed_uploads("C0ART")  # no clip, no waveform
    victim_bytes = victim.read_bytes()
    assert all(victim_bytes[1000:2000] not in data for data in slack.uploads.values())
    assert take.sound is None  # nothing was measured


def test_an_unknown_fal_endpoint_is_refused_in_the_thread_and_nothing_is_queued(bot, worker, slack, settings):
    thread = "1700500100.000100"
    bot.event(mention("Ferris wheel at dusk\nSound: creaking\nx1 4s --model fal:stranger/their-app", ts=thread))
    said = wait_for(lambda: slack.posted(thread_ts=thread))
    assert "not a fal endpoint Dailies is set up for" in said[0]["text"] and "DAILIES_FAL_ENDPOINTS" in str(said)
    assert worker.pending() == 0
    assert not RedisStore.open(settings).channel_takes("C0ART")


def test_set_model_validates_the_value_like_a_brief_flag(bot, worker, slack, redis_url, tmp_path):
    from jobs.domain.channels import load_channel_settings

    lead = "U0LEAD"
    tuned = make_settings(redis_url, slack.api_url, tmp_path / "media", DAILIES_LEADS=lead)
    from tests.harness import BotEndpoint

    endpoint = BotEndpoint(tuned)
    try:
        thread = "1700500200.000100"
        endpoint.event(mention("set model=fal:<!channel>", ts=thread, user=lead))
        said = wait_for(lambda: slack.posted(thread_ts=thread))
        assert "Settings not changed" in said[0]["text"] and "<!channel>" not in said[0]["text"]
        store = RedisStore.open(tuned.model_copy(update={'redis_url': redis_url}))
        assert load_channel_settings(store, "C0ART").model is None
    finally:
        endpoint.stop()
