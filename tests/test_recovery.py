"""Recovery: a take whose worker died mid-step is resumed; a healthy poll chain is never doubled."""

from __future__ import annotations

import time

from redis import Redis

from jobs.domain.models import TakeState
from jobs.domain.store import RedisStore
from jobs.pipeline import recovery
from jobs.pipeline import takes as pipeline
from tests.harness import Worker, make_settings, mention, wait_for
from tests.standins.fal import FAL_KEY, FalStandin


def test_duplicate_poll_chain_merges_and_a_dead_chain_is_resumed(bot, slack, settings, tmp_path):
    fal = FalStandin().start()
    try:
        fal.finish_after_polls = 8
        tuned = make_settings(settings.redis_url, slack.api_url, tmp_path / "media", FAL_KEY=FAL_KEY,
                              FAL_QUEUE_URL=fal.url, DAILIES_ALLOWED_MEDIA_URLS=fal.url + "/",
                              DAILIES_POLL_INITIAL_S=0.3, DAILIES_POLL_MAX_S=0.3, DAILIES_STEP_LEASE_S=1)
        worker = Worker(tuned)
        store = RedisStore(Redis.from_url(tuned.redis_url), tuned.key_prefix)
        bot.event(mention("Ferris wheel at dusk\nSound: creaking, distant music\nx1 4s --model fal:fal-ai/veo3.1",
                          ts="1700040000.000100"))
        wait_for(worker.pending)

        def first_poll_done() -> bool:
            takes = store.channel_takes("C0ART")
            return bool(takes) and takes[0].polls >= 1

        worker.drain_until(first_poll_done)  # submit and one poll; the next poll stays scheduled
        (take,) = store.channel_takes("C0ART")
        assert take.state in (TakeState.submitted, TakeState.generating) and take.next_step_at

        # A second chain (a retried job, an over-eager recovery) is dropped before it polls.
        before = len(fal.calls("GET", "/status"))
        pipeline.poll_take(worker.runtime, take.id)
        assert len(fal.calls("GET", "/status")) == before
        assert recovery.recover(worker.runtime, [take.id]) == 0  # the chain is alive: nothing to resume

        # Lose the scheduled poll, as if it died with its worker; after the lease, recovery resumes it.
        registry = worker.queue.scheduled_job_registry
        for job_id in registry.get_job_ids():
            registry.remove(job_id)
        time.sleep(1.6)
        assert recovery.recover(worker.runtime, [take.id]) == 1
        worker.drain()
        (take,) = store.channel_takes("C0ART")
        assert take.state == TakeState.posted
        assert len(fal.calls("GET", "/status")) == 8  # exactly the polls the render needed: no doubled chain
        assert len([f for f in slack.completed_uploads("C0ART") if f["name"].endswith(".mp4")]) == 1
    finally:
        fal.stop()


def test_media_sweep_removes_old_take_folders_but_keeps_held_and_recent_ones(settings, tmp_path):
    import os

    from jobs.domain.store import in_memory_store
    from jobs.domain.tickets import hold_media
    from jobs.pipeline.console import InlineScheduler
    from jobs.pipeline.runtime import Runtime

    runtime = Runtime(settings=settings, store=in_memory_store(), scheduler=InlineScheduler(), notifier=None)
    takes = settings.media_dir / "takes"
    old, held, fresh = takes / "old-0", takes / "held-0", takes / "fresh-0"
    for folder in (old, held, fresh):
        folder.mkdir(parents=True)
        (folder / "1A.mp4").write_bytes(b"x")
    hold_media(held, "SND-0001")
    week_ago = time.time() - 7 * 24 * 3600
    for folder in (old, held):
        for path in (*folder.iterdir(), folder):
            os.utime(path, (week_ago, week_ago))
    assert recovery.sweep_media(runtime) == 1
    assert not old.exists() and held.exists() and fresh.exists()
