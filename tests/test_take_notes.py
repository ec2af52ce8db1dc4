"""Timecoded notes: `@dailies note 1B 0:03 …` in a take's thread lands on the take, its card, its sound ticket
(listed, and mirrored once when written after the handoff), the handoff package and `dailies export`.
Everything goes through signed events to the real endpoint and the real rq pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobs.domain.export import export_takes
from jobs.domain.notes import parse_timecode, timecode
from jobs.domain.store import RedisStore
from jobs.infra.settings import Settings
from tests.harness import BotEndpoint, Worker, make_settings, mention, wait_for
from tests.standins.slack import SlackStandIn
from tests.test_sound_queue import LEAD, SOUND, flag_and_post, ticket_posts
from tests.vote_helpers import card_updates, posted_round, thread_takes

ART = "C0ART"
THREAD = "1700200000.000100"


@pytest.fixture()
def settings(redis_url: str, slack: SlackStandIn, tmp_path: Path) -> Settings:
    return make_settings(redis_url, slack.api_url, tmp_path / "media", DAILIES_LEADS=LEAD, DAILIES_SOUND_CHANNEL=SOUND)


def note(bot: BotEndpoint, slack: SlackStandIn, text: str, *, ts: str, user: str = "U0CREATIVE") -> str:
    """Write `@dailies <text>` in the round's thread; the bot's answer in the thread."""
    before = len(answers(slack))
    assert bot.event(mention(text, user=user, ts=ts, thread_ts=THREAD)).status_code == 200
    return wait_for(lambda: (found := answers(slack)) and len(found) > before and found[-1])


def answers(slack: SlackStandIn) -> list[str]:
    return [m["text"] for m in slack.posted(channel=ART) if m.get("thread_ts") == THREAD and ":memo:" in m["text"]]


def test_timecodes_read_as_people_write_them() -> None:
    assert parse_timecode("0:03") == 3.0
    assert parse_timecode("1:02.5") == 62.5
    assert parse_timecode("1:00:04") == 3604.0
    assert parse_timecode("3.5s") == 3.5
    assert parse_timecode("3 sec") is None  # two words: the time is one
    assert parse_timecode("3sec") == 3.0
    assert parse_timecode("0:75") is None and parse_timecode("soon") is None
    assert [timecode(s) for s in (3.0, 3.5, 62.25, 0.0)] == ["0:03", "0:03.5", "1:02.25", "0:00"]


def test_notes_land_on_the_take_and_its_card_and_bad_ones_are_refused_with_what_to_write(
        bot: BotEndpoint, worker: Worker, slack: SlackStandIn, settings: Settings) -> None:
    takes = posted_round(bot, worker, "Kettle on a stove, steam rising\nSound: kettle whistle\nx2 4s",
                         thread_ts=THREAD)
    second = next(t for t in takes if t.label == "1B")

    kept = note(bot, slack, "note 1B 0:03 the whistle is <harsh> & too loud", ts="1700200100.000100")
    assert "Noted on take 1B at 0:03" in kept and "1 note on 1B" in kept
    later = note(bot, slack, "note 1b 1.5s steam hiss could be softer", ts="1700200101.000100")
    assert "Noted on take 1B at 0:01.5" in later and "2 notes on 1B" in later
    worker.drain()
    stored = worker.store.get_take(second.id)
    assert [(n.at_s, n.text, n.by) for n in stored.notes] == [
        (1.5, "steam hiss could be softer", "U0CREATIVE"), (3.0, "the whistle is <harsh> & too loud", "U0CREATIVE")]
    card = card_updates(slack, second.message_ts)[-1]
    assert "2 timecoded notes at 0:01.5, 0:03" in json.dumps(card["blocks"])

    past = note(bot, slack, "note 1B 0:09 the tail clicks", ts="1700200102.000100")
    length = stored.sound.video_duration_s or stored.sound.duration_s
    assert "Note not kept" in past and f"{length:.1f} s long" in past and "0:09 is past its end" in past
    missing = note(bot, slack, "note 1Z 0:01 where is this", ts="1700200103.000100")
    assert "no take 1Z in this thread" in missing and "1A, 1B" in missing
    untimed = note(bot, slack, "note 1A soon the cut is late", ts="1700200104.000100")
    assert "`soon` is not a time into the take" in untimed and "@dailies note 1B 0:03" in untimed
    wordless = note(bot, slack, "note 1A 0:02", ts="1700200105.000100")
    assert "has no words" in wordless
    worker.drain()
    assert len(worker.store.get_take(second.id).notes) == 2
    assert worker.store.get_take(takes[0].id).notes == []
    assert len(thread_takes(worker.store, THREAD, ART)) == 2  # no bad note started a round

    # Slack retries an event it thinks was missed: the same message keeps one note.
    assert bot.event(mention("note 1B 0:03 the whistle is <harsh> & too loud", ts="1700200100.000100",
                             thread_ts=THREAD), retry_num=1).status_code == 200
    worker.drain()
    assert len(worker.store.get_take(second.id).notes) == 2

    rows = {row["label"]: row for row in export_takes(RedisStore.open(settings), ART)}
    assert [(n["timecode"], n["text"]) for n in rows["1B"]["notes"]] == [
        ("0:01.5", "steam hiss could be softer"), ("0:03", "the whistle is <harsh> & too loud")]
    assert rows["1A"]["notes"] == []


def test_a_brief_that_starts_with_the_word_note_is_still_a_brief(bot: BotEndpoint, worker: Worker,
                                                                 slack: SlackStandIn) -> None:
    thread = "1700200500.000100"
    assert bot.event(mention("note the light at dusk over a harbour\nx1 2s", ts=thread)).status_code == 200
    requests = wait_for(lambda: worker.store.thread_requests(ART, thread))
    assert requests[0].resolved.brief.picture.startswith("note the light")


def test_a_ticket_lists_the_notes_and_mirrors_those_written_after_the_handoff(
        bot: BotEndpoint, worker: Worker, slack: SlackStandIn) -> None:
    take = posted_round(bot, worker, "Door slams in an empty hall\nSound: door slam, long reverb tail\nx1 4s",
                        thread_ts=THREAD)[0]
    note(bot, slack, "note 1A 0:01 the slam is thin", ts="1700200200.000100")
    worker.drain()
    ticket = flag_and_post(bot, worker, worker.store, take)
    posted = json.dumps(ticket_posts(slack)[-1]["blocks"])
    assert "Timecoded notes" in posted and "`0:01` the slam is thin" in posted

    report = next(f for f in slack.files.values()
                  if f["name"].endswith("-sound-report.json") and f.get("thread_ts") == ticket.queue_ts)
    assert json.loads(slack.uploads[report["id"]])["notes"][0]["text"] == "the slam is thin"

    kept = note(bot, slack, "note 1A 0:03.5 reverb tail cuts off", ts="1700200201.000100")
    assert "mirrored into its sound ticket's thread" in kept
    worker.drain()
    mirrors = [m for m in slack.posted(channel=SOUND)
               if m.get("thread_ts") == ticket.queue_ts and "New note on take 1A" in m["text"]]
    assert len(mirrors) == 1 and "`0:03.5`" in mirrors[0]["text"] and "reverb tail cuts off" in mirrors[0]["text"]
    updated = json.dumps(slack.messages[(SOUND, ticket.queue_ts)]["blocks"])
    assert "`0:01` the slam is thin" in updated and "`0:03.5` reverb tail cuts off" in updated

    worker.runtime.scheduler.enqueue("note_added", take.id, "1700200201.000100")  # a task run twice mirrors once
    worker.drain()
    assert len([m for m in slack.posted(channel=SOUND) if "New note on take 1A" in m["text"]]) == 1
