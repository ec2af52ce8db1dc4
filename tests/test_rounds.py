"""Rounds in a thread: refinements merge into the last brief; Reroll and More like this make the next round."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.previz import PrevizProvider
from jobs.domain.store import RedisStore
from jobs.infra.settings import Settings
from jobs.pipeline.takes import render_spec
from tests.harness import Worker, block_action, make_settings, wait_for
from tests.standins.slack import SlackStandIn
from tests.vote_helpers import CHANNEL, CREATIVE, posted_round, send_brief, thread_requests, thread_takes

DESIGN_BRIEF = (
    "Neon alley at night, slow push-in on a woman with a red umbrella.\n"
    "Sound: rain drumming on metal awnings, distant traffic hiss\n"
    "Music: sparse melancholic synth pad\n"
    'Dialogue: WOMAN: "Not tonight."\n'
    "x1 16:9"
)


@pytest.fixture()
def settings(redis_url: str, slack: SlackStandIn, tmp_path: Path) -> Settings:
    return make_settings(redis_url, slack.api_url, tmp_path / "media", DAILIES_DEFAULT_DURATION_S=1)


@pytest.fixture()
def store(worker: Worker) -> RedisStore:
    return worker.store


def status_blocks(slack: SlackStandIn, request) -> str:
    message = slack.messages[(CHANNEL, request.status_ts)]
    return str(message["blocks"])


def test_refinement_in_a_thread_merges_into_the_last_brief(bot, worker, store, slack):
    thread = "1700002000.000100"
    first = send_brief(bot, store, DESIGN_BRIEF, thread_ts=thread)
    assert first.round == 1 and not first.changes

    # Free text adds, labelled lines replace, `Music: none` removes, flags override.
    second = send_brief(bot, store, "She looks up at the sky\nSound: thunder rolling\nMusic: none\n1:1 --seed 9",
                        thread_ts=thread, ts="1700002001.000100")
    brief = second.resolved.brief
    assert second.round == 2 and second.thread_ts == thread
    assert brief.picture == first.resolved.brief.picture
    assert brief.revisions == ["She looks up at the sky"]
    assert brief.sound == ["thunder rolling"]
    assert brief.music is None and brief.music_off
    assert [d.line for d in brief.dialogue] == ["Not tonight."]
    assert (second.resolved.seed, second.resolved.aspect, second.resolved.takes) == (9, "1:1", 1)
    status = status_blocks(slack, second)
    assert "Changed from the last round" in status
    for change in ("picture: + She looks up at the sky", "sound: thunder rolling", "music: none", "seed: 9",
                   "aspect: 1:1"):
        assert change in status, change

    # Flags alone refine too; everything else carries over from round 2.
    third = send_brief(bot, store, "x2 9:16", thread_ts=thread, ts="1700002002.000100")
    assert third.round == 3
    assert (third.resolved.takes, third.resolved.aspect, third.resolved.seed) == (2, "9:16", 9)
    assert third.resolved.brief.sound == ["thunder rolling"] and third.resolved.brief.music_off
    assert third.resolved.brief.revisions == ["She looks up at the sky"]
    assert "takes: 2" in status_blocks(slack, third) and "aspect: 9:16" in status_blocks(slack, third)

    # Music given again after `Music: none` brings music back.
    fourth = send_brief(bot, store, "Music: low cello drone", thread_ts=thread, ts="1700002003.000100")
    assert fourth.resolved.brief.music == "low cello drone" and not fourth.resolved.brief.music_off
    assert "music: low cello drone" in status_blocks(slack, fourth)

    worker.drain()
    takes = thread_takes(store, thread)
    assert [t.label for t in takes] == ["1A", "2A", "3A", "3B", "4A", "4B"]
    assert all(t.state.value == "posted" and t.thread_ts == thread for t in takes)
    assert {t.aspect for t in takes if t.round == 3} == {"9:16"}
    cards = [m["text"] for m in slack.posted(thread_ts=thread) if m["text"].startswith("Take ")]
    assert [c.split(" ")[1] for c in cards] == ["1A", "2A", "3A", "3B", "4A", "4B"]
    # What was rendered for round 2 had no music and the new sound.
    spec = render_spec(store.get_request(second.id), takes[1])
    assert spec.music is None and spec.music_off and spec.sound == ["thunder rolling"] and spec.seed == 9


def test_a_brief_at_the_top_level_starts_a_new_thread_not_a_refinement(bot, worker, store):
    first = send_brief(bot, store, "A red kite over a beach x1\nSound: wind", thread_ts="1700002100.000100")
    other = send_brief(bot, store, "A blue door x1", thread_ts="1700002200.000100")
    assert first.round == 1 and other.round == 1 and not other.changes
    assert other.resolved.brief.sound == [] and other.resolved.brief.revisions == []


def click(bot, action_id: str, take, *, user: str = "U0ANYONE", channel: str = CHANNEL,
          message_ts: str | None = None):
    payload = block_action(action_id, take.id if hasattr(take, "id") else take, user=user, channel=channel,
                           message_ts=message_ts or getattr(take, "message_ts", "1.1"),
                           thread_ts=getattr(take, "thread_ts", None))
    response = bot.action(payload)
    assert response.status_code == 200
    return response


def test_reroll_makes_a_new_round_in_the_same_thread_with_a_new_seed(bot, worker, store, slack):
    thread = "1700002300.000100"
    take_a, take_b = posted_round(bot, worker, "Paper lanterns over a river x2\nSound: water lapping",
                                  thread_ts=thread)
    first = store.get_request(take_a.request_id)
    click(bot, "reroll", take_b, user="U0PRODUCER")
    requests = wait_for(lambda: (r := thread_requests(store, thread)) and len(r) == 2 and r[-1].status_ts and r)
    reroll = requests[-1]
    assert reroll.round == 2 and reroll.parent_take_id == take_b.id and reroll.requester == "U0PRODUCER"
    assert reroll.resolved.brief == first.resolved.brief and reroll.resolved.takes == 1
    assert reroll.resolved.seed != take_b.seed
    status = status_blocks(slack, reroll)
    assert "Round 2 queued" in status and f"reroll of take 1B: same brief, new seed {reroll.resolved.seed}" in status

    wait_for(worker.pending)
    worker.drain()
    new = store.takes_for(store.get_request(reroll.id))
    assert [t.label for t in new] == ["2A"] and new[0].state.value == "posted" and new[0].thread_ts == thread
    assert new[0].seed not in (take_a.seed, take_b.seed)
    uploads = [f for f in slack.completed_uploads(CHANNEL) if f["name"] == "take-2A.mp4"]
    assert len(uploads) == 1 and uploads[0]["thread_ts"] == thread


def test_more_like_this_uses_the_nearest_unused_seeds(bot, worker, store, slack):
    thread = "1700002400.000100"
    take_a, take_b = posted_round(bot, worker, "A jazz trio in a basement x2\nMusic: brushed drums",
                                  thread_ts=thread)
    assert take_b.seed == take_a.seed + 1
    click(bot, "more_like_this", take_a)
    requests = wait_for(lambda: (r := thread_requests(store, thread)) and len(r) == 2 and r[-1].status_ts and r)
    similar = requests[-1]
    takes = store.takes_for(similar)
    assert [t.label for t in takes] == ["2A", "2B", "2C"]
    assert [t.seed for t in takes] == [take_a.seed + 2, take_a.seed + 3, take_a.seed + 4]
    status = status_blocks(slack, similar)
    assert f"more like take 1A: same brief, seeds {take_a.seed + 2}–{take_a.seed + 4}" in status
    wait_for(lambda: worker.queue.count == 1)


def test_more_like_this_says_so_when_the_model_takes_no_seed(bot, worker, store, slack, monkeypatch):
    thread = "1700002500.000100"
    (take,) = posted_round(bot, worker, "Fireworks over a harbour x1\nSound: bangs, crowd cheering", thread_ts=thread)
    monkeypatch.setattr(PrevizProvider, "capabilities", PrevizProvider.capabilities.model_copy(update={"seed": False}))
    click(bot, "more_like_this", take)
    requests = wait_for(lambda: (r := thread_requests(store, thread)) and len(r) == 2 and r[-1].status_ts and r)
    assert "previz takes no seed, so these are new variations, not seed-controlled ones" in status_blocks(
        slack, requests[-1])


def test_forged_buttons_are_refused_and_nothing_is_queued(bot, worker, store, slack):
    thread = "1700002600.000100"
    (take,) = posted_round(bot, worker, "A cat on a windowsill x1\nSound: purring", thread_ts=thread)
    click(bot, "reroll", "no-such-take", message_ts=take.message_ts)
    click(bot, "reroll", take, channel="C0ELSEWHERE")  # a take of another channel
    click(bot, "more_like_this", take, message_ts="1699999999.000001")  # not the take's card
    refusals = wait_for(lambda: len(slack.calls_to("chat.postEphemeral")) == 3 and slack.calls_to("chat.postEphemeral"))
    assert all("does not match a take Dailies knows" in c.args["text"] for c in refusals)
    assert len(thread_requests(store, thread)) == 1 and worker.pending() == 0


def test_reroll_respects_the_hourly_limit_and_budget(bot, worker, store, slack, settings, monkeypatch):
    thread = "1700002700.000100"
    (take,) = posted_round(bot, worker, "A train at dawn x1\nSound: rails clacking", thread_ts=thread)
    monkeypatch.setattr(settings, "hourly_job_limit", 1)  # the creative already started one take this hour
    click(bot, "reroll", take, user=CREATIVE)
    reply = wait_for(lambda: [m for m in slack.posted(thread_ts=thread) if "per person per hour" in m["text"]])
    assert "limit is 1 takes per person per hour" in reply[0]["text"]
    assert "approve_request" in str(reply[0]["blocks"])  # held for a lead, not queued
    assert len(thread_requests(store, thread)) == 1 and worker.pending() == 0
