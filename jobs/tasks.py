"""rq entry points: plain module-level functions that take ids and are safe to run twice."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import redis

from adapters.base import FailureKind
from jobs import pipeline
from jobs.runtime import Runtime

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


def _take_step(step: Callable[[Runtime, str], None]) -> Callable[[str], None]:
    """Run a take step; a bug or bad file fails that take with a reason instead of leaving it stuck."""

    @functools.wraps(step)
    def run(take_id: str) -> None:
        runtime = current_runtime()
        try:
            step(runtime, take_id)
        except redis.RedisError:
            raise  # nothing can be recorded; rq retries or recovery resumes the take
        except Exception as error:
            log.exception("take %s: %s failed", take_id, step.__name__)
            runtime.store.unlock(f"fetch:{take_id}")
            pipeline.fail_take(runtime, take_id, FailureKind.bad_request, f"internal error in {step.__name__}: {error}")

    return run


submit_take = _take_step(pipeline.submit_take)
poll_take = _take_step(pipeline.poll_take)
fetch_take = _take_step(pipeline.fetch_take)


def start_request(request_id: str) -> None:
    pipeline.start_request(current_runtime(), request_id)


def cancel_request(request_id: str) -> None:
    pipeline.cancel_request(current_runtime(), request_id)


def recover_stalled() -> int:
    runtime = current_runtime()
    active = getattr(runtime.store, "active_take_ids", None)
    return pipeline.recover(runtime, active() if active else [])
