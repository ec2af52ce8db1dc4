"""❌ on a round's status message: the requester or a lead cancels what has not finished; others are refused."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobs.domain.models import RequestState, TakeState
from jobs.domain.store import RedisStore
from jobs.infra.settings import Settings
from tests.harness import Worker, make_settings, reaction_event, wait_for
from tests.standins.fal import FAL_KEY, FalStandin
from tests.standins.slack import SlackStandIn
from tests.vote_helpers import CHANNEL, CREATIVE, event_id, posted_round, run_jobs, send_brief

LEAD = "U0LEAD"


@pytest.fixture()
def fal() -> Iterator[FalStandin]:
    standin = FalStandin().start()
    standin.finish_after_polls = 1000  # renders stay in flight until cancelled
    yield standin
    standin.stop()


@pytest.fixture()
def settings(redis_url: str, slack: SlackStandIn, fal: FalStandin, tmp_path: Path) -> Settings:
    return make_settings(redis_url, slack.api_url, tmp_path / "media", DAILIES_LEADS=LEAD,
                         DAILIES_DEFAULT_DURATION_S=1, FAL_KEY=FAL_KEY, FAL_QUEUE_URL=fal.url,
                         DAILIES_ALLOWED_MEDIA_URLS=fal.url + "/")


@pytest.fixture()
def store(worker: Worker) -> RedisStore:
    return worker.store


def cancel(bot, request, *, user: str, ident: str | None = None) -> None:
    response = bot.event(reaction_event("x", user=user, ts=request.status_ts), event_id=ident or event_id())
    assert response.status_code == 200


def test_the_requester_cancels_a_round_before_it_renders(bot, worker, store, slack):
    thread = "1700003000.000100"
    request = send_brief(bot, store, "Thunderstorm over a wheat field x3\nSound: thunder, wind", thread_ts=thread)
    wait_for(worker.pending)
    ident = event_id()
    cancel(bot, request, user=CREATIVE, ident=ident)
    cancel(bot, request, user=CREATIVE, ident=ident)  # Slack's retry
    wait_for(lambda: store.get_request(request.id).state == RequestState.cancelled)
    worker.drain()

    takes = store.takes_for(store.get_request(request.id))
    assert [t.state for t in takes] == [TakeState.cancelled] * 3
    assert not any(t.provider_job_id for t in takes)  # never submitted: nothing rendered, nothing charged
    assert not slack.completed_uploads(CHANNEL)
    assert not [m for m in slack.posted(thread_ts=thread) if m["text"].startswith("Take ")]
    status = slack.messages[(CHANNEL, request.status_ts)]
    assert "Round 1 cancelled — 0 of 3 posted" in status["text"]
    assert not slack.calls_to("chat.postEphemeral")


def test_cancel_stops_what_has_not_finished_and_keeps_what_has(bot, worker, store, slack):
    thread = "1700003100.000100"
    request = send_brief(bot, store, "Two cars at a crossing x2\nSound: engines idling", thread_ts=thread)
    wait_for(worker.pending)
    first_id, second_id = request.take_ids
    for _ in range(20):  # run the pipeline step by step until take 1A is posted
        run_jobs(worker, 1)
        if store.get_take(first_id).state == TakeState.posted:
            break
    assert store.get_take(first_id).state == TakeState.posted
    assert not store.get_take(second_id).state.finished
    cancel(bot, request, user=CREATIVE)
    wait_for(lambda: store.get_request(request.id).state == RequestState.cancelled)
    worker.drain()
    assert store.get_take(first_id).state == TakeState.posted
    assert store.get_take(second_id).state == TakeState.cancelled
    assert [f["name"] for f in slack.completed_uploads(CHANNEL) if f["name"].endswith(".mp4")] == ["take-1A.mp4"]
    assert "Round 1 cancelled — 1 of 2 posted" in slack.messages[(CHANNEL, request.status_ts)]["text"]


def test_cancel_reaches_the_provider_for_renders_in_flight(bot, worker, store, slack, fal: FalStandin):
    thread = "1700003200.000100"
    request = send_brief(bot, store, "A dog running on a beach x2 4s --model fal:fal-ai/veo3.1\nSound: surf, barking",
                         thread_ts=thread)
    wait_for(worker.pending)
    run_jobs(worker, 2)  # start the request, submit take 1A; 1B still queued
    first_id, second_id = request.take_ids
    assert store.get_take(first_id).state == TakeState.submitted
    assert store.get_take(second_id).state == TakeState.queued
    cancel(bot, request, user=LEAD)  # a lead may cancel anyone's round
    wait_for(lambda: store.get_request(request.id).state == RequestState.cancelled)
    worker.drain()
    assert [job.cancelled for job in fal.jobs.values()] == [True]  # 1A's render, on fal; 1B was never sent
    assert len(fal.calls("PUT")) == 1
    assert [store.get_take(i).state for i in request.take_ids] == [TakeState.cancelled] * 2
    assert not slack.completed_uploads(CHANNEL)


def test_others_cannot_cancel(bot, worker, store, slack):
    thread = "1700003300.000100"
    request = send_brief(bot, store, "Leaves falling in a park x1\nSound: rustling leaves", thread_ts=thread)
    wait_for(worker.pending)
    cancel(bot, request, user="U0STRANGER")
    refusal = wait_for(lambda: slack.calls_to("chat.postEphemeral"))
    assert refusal[0].args["user"] == "U0STRANGER" and refusal[0].args["channel"] == CHANNEL
    assert "Only the person who asked for this round or a lead can cancel it" in refusal[0].args["text"]
    assert store.get_request(request.id).state == RequestState.queued
    worker.drain()
    assert [t.state for t in store.takes_for(store.get_request(request.id))] == [TakeState.posted]


def test_x_on_anything_but_a_status_message_does_nothing(bot, worker, store, slack):
    thread = "1700003400.000100"
    (take,) = posted_round(bot, worker, "A clock tower at noon x1\nSound: bells", thread_ts=thread)
    assert bot.event(reaction_event("x", user=CREATIVE, ts=take.message_ts)).status_code == 200  # the card
    assert bot.event(reaction_event("x", user=CREATIVE, ts=thread)).status_code == 200  # the brief
    request = store.get_request(take.request_id)
    cancel(bot, request, user=CREATIVE)  # the finished round's status message: nothing left to cancel
    time.sleep(0.3)
    worker.drain()
    assert store.get_take(take.id).state == TakeState.posted
    assert store.get_request(take.request_id).state == RequestState.done
    assert not slack.calls_to("chat.postEphemeral")
