"""rq entry points: plain module-level functions that take ids and are safe to run twice."""

from __future__ import annotations

from jobs import pipeline
from jobs.runtime import Runtime

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


def start_request(request_id: str) -> None:
    pipeline.start_request(current_runtime(), request_id)


def submit_take(take_id: str) -> None:
    pipeline.submit_take(current_runtime(), take_id)


def poll_take(take_id: str) -> None:
    pipeline.poll_take(current_runtime(), take_id)


def fetch_take(take_id: str) -> None:
    pipeline.fetch_take(current_runtime(), take_id)


def cancel_request(request_id: str) -> None:
    pipeline.cancel_request(current_runtime(), request_id)


def recover_stalled() -> int:
    runtime = current_runtime()
    active = getattr(runtime.store, "active_take_ids", None)
    return pipeline.recover(runtime, active() if active else [])
