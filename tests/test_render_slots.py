"""Render slots (#26, part): a provider key's renders in flight are capped across every worker process; the takes
beyond wait in order and their round says so; a dead holder's slot comes back; bad settings are one line."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue
from rq.job import Job

from jobs.domain.models import TakeState
from jobs.domain.slots import RenderSlots
from jobs.domain.store import RedisStore
from jobs.infra.errors import ConfigError
from jobs.infra.settings import load_settings
from jobs.pipeline.runtime import RqScheduler
from tests.harness import BotEndpoint, Worker, make_settings, mention, wait_for
from tests.standins.fal import FAL_KEY, FalStandin
from tests.standins.slack import SlackStandIn
from tests.test_serve import settings_env
from tests.test_worker_kill import kill_group, start_worker


def test_slots_are_granted_in_order_and_a_dead_holders_come_back(redis_url: str) -> None:
    slots = RenderSlots(Redis.from_url(redis_url), "dailies-test", "fal", capacity=2, lease_s=1.0)
    assert slots.acquire("t1").granted and slots.acquire("t2").granted
    third, fourth = slots.acquire("t3"), slots.acquire("t4")
    assert (third.granted, third.ahead) == (False, 0) and (fourth.granted, fourth.ahead) == (False, 1)
    slots.release("t1")
    assert not slots.acquire("t4").granted  # t3 asked first
    assert slots.acquire("t3").granted and slots.in_use() == 2
    slots.renew("t3")
    time.sleep(1.2)  # t2 stopped checking (its worker died): its lease runs out; t3 renewed, but only for 1 s
    assert slots.acquire("t4").granted


def test_a_provider_cap_holds_across_worker_processes_and_the_round_says_who_waits(
        redis_url: str, slack: SlackStandIn, tmp_path: Path) -> None:
    fal = FalStandin().start()
    bot = None
    workers = []
    try:
        fal.finish_after_polls = 6
        settings = make_settings(redis_url, slack.api_url, tmp_path / "media", FAL_KEY=FAL_KEY, FAL_QUEUE_URL=fal.url,
                                 DAILIES_ALLOWED_MEDIA_URLS=fal.url + "/", DAILIES_POLL_INITIAL_S=0.2,
                                 DAILIES_POLL_MAX_S=0.2, DAILIES_PROVIDER_CONCURRENCY={"fal": 2},
                                 DAILIES_STEP_LEASE_S=3)  # the default lease: a busy machine may delay a check
        bot = BotEndpoint(settings)
        log = tmp_path / "workers.log"
        env = settings_env(settings)
        workers = [start_worker(env, log, processes=2), start_worker(env, log)]
        thread = "1700900000.000100"
        bot.event(mention("Neon rain\nSound: rain on awnings\nx5 4s --model fal:fal-ai/veo3.1", ts=thread))
        store = RedisStore.open(settings)
        wait_for(lambda: len(store.channel_takes("C0ART")) == 5 and all(
            t.state == TakeState.posted for t in store.channel_takes("C0ART")), timeout_s=120)
        assert fal.most_in_flight == 2  # never more, across three worker processes
        assert len(fal.calls("POST")) == 5
        statuses = [json.dumps(c.args.get("blocks")) for c in slack.calls_to("chat.update")]
        assert any("waiting for a render slot, next in line" in s for s in statuses)
        assert any("waiting for a render slot, 1 ahead" in s for s in statuses)
    finally:
        for worker in workers:
            if worker.poll() is None:
                kill_group(worker, signal.SIGTERM)
        if bot is not None:
            bot.stop()
        fal.stop()


def test_a_worker_killed_holding_slots_gives_them_back_and_nothing_renders_twice(
        redis_url: str, slack: SlackStandIn, tmp_path: Path) -> None:
    fal = FalStandin().start()
    bot = None
    try:
        fal.finish_after_polls = 30
        settings = make_settings(redis_url, slack.api_url, tmp_path / "media", FAL_KEY=FAL_KEY, FAL_QUEUE_URL=fal.url,
                                 DAILIES_ALLOWED_MEDIA_URLS=fal.url + "/", DAILIES_POLL_INITIAL_S=0.2,
                                 DAILIES_POLL_MAX_S=0.2, DAILIES_PROVIDER_CONCURRENCY={"fal": 2},
                                 DAILIES_SLOT_LEASE_S=2, DAILIES_STEP_LEASE_S=2)
        bot = BotEndpoint(settings)
        log = tmp_path / "worker.log"
        env = settings_env(settings)
        first = start_worker(env, log)
        bot.event(mention("Fog horn at dusk\nSound: fog horn\nx3 4s --model fal:fal-ai/veo3.1", ts="1700900100.000100"))
        store = RedisStore.open(settings)
        slots = RenderSlots(store.redis, settings.key_prefix, "fal", 2, 2.0)
        wait_for(lambda: len(fal.calls("POST")) == 2 and slots.in_use() == 2, timeout_s=60)
        kill_group(first, signal.SIGKILL)  # dies holding both slots
        wait_for(lambda: slots.in_use() == 0, timeout_s=10)  # the leases run out
        fal.finish_after_polls = 3
        second = start_worker(env, log)
        try:
            wait_for(lambda: all(t.state == TakeState.posted for t in store.channel_takes("C0ART")), timeout_s=90)
        finally:
            kill_group(second, signal.SIGTERM)
        assert len(fal.calls("POST")) == 3, "a take was rendered twice"
    finally:
        if bot is not None:
            bot.stop()
        fal.stop()


@pytest.mark.parametrize(("value", "said"), [
    ('{"fal": 0}', "fal has 0 render slots; give 1 or more"),
    ('{"kling": -3}', "kling has -3 render slots"),
    ('{"midjourney": 2}', "'midjourney' is not a provider with render slots"),
    ("fal=8", "DAILIES_PROVIDER_CONCURRENCY is not valid JSON"),
])
def test_bad_slot_settings_are_one_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch, value: str,
                                                            said: str) -> None:
    monkeypatch.setenv("DAILIES_PROVIDER_CONCURRENCY", value)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert said in str(refused.value) and "DAILIES_PROVIDER_CONCURRENCY" in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_flood_in_one_channel_waits_behind_anothers_first_take(redis_url: str) -> None:
    slots = RenderSlots(Redis.from_url(redis_url), "dailies-test", "fal", capacity=2, lease_s=30)
    assert slots.acquire("a1", "T1:C0FLOOD").granted and slots.acquire("a2", "T1:C0FLOOD").granted
    for take in ("a3", "a4", "a5", "a6"):
        assert not slots.acquire(take, "T1:C0FLOOD").granted
    single = slots.acquire("b1", "T2:C0QUIET")  # another workspace asks after the flood
    assert (single.granted, single.ahead) == (False, 0)  # next in line, ahead of the flood's four
    assert slots.acquire("a6", "T1:C0FLOOD").ahead == 4
    slots.release("a1")
    assert not slots.acquire("a3", "T1:C0FLOOD").granted  # the flood's oldest waiter yields the turn …
    assert slots.acquire("b1", "T2:C0QUIET").granted  # … to the group holding none
    slots.release("a2")
    assert slots.acquire("a3", "T1:C0FLOOD").granted  # then the flood goes on, oldest first


def test_another_channels_take_is_submitted_before_a_flood_that_came_first(
        redis_url: str, slack: SlackStandIn, tmp_path: Path) -> None:
    fal = FalStandin().start()
    bot = None
    workers = []
    try:
        fal.finish_after_polls = 100_000  # the flood's first two renders run until the test finishes them
        settings = make_settings(redis_url, slack.api_url, tmp_path / "media", FAL_KEY=FAL_KEY, FAL_QUEUE_URL=fal.url,
                                 DAILIES_ALLOWED_MEDIA_URLS=fal.url + "/", DAILIES_POLL_INITIAL_S=0.2,
                                 DAILIES_POLL_MAX_S=0.2, DAILIES_PROVIDER_CONCURRENCY={"fal": 2})
        bot = BotEndpoint(settings)
        workers = [start_worker(settings_env(settings), tmp_path / "workers.log", processes=2)]
        store = RedisStore.open(settings)
        bot.event(mention("Flood of lanterns\nSound: crowd\nx8 4s --model fal:fal-ai/veo3.1", channel="C0FLOOD",
                          ts="1700900200.000100"))
        wait_for(lambda: len(fal.calls("POST")) == 2, timeout_s=60)  # the flood holds both slots
        bot.event(mention("One quiet heron\nSound: water\nx1 4s --model fal:fal-ai/veo3.1", channel="C0QUIET",
                          ts="1700900300.000100"))
        wait_for(lambda: store.channel_takes("C0QUIET") and all(
            (t.provider_status or "").startswith("waiting for a render slot") for t in store.channel_takes("C0QUIET")),
                 timeout_s=60)  # the quiet take and six of the flood's wait for a slot
        fal.finish_after_polls = 4
        first_two = list(fal.jobs)
        fal.finish(first_two[0])  # one slot comes free
        wait_for(lambda: len(fal.calls("POST")) == 3, timeout_s=60)
        fal.finish(first_two[1])
        wait_for(lambda: len(store.channel_takes("C0QUIET")) == 1 and all(
            t.state == TakeState.posted for t in store.channel_takes("C0QUIET")), timeout_s=120)
        prompts = [call.json.get("prompt", "") for call in fal.calls("POST")]
        quiet_at = next(i for i, prompt in enumerate(prompts) if "heron" in prompt)
        assert quiet_at == 2, prompts  # the first slot that came free went to the quiet channel
        wait_for(lambda: all(t.state == TakeState.posted for t in store.channel_takes("C0FLOOD")), timeout_s=180)
        assert len(fal.calls("POST")) == 9 and fal.most_in_flight == 2
    finally:
        for worker in workers:
            if worker.poll() is None:
                kill_group(worker, signal.SIGTERM)
        if bot is not None:
            bot.stop()
        fal.stop()


def test_work_on_renders_in_flight_goes_before_new_renders(redis_url: str) -> None:
    queue = Queue("dailies-test", connection=Redis.from_url(redis_url))
    scheduler = RqScheduler(queue)
    for take in ("new-1", "new-2", "new-3"):
        scheduler.enqueue("submit_take", take)
    scheduler.enqueue("fetch_take", "landed-1")  # a finished render: fetched and posted before the three start
    scheduler.enqueue("poll_take", "rendering-1", "chain")
    order = [Job.fetch(job_id, connection=queue.connection).args[0] for job_id in queue.job_ids]
    assert order[:2] == ["rendering-1", "landed-1"] and order[2:] == ["new-1", "new-2", "new-3"]
    scheduler.enqueue_in(0.2, "check_take", "called-back-1")
    assert Job.fetch(queue.scheduled_job_registry.get_job_ids()[0], connection=queue.connection).enqueue_at_front


def test_a_workspace_over_its_takes_in_flight_has_its_next_takes_queued_not_refused(
        redis_url: str, slack: SlackStandIn, tmp_path: Path) -> None:
    fal = FalStandin().start()
    try:
        fal.finish_after_polls = 3
        settings = make_settings(redis_url, slack.api_url, tmp_path / "media", FAL_KEY=FAL_KEY, FAL_QUEUE_URL=fal.url,
                                 DAILIES_ALLOWED_MEDIA_URLS=fal.url + "/", DAILIES_POLL_INITIAL_S=0.1,
                                 DAILIES_POLL_MAX_S=0.1, DAILIES_WORKSPACE_MAX_IN_FLIGHT=2)
        bot, worker = BotEndpoint(settings), Worker(settings)
        thread = "1700900400.000100"
        bot.event(mention("Paper boats\nSound: stream\nx4 4s --model fal:fal-ai/veo3.1", ts=thread))
        wait_for(lambda: worker.pending() >= 1)
        worker.drain(timeout_s=120)
        bot.stop()
    finally:
        fal.stop()
    assert [t.state for t in worker.store.channel_takes("C0ART")] == [TakeState.posted] * 4
    assert fal.most_in_flight == 2 and len(fal.calls("POST")) == 4
    said = [json.dumps(c.args.get("blocks")) for c in slack.calls_to("chat.update")]
    assert any("this workspace already has 2 takes rendering" in s for s in said)
    assert not [m for m in slack.posted(thread_ts=thread) if "can't run that brief" in m.get("text", "")]
