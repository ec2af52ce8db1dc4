"""`dailies worker`: an rq worker with the scheduler, that first resumes takes a dead worker left."""

from __future__ import annotations

import logging

from rq import Worker

from jobs import tasks
from jobs.settings import Settings
from jobs.worker_runtime import build_worker_runtime

log = logging.getLogger(__name__)


def run_worker(settings: Settings, *, burst: bool = False) -> None:
    runtime = build_worker_runtime(settings)
    runtime.store.ping()  # type: ignore[attr-defined]
    tasks.use_runtime(runtime)
    queue = runtime.scheduler.queue  # type: ignore[attr-defined]
    resumed = tasks.recover_stalled()
    if resumed:
        log.info("resumed %d take(s) left unfinished by a stopped worker", resumed)
    worker = Worker([queue], connection=queue.connection)
    worker.work(with_scheduler=True, burst=burst, logging_level=logging.getLevelName(logging.getLogger().level))
