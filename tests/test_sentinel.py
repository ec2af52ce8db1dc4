"""Redis behind Sentinel: the primary dies mid-round, a replica takes over, and every process follows it by
itself — each take lands in its thread exactly once, and the web process keeps acknowledging Slack."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import BaseModel
from redis import Redis

from bot.cli import main as cli_main
from jobs.domain.models import TakeState
from jobs.domain.store import RedisStore
from jobs.infra.errors import ConfigError
from jobs.infra.faults import redis_problem
from jobs.infra.settings import load_settings
from tests.harness import BotEndpoint, SentinelGroup, free_port, make_settings, mention, wait_for
from tests.standins.fal import FAL_KEY, FalStandin
from tests.standins.slack import SlackStandIn
from tests.test_serve import settings_env
from tests.test_worker_kill import assert_stop_within, kill_group, start_worker

# Several processes and timed stops: one such module at a time when the suite runs in parallel (scripts/test).
pytestmark = pytest.mark.xdist_group("processes")


@pytest.fixture(scope="module")
def sentinels() -> Iterator[SentinelGroup]:
    """One group for the checks that leave it as it was (starting one takes the sentinels seconds to agree)."""
    group = SentinelGroup().start()
    yield group
    group.stop()


@pytest.fixture()
def group_to_fail_over() -> Iterator[SentinelGroup]:
    group = SentinelGroup().start()
    yield group
    group.stop()


def test_a_failover_mid_round_loses_and_doubles_nothing(group_to_fail_over: SentinelGroup, slack: SlackStandIn,
                                                        tmp_path: Path) -> None:
    sentinels = group_to_fail_over
    fal = FalStandin().start()
    bot: BotEndpoint | None = None
    workers = []
    try:
        fal.finish_after_polls = 12
        settings = make_settings(sentinels.primary.url, slack.api_url, tmp_path / "media", FAL_KEY=FAL_KEY,
                                 FAL_QUEUE_URL=fal.url, DAILIES_ALLOWED_MEDIA_URLS=fal.url + "/",
                                 REDIS_SENTINELS=sentinels.addresses, REDIS_SENTINEL_MASTER=SentinelGroup.MASTER,
                                 DAILIES_POLL_INITIAL_S=0.25, DAILIES_POLL_MAX_S=0.25, DAILIES_STEP_LEASE_S=3,
                                 DAILIES_STOP_GRACE_S=5)
        assert settings.replicas_to_wait_for == 1
        bot = BotEndpoint(settings)
        log = tmp_path / "workers.log"
        env = settings_env(settings)
        workers = [start_worker(env, log, processes=2), start_worker(env, log)]
        store = RedisStore.open(settings)
        wait_for(lambda: store.redis.scard("rq:workers") == 3, timeout_s=60)
        thread = "1700600000.000100"
        bot.event(mention("Night market\nSound: sizzling woks, chatter\nx3 4s --model fal:fal-ai/veo3.1", ts=thread))
        rendering = (TakeState.submitted, TakeState.generating)
        wait_for(lambda: len(store.channel_takes("C0ART")) == 3 and all(
            t.state in rendering and t.polls >= 1 for t in store.channel_takes("C0ART")), timeout_s=60)

        old_primary = sentinels.primary.port
        sentinels.primary.kill()
        acks = []
        deadline = time.monotonic() + 8  # Slack keeps sending while Redis fails over
        while time.monotonic() < deadline:
            started = time.monotonic()
            answer = bot.event({"type": "reaction_added", "user": "U0VOTER", "reaction": "thumbsup",
                                "item": {"type": "message", "channel": "C0ART", "ts": "1700600099.000100"},
                                "item_user": "U0CREATIVE", "event_ts": f"{time.time():.6f}"})
            acks.append((answer.status_code, time.monotonic() - started))
            time.sleep(0.5)
        assert all(status == 200 and seconds < 3 for status, seconds in acks), acks
        wait_for(lambda: sentinels.master_port() != old_primary, timeout_s=30)

        after = "1700600001.000100"  # a brief after the failover runs on the new primary
        bot.event(mention("Fog over a pier\nSound: foghorn\nx1 4s --model fal:fal-ai/veo3.1", ts=after))
        wait_for(lambda: len(store.channel_takes("C0ART")) == 4 and all(
            t.state == TakeState.posted for t in store.channel_takes("C0ART")), timeout_s=120)
        time.sleep(1)  # anything doubled would show now
        assert len(fal.calls("POST")) == 4, "a take was submitted twice"
        clips = sorted(f["name"] for f in slack.completed_uploads("C0ART") if f["name"].endswith(".mp4"))
        assert clips == ["take-1A.mp4", "take-1A.mp4", "take-1B.mp4", "take-1C.mp4"]  # 1A of each thread
        cards = [m for m in slack.posted(thread_ts=thread) if m.get("text", "").startswith("Take ")]
        assert sorted(c["text"].split(" ")[1] for c in cards) == ["1A", "1B", "1C"]
        assert all(w.poll() is None for w in workers), "a worker exited"
        assert_stop_within(workers, settings.stop_grace_s + 8)  # SIGTERM after a failover, pool and single
    finally:
        for worker in workers:
            if worker.poll() is None:
                kill_group(worker, signal.SIGTERM)
        if bot is not None:
            bot.stop()
        fal.stop()


def test_sentinel_settings_that_cannot_work_say_which_variable_to_fix(sentinels: SentinelGroup, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_SENTINELS", "127.0.0.1:26379,not-an-address")
    with pytest.raises(ConfigError, match="REDIS_SENTINELS.*'not-an-address' is not host:port"):
        load_settings()
    monkeypatch.setenv("REDIS_SENTINELS", sentinels.addresses)
    monkeypatch.delenv("REDIS_SENTINEL_MASTER", raising=False)
    with pytest.raises(ConfigError, match="REDIS_SENTINEL_MASTER is not"):
        load_settings()

    unknown = make_settings(sentinels.primary.url, "http://127.0.0.1:9/api/", tmp_path, REDIS_SENTINELS=sentinels.addresses,
                            REDIS_SENTINEL_MASTER="no-such-primary")
    problem = redis_problem(unknown)
    assert problem and problem.startswith("REDIS_SENTINEL_MASTER=no-such-primary") and "sentinel monitor" in problem
    nobody = make_settings(sentinels.primary.url, "http://127.0.0.1:9/api/", tmp_path,
                           REDIS_SENTINELS=f"127.0.0.1:{free_port()}", REDIS_SENTINEL_MASTER=SentinelGroup.MASTER)
    assert "REDIS_SENTINEL" in (redis_problem(nobody) or "")

    env = {"SLACK_BOT_TOKEN": "xoxb-1", "REDIS_SENTINELS": sentinels.addresses,
           "REDIS_SENTINEL_MASTER": "no-such-primary"}
    result = CliRunner().invoke(cli_main, ["worker", "--burst"], env=env)
    assert result.exit_code == 1 and "REDIS_SENTINEL_MASTER=no-such-primary" in result.output
    assert "Traceback" not in result.output


class Note(BaseModel):
    text: str


def test_a_write_returns_once_the_replica_has_it(sentinels: SentinelGroup, tmp_path: Path) -> None:
    settings = make_settings(sentinels.primary.url, "http://127.0.0.1:9/api/", tmp_path,
                             REDIS_SENTINELS=sentinels.addresses, REDIS_SENTINEL_MASTER=SentinelGroup.MASTER)
    store = RedisStore.open(settings)
    assert store.ack is not None and store.ack.connected_replicas(store.redis) == 1
    waits_before = store.redis.info("commandstats").get("cmdstat_wait", {}).get("calls", 0)
    store.write_record(store.key("note", "1"), Note(text="kept"))
    store.update_record(store.key("note", "1"), Note, lambda note: setattr(note, "text", "changed"))
    assert store.redis.info("commandstats")["cmdstat_wait"]["calls"] == waits_before + 2
    assert store.ack.last_acked == 1  # the replica acknowledged the write before it returned
    replica = Redis(port=sentinels.replica.port)
    assert Note.model_validate_json(replica.get(store.key("note", "1"))).text == "changed"

    unguarded = make_settings(sentinels.primary.url, "http://127.0.0.1:9/api/", tmp_path)
    assert RedisStore.open(unguarded).ack is None  # a plain Redis URL: nothing to wait for
