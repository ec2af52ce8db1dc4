"""The channel's sound bible: a lead pins the campaign's sonic identity once; every brief in that channel then
carries it to the provider after its own sound lines, says so, and hands it on to the sound team and export."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobs.domain.export import export_takes
from jobs.domain.store import RedisStore
from jobs.infra.settings import Settings
from tests.harness import BotEndpoint, Worker, make_settings, mention, wait_for
from tests.standins.fal import FAL_KEY, FalStandin
from tests.standins.slack import SlackStandIn
from tests.test_sound_queue import LEAD, SOUND, flag_and_post, ticket_posts
from tests.vote_helpers import send_brief

ART, OTHER = "C0ART", "C0OTHER"
BIBLE = "warm analog textures, no trap drums, brand chime: three rising notes"


@pytest.fixture()
def fal() -> Iterator[FalStandin]:
    standin = FalStandin().start()
    standin.finish_after_polls = 1
    yield standin
    standin.stop()


@pytest.fixture()
def settings(redis_url: str, slack: SlackStandIn, fal: FalStandin, tmp_path: Path) -> Settings:
    return make_settings(redis_url, slack.api_url, tmp_path / "media", DAILIES_LEADS=LEAD, DAILIES_SOUND_CHANNEL=SOUND,
                         FAL_KEY=FAL_KEY, FAL_QUEUE_URL=fal.url, DAILIES_ALLOWED_MEDIA_URLS=fal.url + "/")


def say(bot: BotEndpoint, text: str, *, user: str, channel: str = ART, ts: str) -> None:
    assert bot.event(mention(text, user=user, channel=channel, ts=ts)).status_code == 200


def prompts(fal: FalStandin) -> list[str]:
    return [c.json["prompt"] for c in fal.calls("POST") if isinstance(c.json, dict) and "prompt" in c.json]


def test_a_leads_sound_bible_reaches_the_provider_after_the_briefs_own_lines_only_in_its_channel(
        bot, worker: Worker, slack: SlackStandIn, fal: FalStandin, settings: Settings) -> None:
    say(bot, f'set sound-bible="{BIBLE}"', user="U0CREATIVE", ts="1700095000.000100")  # not a lead
    wait_for(lambda: [c for c in slack.calls_to("chat.postEphemeral") if "Only a lead" in c.args.get("text", "")])
    say(bot, f"set sound-bible=“{BIBLE}”", user=LEAD, ts="1700095001.000100")  # Slack's smart quotes
    saved = wait_for(lambda: [m for m in slack.posted(channel=ART) if "Sound bible" in m["text"]])
    assert BIBLE in saved[0]["text"]

    brief = "Neon alley at night\nSound: rain on awnings\nMusic: sparse synth pad\nx1 4s --model fal:fal-ai/veo3.1"
    here = send_brief(bot, worker.store, brief, thread_ts="1700095100.000100")
    there = send_brief(bot, worker.store, brief, thread_ts="1700095200.000100")  # in ART too: same bible
    elsewhere = "1700095300.000100"
    say(bot, brief, user="U0CREATIVE", channel=OTHER, ts=elsewhere)
    wait_for(lambda: worker.store.thread_requests(OTHER, elsewhere))
    worker.drain()
    sent = prompts(fal)
    assert len(sent) == 3
    with_bible = [p for p in sent if BIBLE in p]
    assert len(with_bible) == 2  # both ART briefs, not the other channel's
    for prompt in with_bible:
        assert prompt.index("rain on awnings") < prompt.index(BIBLE)  # the brief's own direction comes first
        assert prompt.index("sparse synth pad") < prompt.index(BIBLE)
    assert here.resolved.sound_bible == BIBLE == there.resolved.sound_bible
    status = slack.messages[(ART, worker.store.get_request(here.id).status_ts)]
    assert "sound bible was applied" in json.dumps(status.get("blocks"))

    rows = export_takes(RedisStore.open(settings), ART)
    assert {row["sound_bible"] for row in rows} == {BIBLE}
    assert {row["sound_bible"] for row in export_takes(RedisStore.open(settings), OTHER)} == {None}

    take = worker.store.takes_for(worker.store.get_request(here.id))[0]
    flag_and_post(bot, worker, worker.store, take)
    assert "Channel sound bible" in json.dumps(ticket_posts(slack)[-1]["blocks"]) and BIBLE in json.dumps(
        ticket_posts(slack)[-1]["blocks"])

    say(bot, "set sound-bible=none", user=LEAD, ts="1700095400.000100")
    wait_for(lambda: [m for m in slack.posted(channel=ART) if "sound-bible cleared" in m["text"]])
    cleared = send_brief(bot, worker.store, brief, thread_ts="1700095500.000100")
    worker.drain()
    assert cleared.resolved.sound_bible is None and BIBLE not in prompts(fal)[-1]


def test_a_sound_bible_too_long_or_without_its_closing_quote_changes_nothing(bot, worker: Worker,
                                                                             slack: SlackStandIn) -> None:
    say(bot, 'set sound-bible="' + "x" * 600 + '"', user=LEAD, ts="1700096000.000100")
    refused = wait_for(lambda: [m for m in slack.posted(channel=ART) if "Settings not changed" in m["text"]])
    assert "under 500" in refused[0]["text"]
    say(bot, 'set sound-bible="warm tape hiss', user=LEAD, ts="1700096100.000100")  # no closing quote: a brief
    wait_for(lambda: worker.store.thread_requests(ART, "1700096100.000100"))
    assert not [m for m in slack.posted(channel=ART) if "Channel settings saved" in m["text"]]


def home_of(bot: BotEndpoint, slack: SlackStandIn, user: str) -> str:
    before = len(slack.calls_to("views.publish"))
    assert bot.event({"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home",
                      "event_ts": f"{time.time():.6f}"}).status_code == 200
    calls = wait_for(lambda: (c := slack.calls_to("views.publish")) and len(c) > before and c)
    published = [c for c in calls[before:] if c.args.get("user_id") == user]
    return json.dumps(json.loads(published[-1].args["view"]) if isinstance(published[-1].args["view"], str)
                      else published[-1].args["view"])


def test_app_home_shows_the_sound_bibles_of_the_channels_a_person_is_in(bot, worker: Worker,
                                                                       slack: SlackStandIn) -> None:
    far = "CZZBIBLE"  # sorted after 250 other channels: on the second page of users.conversations
    slack.channel_members = {ART: [LEAD, "U0CREATIVE"], OTHER: [LEAD, "U0OUTSIDER"], far: ["U0CREATIVE"],
                             **{f"C9{n:05d}": ["U0CREATIVE"] for n in range(250)}}
    for channel, bible, ts in ((ART, BIBLE, "1700097000.000100"), (OTHER, "dry foley, no reverb", "1700097001.000100"),
                               (far, "choir pads only", "1700097002.000100")):
        say(bot, f'set sound-bible="{bible}"', user=LEAD, channel=channel, ts=ts)
        wait_for(lambda ch=channel: [m for m in slack.posted(channel=ch) if "Sound bible" in m["text"]])

    creative = home_of(bot, slack, "U0CREATIVE")
    assert "Sound bibles in your channels" in creative
    assert f"<#{ART}>" in creative and BIBLE in creative and "choir pads only" in creative
    assert "dry foley" not in creative  # not their channel
    outsider = home_of(bot, slack, "U0OUTSIDER")
    assert "dry foley, no reverb" in outsider and BIBLE not in outsider
    assert "Sound bibles" not in home_of(bot, slack, "U0NOBODY")

    say(bot, "set sound-bible=none", user=LEAD, channel=OTHER, ts="1700097100.000100")
    wait_for(lambda: [m for m in slack.posted(channel=OTHER) if "sound-bible cleared" in m["text"]])
    assert "Sound bibles" not in home_of(bot, slack, "U0OUTSIDER")
