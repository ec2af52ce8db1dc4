"""Briefs through the bot's real endpoint: exactly once, bad input refused with a reply, signatures enforced."""

from __future__ import annotations

import json
import time

import pytest
from redis import Redis

from jobs.domain.store import RedisStore
from tests.harness import Worker, mention, wait_for
from tests.standins.slack import BOT_ID, BOT_USER_ID, SlackStandIn


def _store(settings) -> RedisStore:
    return RedisStore(Redis.from_url(settings.redis_url), settings.key_prefix)


def _replies(slack: SlackStandIn, thread_ts: str) -> list[dict]:
    return slack.posted(thread_ts=thread_ts)


def test_retry_and_twin_message_event_make_one_job(bot, worker: Worker, slack: SlackStandIn, settings):
    ts = "1700000100.000100"
    event = mention("A lighthouse in fog\nSound: foghorn, waves\nx1 1s", ts=ts)
    assert bot.event(event, event_id="EvSAME").status_code == 200
    assert bot.event(event, event_id="EvSAME", retry_num=1).status_code == 200
    twin = {**event, "type": "message", "channel_type": "channel"}
    assert bot.event(twin, event_id="EvTWIN").status_code == 200
    # The same message delivered again as a fresh app_mention (new event id) is still one job.
    assert bot.event(event, event_id="EvOTHER").status_code == 200
    wait_for(lambda: _replies(slack, ts))
    wait_for(lambda: worker.pending() == 1)
    time.sleep(0.5)  # give any duplicate listener time to act before counting
    assert worker.pending() == 1
    assert len(_replies(slack, ts)) == 1
    worker.drain()
    assert len([f for f in slack.completed_uploads("C0ART") if f["name"].endswith(".mp4")]) == 1
    assert len(_store(settings).channel_takes("C0ART")) == 1


@pytest.mark.parametrize(
    "event_extra",
    [
        {"bot_id": "B0OTHER"},
        {"bot_id": BOT_ID, "user": BOT_USER_ID},
        {"subtype": "message_changed"},
        {"subtype": "message_deleted"},
    ],
)
def test_bot_messages_edits_and_deletions_start_nothing(bot, worker: Worker, slack: SlackStandIn, event_extra):
    event = {"type": "message", "channel": "D0DM", "channel_type": "im", "user": "U0CREATIVE",
             "text": "A red balloon x1 1s", "ts": "1700000200.000100", **event_extra}
    assert bot.event(event).status_code == 200
    time.sleep(0.6)
    assert worker.pending() == 0
    assert slack.calls_to("chat.postMessage") == []


def test_direct_message_brief_runs_in_the_dm(bot, worker: Worker, slack: SlackStandIn):
    event = {"type": "message", "channel": "D0DM", "channel_type": "im", "user": "U0CREATIVE",
             "text": "A red balloon over rooftops\nMusic: playful pizzicato strings\nx1 1s", "ts": "1700000300.000100"}
    bot.event(event)
    wait_for(lambda: slack.posted(channel="D0DM"))
    wait_for(worker.pending)
    worker.drain()
    clips = [f for f in slack.completed_uploads("D0DM") if f["name"].endswith(".mp4")]
    assert len(clips) == 1 and clips[0]["thread_ts"] == "1700000300.000100"


def test_mention_inside_a_thread_posts_into_that_thread(bot, worker: Worker, slack: SlackStandIn):
    bot.event(mention("Desert highway at noon\nSound: wind, cicadas\nx1 1s", ts="1700000400.000200",
                      thread_ts="1700000400.000100"))
    wait_for(lambda: slack.posted(thread_ts="1700000400.000100"))
    wait_for(worker.pending)
    worker.drain()
    clips = [f for f in slack.completed_uploads("C0ART") if f["name"].endswith(".mp4")]
    assert [c["thread_ts"] for c in clips] == ["1700000400.000100"]


BAD_BRIEFS = [
    ("", "empty"),
    ("A cat --fast", "Unknown flag"),
    ("A cat x500", "1 to 24"),
    ("A cat 90s", "1 to 60"),
    ("A cat 8s 10s", "Conflicting"),
    ("A cat --silent\nSound: purring", "--silent"),
    ("A cat 4:3", "aspect"),
    ("A cat --model sora", "Known models"),
    ("A cat --target cinema", "Known targets"),
    ("A cat --seed banana", "seed"),
    ("A cat 45s", "previz cannot make 45 s"),
    ("A " + "very " * 800 + "long brief", "limit is 3,000"),
]


