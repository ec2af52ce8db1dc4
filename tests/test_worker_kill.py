"""A real `dailies worker` killed mid-render loses nothing: after a restart each take lands exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from redis import Redis

from jobs.domain.models import TakeState
from jobs.domain.store import RedisStore
from tests.harness import mention, wait_for
from tests.standins.fal import FAL_KEY, FalStandin
from tests.standins.slack import SlackStandIn
from tests.test_serve import settings_env

# Several processes and timed stops: one such module at a time when the suite runs in parallel (scripts/test).
pytestmark = pytest.mark.xdist_group("processes")

ROOT = Path(__file__).resolve().parents[1]


def start_worker(env: dict[str, str], log: Path, processes: int = 1) -> subprocess.Popen[bytes]:
    """`dailies worker --processes N`: N=1 is one rq worker, more is rq's WorkerPool (the default on a
    multi-core machine)."""
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "worker", "--processes", str(processes)], cwd=ROOT,
                            env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)


def kill_group(process: subprocess.Popen[bytes], sig: int) -> None:
    os.killpg(process.pid, sig)
    process.wait(timeout=30)


def assert_stop_within(workers: list[subprocess.Popen[bytes]], limit_s: float) -> None:
    """SIGTERM to every `dailies worker` (and its pool, scheduler, horses), as an orchestrator sends it: each
    exits within `limit_s`."""
    started = time.monotonic()
    for worker in workers:
        os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        worker.wait(timeout=limit_s + 30)
    took_s = time.monotonic() - started
    assert took_s < limit_s, f"the workers took {took_s:.0f} s to stop after SIGTERM"


def test_worker_killed_mid_render_then_restarted_posts_each_take_once(bot, slack: SlackStandIn, settings, tmp_path):
    fal = FalStandin().start()
    try:
        fal.finish_after_polls = 12
        env = settings_env(settings)
        env.update({"FAL_KEY": FAL_KEY, "FAL_QUEUE_URL": fal.url, "DAILIES_ALLOWED_MEDIA_URLS": fal.url + "/",
                    "DAILIES_POLL_INITIAL_S": "0.25", "DAILIES_POLL_MAX_S": "0.25", "DAILIES_STEP_LEASE_S": "2"})
        ts = "1700020000.000100"
        bot.event(mention("Night market\nSound: sizzling woks, chatter\nx3 4s --model fal:fal-ai/veo3.1", ts=ts))
        store = RedisStore(Redis.from_url(settings.redis_url), settings.key_prefix)
        wait_for(lambda: len(store.channel_takes("C0ART")) == 3)

        log = tmp_path / "worker.log"
        first = start_worker(env, log)
        # Let every take get submitted and start rendering, then kill the worker and its scheduler outright.
        rendering = (TakeState.submitted, TakeState.generating)
        wait_for(lambda: all(t.state in rendering and t.polls >= 1 for t in store.channel_takes("C0ART")),
                 timeout_s=60)
        kill_group(first, signal.SIGKILL)
        assert all(not t.state.finished for t in store.channel_takes("C0ART"))
        assert len(fal.calls("POST")) == 3

        second = start_worker(env, log)
        try:
            wait_for(lambda: all(t.state == TakeState.posted for t in store.channel_takes("C0ART")), timeout_s=90)
        finally:
            kill_group(second, signal.SIGTERM)

        assert len(fal.calls("POST")) == 3, "a take was submitted (and charged) twice"
        clips = [f for f in slack.completed_uploads("C0ART") if f["name"].endswith(".mp4")]
        assert sorted(f["name"] for f in clips) == ["take-1A.mp4", "take-1B.mp4", "take-1C.mp4"]
        cards = [m for m in slack.posted(thread_ts=ts) if m.get("text", "").startswith("Take ")]
        assert sorted(c["text"].split(" ")[1] for c in cards) == ["1A", "1B", "1C"]
        assert "Traceback" not in log.read_text()
    finally:
        fal.stop()
