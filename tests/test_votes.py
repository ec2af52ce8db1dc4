"""Votes through signed reaction events: exact counting, bots ignored, live tally, results, export."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from jobs.domain import votes
from jobs.domain.channels import ChannelSettings, get_channel_settings, save_channel_settings
from jobs.domain.export import export_takes
from jobs.domain.store import RedisStore
from jobs.infra.settings import Settings
from tests.harness import Worker, make_settings, mention, react, wait_for
from tests.standins.slack import SlackStandIn
from tests.vote_helpers import CHANNEL, card_updates, event_id, posted_round

LEAD = "U0LEAD"


@pytest.fixture()
def settings(redis_url: str, slack: SlackStandIn, tmp_path: Path) -> Settings:
    return make_settings(redis_url, slack.api_url, tmp_path / "media", DAILIES_LEADS=LEAD,
                         DAILIES_DEFAULT_DURATION_S=1)


@pytest.fixture()
def store(worker: Worker) -> RedisStore:
    return worker.store


def tally_is(store: RedisStore, take_id: str, score: int, emoji: dict[str, int]) -> bool:
    return votes.tally(store, take_id) == (score, emoji)


def test_one_person_three_up_emoji_counts_once_and_removal_subtracts_exactly(bot, worker, store, slack):
    (take,) = posted_round(bot, worker, "Rain on a tin roof x1\nSound: heavy rain", thread_ts="1700000100.000100")
    for name in ("+1", "fire", "heart"):
        react(bot, slack, name, user="U0ANA", ts=take.message_ts)
    wait_for(lambda: tally_is(store, take.id, 1, {"+1": 1, "fire": 1, "heart": 1}))

    react(bot, slack, "fire", user="U0ANA", ts=take.message_ts, added=False)
    wait_for(lambda: tally_is(store, take.id, 1, {"+1": 1, "heart": 1}))
    react(bot, slack, "+1", user="U0ANA", ts=take.message_ts, added=False)
    react(bot, slack, "-1", user="U0BEN", ts=take.message_ts)
    wait_for(lambda: tally_is(store, take.id, 0, {"heart": 1, "-1": 1}))
    react(bot, slack, "heart", user="U0ANA", ts=take.message_ts, added=False)
    wait_for(lambda: tally_is(store, take.id, -1, {"-1": 1}))
    # Removing a reaction that was never counted changes nothing.
    react(bot, slack, "fire", user="U0CAT", ts=take.message_ts, added=False)
    react(bot, slack, "-1", user="U0BEN", ts=take.message_ts, added=False)
    wait_for(lambda: tally_is(store, take.id, 0, {}))

    # The take record (and so `dailies export`) carries the tally.
    react(bot, slack, "fire", user="U0ANA", ts=take.message_ts)
    wait_for(lambda: store.get_take(take.id).score == 1)
    row = export_takes(RedisStore.open(worker.settings), CHANNEL)[0]
    assert row["score"] == 1 and row["votes"] == {"fire": 1}


def test_one_up_and_one_down_at_most_per_person(bot, worker, store, slack):
    (take,) = posted_round(bot, worker, "A lighthouse in fog x1\nSound: foghorn", thread_ts="1700000110.000100")
    for name in ("+1", "fire", "-1"):
        react(bot, slack, name, user="U0ANA", ts=take.message_ts)
    react(bot, slack, "heart", user="U0BEN", ts=take.message_ts)
    wait_for(lambda: tally_is(store, take.id, 1, {"+1": 1, "fire": 1, "-1": 1, "heart": 1}))


def test_bot_reactions_never_count(bot, worker, store, slack):
    (take,) = posted_round(bot, worker, "Snow on a city street x1\nSound: muffled traffic",
                           thread_ts="1700000200.000100")
    slack.bots.add("U0OTHERBOT")
    react(bot, slack, "+1", user="UDAILIESBOT", ts=take.message_ts)  # our own
    react(bot, slack, "fire", user="U0OTHERBOT", ts=take.message_ts)  # another app's bot user
    wait_for(lambda: store.redis.get(store.key("isbot", "U0OTHERBOT")) == b"1")
    react(bot, slack, "heart", user="U0ANA", ts=take.message_ts)
    wait_for(lambda: tally_is(store, take.id, 1, {"heart": 1}))
    time.sleep(0.2)
    assert votes.tally(store, take.id) == (1, {"heart": 1})
    # Bots are looked up once, then cached.
    react(bot, slack, "+1", user="U0OTHERBOT", ts=take.message_ts)
    react(bot, slack, "fire", user="U0ANA", ts=take.message_ts)
    wait_for(lambda: tally_is(store, take.id, 1, {"heart": 1, "fire": 1}))
    time.sleep(0.2)
    assert votes.tally(store, take.id) == (1, {"heart": 1, "fire": 1})
    assert [c.args["user"] for c in slack.calls_to("users.info")].count("U0OTHERBOT") == 1
    assert not any(c.args["user"] == "UDAILIESBOT" for c in slack.calls_to("users.info"))


def test_skin_tones_count_as_their_base_emoji(bot, worker, store, slack):
    (take,) = posted_round(bot, worker, "Hands clapping in a hall x1\nSound: applause", thread_ts="1700000300.000100")
    react(bot, slack, "+1::skin-tone-2", user="U0ANA", ts=take.message_ts)
    react(bot, slack, "+1::skin-tone-5", user="U0ANA", ts=take.message_ts)
    react(bot, slack, "-1::skin-tone-3", user="U0BEN", ts=take.message_ts)
    react(bot, slack, "+1", user="U0CAT", ts=take.message_ts)
    wait_for(lambda: tally_is(store, take.id, 1, {"+1": 2, "-1": 1}))
    # Ana still has one +1 (another tone) on the take: she still counts.
    react(bot, slack, "+1::skin-tone-2", user="U0ANA", ts=take.message_ts, added=False)
    react(bot, slack, "-1::skin-tone-3", user="U0BEN", ts=take.message_ts, added=False)
    wait_for(lambda: tally_is(store, take.id, 2, {"+1": 2}))
    react(bot, slack, "+1::skin-tone-5", user="U0ANA", ts=take.message_ts, added=False)
    wait_for(lambda: tally_is(store, take.id, 1, {"+1": 1}))


def test_retry_of_the_same_event_counts_once(bot, worker, store, slack):
    (take,) = posted_round(bot, worker, "Kettle on a stove x1\nSound: whistle", thread_ts="1700000400.000100")
    added = event_id()
    event = slack.react("U0ANA", "C0ART", take.message_ts, "fire")
    assert bot.event(event, event_id=added).status_code == 200
    assert bot.event(event, event_id=added, retry_num=1).status_code == 200
    react(bot, slack, "heart", user="U0BEN", ts=take.message_ts)
    wait_for(lambda: tally_is(store, take.id, 2, {"fire": 1, "heart": 1}))
    # Removed, then Slack retries the earlier add: the removal stands.
    react(bot, slack, "fire", user="U0ANA", ts=take.message_ts, added=False)
    wait_for(lambda: tally_is(store, take.id, 1, {"heart": 1}))
    assert bot.event(event, event_id=added, retry_num=2).status_code == 200
    react(bot, slack, "+1", user="U0CAT", ts=take.message_ts)
    wait_for(lambda: tally_is(store, take.id, 2, {"heart": 1, "+1": 1}))
    time.sleep(0.2)
    assert votes.tally(store, take.id) == (2, {"heart": 1, "+1": 1})


def test_200_concurrent_reactions_from_40_people_give_the_exact_tally(bot, worker, store, slack):
    first, second = posted_round(bot, worker, "Crowd at a night market x2\nSound: chatter, sizzling woks",
                                 thread_ts="1700000500.000100")
    people = [f"U0P{i:03d}" for i in range(40)]
    events = []
    expected = {first.id: [0, {}], second.id: [0, {}]}
    for i, user in enumerate(people):
        # Five reactions each: three up emoji on the first take (one vote), and on the second either
        # a down vote plus a toned up vote (they cancel) or two up emoji (one vote).
        mine = [(first, "+1"), (first, "fire"), (first, "heart")]
        mine += [(second, "-1"), (second, "+1::skin-tone-4")] if i % 4 == 0 else [(second, "heart"), (second, "fire")]
        for take, name in mine:
            events.append((slack.react(user, "C0ART", take.message_ts, name), event_id()))
        expected[first.id][0] += 1
        expected[second.id][0] += 0 if i % 4 == 0 else 1
        for take, name in mine:
            base = votes.base_emoji(name)
            expected[take.id][1][base] = expected[take.id][1].get(base, 0) + 1
    assert len(events) == 200

    def send(item):
        event, ident = item
        return bot.event(event, event_id=ident).status_code

    with ThreadPoolExecutor(max_workers=40) as pool:
        codes = list(pool.map(send, events))
        # Slack retries a quarter of them at the same time: they must not count again.
        codes += list(pool.map(send, events[::4]))
    assert set(codes) == {200}
    for take in (first, second):
        score, emoji = expected[take.id]
        wait_for(lambda take=take, score=score, emoji=emoji: tally_is(store, take.id, score, emoji), timeout_s=60)
    time.sleep(0.3)
    assert votes.tally(store, first.id) == (40, {"+1": 40, "fire": 40, "heart": 40})
    assert votes.tally(store, second.id) == (30, {"-1": 10, "+1": 10, "heart": 30, "fire": 30})

    # The cards show the final tally, each edited once for the whole burst (coalesced).
    worker.drain()
    for take, score in ((first, 40), (second, 30)):
        updates = card_updates(slack, take.message_ts)
        assert len(updates) == 1, len(updates)
        assert f"score *+{score}*" in str(updates[-1]["blocks"])
        assert updates[-1]["parse"] == "none"
        assert store.get_take(take.id).score == score


def test_live_tally_is_edited_at_most_once_a_second_per_channel(bot, worker, store, slack):
    take_a, take_b = posted_round(bot, worker, "Waves on shingle x2\nSound: surf", thread_ts="1700000600.000100")
    react(bot, slack, "+1", user="U0ANA", ts=take_a.message_ts)
    react(bot, slack, "fire", user="U0BEN", ts=take_a.message_ts)
    wait_for(lambda: tally_is(store, take_a.id, 2, {"+1": 1, "fire": 1}))
    wait_for(lambda: worker.pending() == 1)  # one refresh for the burst
    worker.drain()
    # Right after an edit, a new burst on both cards waits for the channel's next second, then edits once each.
    for user in ("U0CAT", "U0DAN", "U0EVE"):
        react(bot, slack, "heart", user=user, ts=take_a.message_ts)
        react(bot, slack, "-1", user=user, ts=take_b.message_ts)
    wait_for(lambda: tally_is(store, take_a.id, 5, {"+1": 1, "fire": 1, "heart": 3})
             and tally_is(store, take_b.id, -3, {"-1": 3}))
    wait_for(lambda: store.redis.scard(store.key("votes", "dirty", CHANNEL)) == 2 and worker.pending() == 1)
    worker.drain()
    updates = [c for c in slack.calls_to("chat.update") if c.args.get("ts") in (take_a.message_ts, take_b.message_ts)]
    assert [c.args["ts"] for c in updates] == [take_a.message_ts, take_a.message_ts, take_b.message_ts]
    assert updates[1].at - updates[0].at >= 1.0 and updates[2].at - updates[0].at >= 1.0
    assert "score *+2*" in str(updates[0].args["blocks"])
    assert "score *+5*" in str(slack.messages[(CHANNEL, take_a.message_ts)]["blocks"])
    assert "score *-3*" in str(slack.messages[(CHANNEL, take_b.message_ts)]["blocks"])


def test_reactions_elsewhere_are_ignored(bot, worker, store, slack):
    (take,) = posted_round(bot, worker, "Church bells x1\nSound: bells", thread_ts="1700000700.000100")
    react(bot, slack, "+1", user="U0ANA", ts="1700000700.000100")  # the brief itself
    react(bot, slack, "+1", user="U0ANA", ts=take.message_ts)
    react(bot, slack, "tada", user="U0BEN", ts=take.message_ts)  # not a vote emoji
    wait_for(lambda: tally_is(store, take.id, 1, {"+1": 1}))
    time.sleep(0.2)
    assert votes.tally(store, take.id) == (1, {"+1": 1})
    assert not slack.calls_to("users.info") or all(c.args["user"] == "U0ANA" for c in slack.calls_to("users.info"))


def test_a_channel_up_set_changes_what_counts(bot, worker, store, slack):
    (take,) = posted_round(bot, worker, "A fox in a field x1\nSound: wind in grass", thread_ts="1700000800.000100")
    save_channel_settings(store, CHANNEL, ChannelSettings(up_emoji=["star"], down_emoji=["thumbsdown"]))
    react(bot, slack, "+1", user="U0ANA", ts=take.message_ts)
    react(bot, slack, "star", user="U0BEN", ts=take.message_ts)
    react(bot, slack, "thumbsdown", user="U0CAT", ts=take.message_ts)
    wait_for(lambda: tally_is(store, take.id, 0, {"star": 1, "thumbsdown": 1}))
    time.sleep(0.2)
    assert votes.tally(store, take.id) == (0, {"star": 1, "thumbsdown": 1})


def test_a_lead_sets_the_channel_emoji_in_slack(bot, worker, store, slack):
    assert bot.event(mention("set up-emoji=+1,star down-emoji=-1 hero=headphones cancel=x duration=3",
                             user=LEAD, ts="1700000900.000100")).status_code == 200
    wait_for(lambda: get_channel_settings(store, CHANNEL))
    saved = get_channel_settings(store, CHANNEL)
    assert saved.up_emoji == ["+1", "star"] and saved.duration_s == 3 and saved.cancel_emoji == "x"
    assert wait_for(lambda: [m for m in slack.posted(thread_ts="1700000900.000100") if "saved" in m["text"]])
    # Someone else cannot; nothing changes and nothing is queued.
    assert bot.event(mention("set up-emoji=tada", user="U0ANA", ts="1700000901.000100")).status_code == 200
    wait_for(lambda: slack.calls_to("chat.postEphemeral"))
    assert get_channel_settings(store, CHANNEL).up_emoji == ["+1", "star"]
    assert worker.pending() == 0
    # A brief that starts with "set" is still a brief.
    assert bot.event(mention("Set in a quiet library x1\nSound: page turns", ts="1700000902.000100")).status_code == 200
    wait_for(worker.pending)


def test_results_rank_by_score_then_earliest(bot, worker, store, slack):
    thread = "1700001000.000100"
    take_a, take_b, take_c = posted_round(bot, worker, "Three doors in a corridor x3\nSound: creaks",
                                          thread_ts=thread)
    react(bot, slack, "+1", user="U0ANA", ts=take_b.message_ts)
    react(bot, slack, "fire", user="U0BEN", ts=take_b.message_ts)
    react(bot, slack, "+1", user="U0CAT", ts=take_c.message_ts)
    react(bot, slack, "-1", user="U0DAN", ts=take_c.message_ts)
    wait_for(lambda: tally_is(store, take_b.id, 2, {"+1": 1, "fire": 1})
             and tally_is(store, take_c.id, 0, {"+1": 1, "-1": 1}))
    assert bot.event(mention("results", ts="1700001001.000100", thread_ts=thread)).status_code == 200
    found = wait_for(lambda: [m for m in slack.posted(thread_ts=thread) if m["text"].startswith("Results")])
    assert len(found) == 1
    text = found[0]["blocks"][1]["text"]["text"]
    assert "Take 1B (previz) wins with +2" in found[0]["text"]
    assert text.index("Take 1B") < text.index("Take 1A") < text.index("Take 1C")  # 1A and 1C tie: earliest first
    assert "score *+2*" in text and "score *+0*" in text and "previz" in text
    assert len(store.thread_requests(CHANNEL, thread)) == 1  # a question, not a brief
    assert {job.func_name for job in worker.queue.jobs} <= {"jobs.pipeline.tasks.refresh_cards"}


def test_results_escape_and_handle_an_empty_thread(bot, worker, store, slack):
    assert bot.event(mention("results", ts="1700001101.000100", thread_ts="1700001100.000100")).status_code == 200
    found = wait_for(lambda: slack.posted(thread_ts="1700001100.000100"))
    assert "nothing to rank" in found[0]["text"]
    assert worker.pending() == 0
