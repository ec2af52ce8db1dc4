"""Redis (with its append-only file) killed and back while renders are in flight: real `dailies worker`
processes reconnect by themselves and every take lands exactly once."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from redis import Redis
from rq import Worker

from jobs.domain.models import TakeState
from jobs.domain.store import RedisStore
from tests.harness import BotEndpoint, RedisServer, make_settings, mention, wait_for
from tests.standins.fal import FAL_KEY, FalStandin
from tests.standins.slack import SlackStandIn
from tests.test_serve import settings_env
from tests.test_worker_kill import assert_stop_within, kill_group, start_worker

# Several processes and timed stops: one such module at a time when the suite runs in parallel (scripts/test).
pytestmark = pytest.mark.xdist_group("processes")


def test_a_redis_restart_mid_render_loses_and_doubles_nothing(slack: SlackStandIn, tmp_path: Path) -> None:
    server = RedisServer(appendonly=True).start()
    fal = FalStandin().start()
    bot: BotEndpoint | None = None
    workers = []
    try:
        fal.finish_after_polls = 16
        settings = make_settings(server.url, slack.api_url, tmp_path / "media", FAL_KEY=FAL_KEY,
                                 FAL_QUEUE_URL=fal.url, DAILIES_ALLOWED_MEDIA_URLS=fal.url + "/",
                                 DAILIES_POLL_INITIAL_S=0.25, DAILIES_POLL_MAX_S=0.25, DAILIES_STEP_LEASE_S=3,
                                 DAILIES_STOP_GRACE_S=5)
        bot = BotEndpoint(settings)
        env = settings_env(settings)
        log = tmp_path / "workers.log"
        workers = [start_worker(env, log, processes=2), start_worker(env, log)]  # a pool and a single worker
        wait_for(lambda: len(Worker.all(connection=Redis.from_url(settings.redis_url))) == 3, timeout_s=60)
        thread = "1700950000.000100"
        bot.event(mention("Night market\nSound: sizzling woks, chatter\nx3 4s --model fal:fal-ai/veo3.1", ts=thread))
        store = RedisStore(Redis.from_url(settings.redis_url), settings.key_prefix)
        rendering = (TakeState.submitted, TakeState.generating)
        wait_for(lambda: len(store.channel_takes("C0ART")) == 3 and all(
            t.state in rendering and t.polls >= 1 for t in store.channel_takes("C0ART")), timeout_s=60)

        server.kill()
        time.sleep(12)  # longer than the Redis client's own retries: every process sees the outage
        server.start()  # same port, same append-only file

        wait_for(lambda: all(t.state == TakeState.posted for t in store.channel_takes("C0ART")), timeout_s=120)
        time.sleep(1)  # anything doubled would show now
        assert len(fal.calls("POST")) == 3, "a take was submitted twice"
        clips = [f for f in slack.completed_uploads("C0ART") if f["name"].endswith(".mp4")]
        assert sorted(f["name"] for f in clips) == ["take-1A.mp4", "take-1B.mp4", "take-1C.mp4"]
        cards = [m for m in slack.posted(thread_ts=thread) if m.get("text", "").startswith("Take ")]
        assert sorted(c["text"].split(" ")[1] for c in cards) == ["1A", "1B", "1C"]
        assert all(w.poll() is None for w in workers), "a worker exited"
        text = log.read_text(errors="replace")
        assert "Redis unreachable" in text or "could not connect to Redis" in text  # the outage was felt
        assert_stop_within(workers, settings.stop_grace_s + 8)  # an orchestrator's SIGTERM after the restart
    finally:
        for worker in workers:
            if worker.poll() is None:
                kill_group(worker, signal.SIGTERM)
        if bot is not None:
            bot.stop()
        fal.stop()
        server.stop()
