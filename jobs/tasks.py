"""rq entry points: plain module-level functions that take ids and are safe to run twice."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import redis

from adapters.base import FailureKind
from jobs import pipeline
from jobs.runtime import RqScheduler, Runtime

log = logging.getLogger(__name__)
_runtime: Runtime | None = None


def use_runtime(runtime: Runtime | None) -> None:
    """Set the runtime tasks run with (a worker builds one from the environment by default)."""
    global _runtime
    _runtime = runtime


def current_runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        from jobs.worker_runtime import build_worker_runtime

        _runtime = build_worker_runtime()
    return _runtime


def _take_step(step: Callable[..., None]) -> Callable[..., None]:
    """Run a take step; a bug or bad file fails that take with a reason instead of leaving it stuck."""

    @functools.wraps(step)
    def run(take_id: str, *args: str | None) -> None:
        runtime = current_runtime()
        try:
            step(runtime, take_id, *args)
        except redis.RedisError:
            raise  # nothing can be recorded; rq retries or recovery resumes the take
        except Exception as error:
            log.exception("take %s: %s failed", take_id, step.__name__)
            pipeline.fail_take(
                runtime, take_id, FailureKind.bad_request, f"internal error in {step.__name__}: {error}",
                sentence=f"Dailies hit an internal error while working on this take ({type(error).__name__}); "
                "it was not charged. Reroll it, and tell the operator if it happens again.",
            )

    return run


submit_take = _take_step(pipeline.submit_take)
poll_take = _take_step(pipeline.poll_take)
fetch_take = _take_step(pipeline.fetch_take)


def start_request(request_id: str) -> None:
    pipeline.start_request(current_runtime(), request_id)


def cancel_request(request_id: str) -> None:
    pipeline.cancel_request(current_runtime(), request_id)


RECOVERY_INTERVAL_S = 60
MEDIA_SWEEP_INTERVAL_S = 3600


def recover_stalled(at_start: bool = False) -> int:
    """Resume takes a dead worker left mid-step, then look again in a minute (one schedule across workers)."""
    runtime = current_runtime()
    active = getattr(runtime.store, "active_take_ids", None)
    resumed = pipeline.recover(runtime, active() if active else [], at_start=at_start)
    store = runtime.store
    client = getattr(store, "redis", None)
    if (isinstance(runtime.scheduler, RqScheduler) and client is not None
            and client.set(store.key("recovery", "scheduled"), "1", nx=True, ex=RECOVERY_INTERVAL_S - 5)):
        runtime.scheduler.enqueue_in(RECOVERY_INTERVAL_S, "recover_stalled")
    if client is not None and client.set(store.key("media", "swept"), "1", nx=True, ex=MEDIA_SWEEP_INTERVAL_S):
        removed = pipeline.sweep_media(runtime)
        if removed:
            log.info("removed %d media folder(s) older than %.0f h", removed, runtime.settings.media_keep_h)
    return resumed


def refresh_cards(channel: str) -> None:
    """Re-render the cards of `channel` whose vote tally moved (scheduled at most once a second per channel)."""
    from jobs.votes import refresh_channel_cards

    refresh_channel_cards(current_runtime(), channel)


def post_ticket(ticket_id: str) -> None:
    """Post a sound ticket in the sound-queue channel with its handoff package (bot.sound_queue)."""
    from bot.sound_queue import post_ticket as run

    run(current_runtime(), ticket_id)


def sync_ticket(ticket_id: str) -> None:
    """Mirror a sound ticket's changes into the creative thread, the queue message and the take's card."""
    from bot.sound_queue import sync_ticket as run

    run(current_runtime(), ticket_id)


def check_ticket_mix(ticket_id: str, file_id: str, user: str) -> None:
    """Download a mix uploaded into a ticket's thread, measure it, deliver the ticket when it passes."""
    from bot.sound_queue import check_ticket_mix as run

    run(current_runtime(), ticket_id, file_id, user)


def master_take(take_id: str, target: str, user: str) -> None:
    """*Master for…*: a delivery copy of a take at `target`, posted in its thread."""
    from jobs.take_master import master_take as run

    run(current_runtime(), take_id, target, user)