@pytest.mark.parametrize(("text", "expected"), BAD_BRIEFS)
def test_each_invalid_brief_gets_a_reply_and_nothing_is_queued(bot, worker: Worker, slack: SlackStandIn, settings,
                                                                text, expected):
    ts = f"{1700001000 + abs(hash(text)) % 100000}.000100"
    bot.event(mention(text, ts=ts))
    reply = wait_for(lambda: _replies(slack, ts))[0]
    rendered = reply["text"] + json.dumps(reply.get("blocks"))
    assert expected in rendered
    assert "can't run that brief" in reply["text"]
    assert worker.pending() == 0
    store = _store(settings)
    assert store.channel_takes("C0ART") == []
    assert store.thread_requests("C0ART", ts) == []


def test_brief_without_sound_direction_runs_with_a_tip(bot, worker: Worker, slack: SlackStandIn):
    ts = "1700000500.000100"
    bot.event(mention("A paper boat in a gutter x1 1s", ts=ts))
    status = wait_for(lambda: _replies(slack, ts))[0]
    assert "no sound direction" in json.dumps(status["blocks"])
    wait_for(lambda: worker.pending() == 1)


def test_bad_signature_is_rejected(bot, worker: Worker, slack: SlackStandIn):
    body = json.dumps({"type": "event_callback", "event_id": "EvBAD", "event": mention("x1 1s A cat")})
    response = bot.post(body, "application/json", secret="not-the-secret")
    assert response.status_code == 401
    time.sleep(0.3)
    assert worker.pending() == 0 and slack.calls_to("chat.postMessage") == []


def test_old_timestamp_is_rejected(bot, worker: Worker, slack: SlackStandIn):
    body = json.dumps({"type": "event_callback", "event_id": "EvOLD", "event": mention("x1 1s A cat")})
    response = bot.post(body, "application/json", timestamp=int(time.time()) - 600)
    assert response.status_code == 401
    time.sleep(0.3)
    assert worker.pending() == 0 and slack.calls_to("chat.postMessage") == []


def test_url_verification_challenge_is_answered(bot):
    response = bot.post(json.dumps({"type": "url_verification", "challenge": "abc123", "token": "t"}),
                        "application/json")
    assert response.status_code == 200 and "abc123" in response.text


def test_export_lists_takes_as_json(bot, worker: Worker, slack: SlackStandIn, settings, monkeypatch):
    from click.testing import CliRunner

    from bot.cli import main

    ts = "1700000600.000100"
    bot.event(mention("Harbour at dawn\nSound: gulls, rigging\nx2 1s", ts=ts))
    wait_for(lambda: _replies(slack, ts))
    wait_for(worker.pending)
    worker.drain()
    for name, field in type(settings).model_fields.items():
        value = getattr(settings, name)
        if field.alias and value is not None and not isinstance(value, list):
            monkeypatch.setenv(field.alias, value.get_secret_value() if hasattr(value, "get_secret_value")
                               else str(value))
    result = CliRunner().invoke(main, ["export", "--channel", "C0ART", "--thread", ts, "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["label"] for r in rows] == ["1A", "1B"]
    for row in rows:
        assert row["thread_ts"] == ts and row["status"] == "posted" and row["model"] == "previz"
        assert row["message_ts"] and row["duration_s"] == 1
        assert row["sound"]["integrated_lufs"] is not None and row["sound"]["true_peak_dbtp"] is not None
        assert row["score"] == 0 and row["votes"] == {} and row["ticket"] is None


def test_a_payload_bolt_cannot_parse_is_acked_when_signed_and_refused_when_not(bot, worker: Worker, slack):
    odd = {"type": "app_mention", "user": False, "channel": "C0ART", "ts": "1700000700.000100", "text": "x1 1s A"}
    assert bot.event(odd).status_code == 200
    assert bot.event(odd, secret="wrong-secret").status_code == 401
    time.sleep(0.3)
    assert worker.pending() == 0 and slack.calls_to("chat.postMessage") == []
