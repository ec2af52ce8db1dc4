"""`dailies worker --processes N`: rq's WorkerPool runs N workers, one scheduler, restarts a dead one, and a
SIGTERM lets them finish and exit."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue
from rq.scheduler import RQScheduler

from bot.worker import release_dead_scheduler_lock
from jobs.domain.models import TakeState
from jobs.domain.store import RedisStore
from tests.harness import BotEndpoint, make_settings, mention, wait_for
from tests.standins.fal import FAL_KEY, FalStandin
from tests.standins.server import Reply
from tests.standins.slack import SlackStandIn
from tests.test_serve import ROOT, settings_env
from tests.test_worker_kill import kill_group, start_worker

# Several processes and timed stops: one such module at a time when the suite runs in parallel (scripts/test).
pytestmark = pytest.mark.xdist_group("processes")


def children(pid: int) -> set[int]:
    try:
        return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except FileNotFoundError:
        return set()


def descendants(pid: int) -> set[int]:
    found = children(pid)
    for child in list(found):
        found |= descendants(child)
    return found


def test_a_pool_of_workers_posts_each_take_once_survives_a_dead_worker_and_stops_cleanly(
        bot, slack: SlackStandIn, settings, tmp_path: Path) -> None:
    log = tmp_path / "pool.log"
    pool = subprocess.Popen([sys.executable, "-m", "bot.cli", "worker", "--processes", "2"], cwd=ROOT,
                            env=settings_env(settings), stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    store = RedisStore(Redis.from_url(settings.redis_url), settings.key_prefix)
    try:
        wait_for(lambda: len(children(pool.pid)) == 2, timeout_s=60)
        first = "1700970000.000100"
        bot.event(mention("Paper lanterns over a lake\nSound: water, distant bells\nx4 1s", ts=first))
        wait_for(lambda: len(store.channel_takes("C0ART")) == 4 and all(
            t.state == TakeState.posted for t in store.channel_takes("C0ART")), timeout_s=120)

        # A worker crashes, and with it what it started (its work horse, the scheduler it may run): rq's
        # scheduler is a fork of its worker and holds the worker's Redis sockets, so killing the worker alone
        # would leave its last blocking dequeue alive on Redis (see the closing note).
        victim = sorted(children(pool.pid))[0]
        for pid in (victim, *descendants(victim)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        wait_for(lambda: len(children(pool.pid)) == 2 and victim not in children(pool.pid), timeout_s=30)
        second = "1700970100.000100"
        bot.event(mention("Paper lanterns at dawn\nSound: birds\nx2 1s", ts=second))
        wait_for(lambda: len(store.channel_takes("C0ART")) == 6 and all(
            t.state == TakeState.posted for t in store.channel_takes("C0ART")), timeout_s=120)

        pool.send_signal(signal.SIGTERM)
        assert pool.wait(timeout=60) == 0
        assert not children(pool.pid)
    finally:
        if pool.poll() is None:
            os.killpg(pool.pid, signal.SIGKILL)
            pool.wait(timeout=10)
    clips = [f for f in slack.completed_uploads("C0ART") if f["name"].endswith(".mp4")]
    assert sorted(f["name"] for f in clips) == sorted(f"take-{label}.mp4" for label in
                                                      ("1A", "1B", "1C", "1D", "1A", "1B"))
    for thread, labels in ((first, ["1A", "1B", "1C", "1D"]), (second, ["1A", "1B"])):
        cards = [m for m in slack.posted(thread_ts=thread) if m.get("text", "").startswith("Take ")]
        assert sorted(c["text"].split(" ")[1] for c in cards) == labels


def test_a_dead_schedulers_lock_is_freed_even_while_its_process_is_a_zombie(redis_url: str) -> None:
    """A SIGKILLed worker's scheduler is re-parented and can linger as a zombie: its lock must still go, or no
    delayed job (a provider poll) runs until the lock expires. A live holder's lock stays."""
    connection = Redis.from_url(redis_url)
    queue = Queue("dailies-lock-test", connection=connection)
    lock_key = RQScheduler.get_locking_key(queue.name)
    zombie = subprocess.Popen(["true"])
    alive = subprocess.Popen(["sleep", "60"])
    wait_for(lambda: Path(f"/proc/{zombie.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z")
    try:
        # A record naming this very process: a scheduler it started before and stopped (its worker lost Redis
        # before the scheduler registered its own pid) — freed when this process starts its scheduler again.
        for name, pid, freed in (("dead", zombie.pid, True), ("alive", alive.pid, False), ("mine", os.getpid(), True)):
            connection.set(lock_key, name)
            connection.hset(f"rq:scheduler:{name}", mapping={"name": name, "hostname": socket.gethostname(),
                                                              "pid": str(pid)})
            assert release_dead_scheduler_lock(queue) is freed
            assert (connection.get(lock_key) is None) is freed
    finally:
        zombie.wait()
        alive.kill()
        alive.wait()


def test_sigterm_stops_a_pool_within_its_grace_while_a_step_hangs_and_the_step_is_taken_up_again(
        slack: SlackStandIn, settings, tmp_path: Path) -> None:
    """An orchestrator's SIGTERM, then a kill after its grace period: a worker stuck in a slow provider call
    stops that step at DAILIES_STOP_GRACE_S and exits; the next worker finishes the take, once."""
    fal = FalStandin().start()
    bot = None
    try:
        fal.finish_after_polls = 3
        env = {**settings_env(settings), "FAL_KEY": FAL_KEY, "FAL_QUEUE_URL": fal.url,
               "DAILIES_ALLOWED_MEDIA_URLS": fal.url + "/", "DAILIES_POLL_INITIAL_S": "0.25",
               "DAILIES_POLL_MAX_S": "0.25", "DAILIES_STEP_LEASE_S": "2", "DAILIES_PROVIDER_TIMEOUT_S": "120",
               "DAILIES_STOP_GRACE_S": "3"}
        bot = BotEndpoint(make_settings(settings.redis_url, slack.api_url, tmp_path / "media", FAL_KEY=FAL_KEY,
                                        FAL_QUEUE_URL=fal.url))
        log = tmp_path / "pool.log"
        pool = start_worker(env, log, processes=2)
        store = RedisStore.open(settings)
        # The render's status check will hang for a minute: the worker that makes it is busy when SIGTERM comes.
        fal.script("GET", r"/status$", Reply(202, {"status": "IN_PROGRESS", "logs": []}, delay_s=60))
        bot.event(mention("Rain on glass\nSound: rain\nx1 4s --model fal:fal-ai/veo3.1", ts="1700970200.000100"))
        wait_for(lambda: any(r.path.endswith("/status") for r in fal.requests), timeout_s=60)
        started = time.monotonic()
        os.killpg(pool.pid, signal.SIGTERM)
        pool.wait(timeout=30)
        stopped_s = time.monotonic() - started
        assert stopped_s < 3 + 8, f"the pool took {stopped_s:.0f} s to stop"  # grace, then a kill 5 s later
        assert [t.state for t in store.channel_takes("C0ART")] != [TakeState.posted]

        again = start_worker(env, log, processes=2)
        try:
            wait_for(lambda: [t.state for t in store.channel_takes("C0ART")] == [TakeState.posted], timeout_s=90)
        finally:
            kill_group(again, signal.SIGTERM)
        assert len(fal.calls("POST")) == 1, "the take was rendered twice"
        cards = [m for m in slack.posted(thread_ts="1700970200.000100") if m.get("text", "").startswith("Take ")]
        assert len(cards) == 1
        assert "cold shut down" in log.read_text()
    finally:
        if bot is not None:
            bot.stop()
        fal.stop()
