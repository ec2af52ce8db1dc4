"""What a pipeline step runs with: settings, a store, a scheduler for the next step, a notifier."""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from adapters.base import Provider
from jobs.models import Request, Take
from jobs.providers import build_provider
from jobs.settings import Settings
from jobs.store import Store


class Scheduler(Protocol):
    """Runs a task of `jobs.tasks`, named by its function name, now or after a delay."""

    def enqueue(self, task: str, *args: Any) -> None: ...
    def enqueue_in(self, delay_s: float, task: str, *args: Any) -> None: ...


class Notifier(Protocol):
    """Where the pipeline reports: the Slack thread, or the terminal for `dailies try`."""

    def request_status(self, request: Request, takes: list[Take]) -> str | None: ...
    def take_ready(self, request: Request, take: Take) -> Take: ...
    def take_failed(self, request: Request, take: Take) -> None: ...


@dataclass
class Runtime:
    settings: Settings
    store: Store
    scheduler: Scheduler
    notifier: Notifier
    _providers: dict[str, Provider] = field(default_factory=dict)

    @contextmanager
    def step_lock(self, name: str, ttl_s: float, retry_task: str, *args: Any,
                  retry_in_s: float | None = None) -> Iterator[bool]:
        """Hold the lock `name` for one step, yielding True; when another worker holds it, yield False and run
        `retry_task(*args)` again later: after `retry_in_s`, or when the lock runs out (a dead holder's does)."""
        if not self.store.try_lock(name, ttl_s):
            from jobs.faults import lock_wait_s

            delay = retry_in_s if retry_in_s is not None else lock_wait_s(self.store, name, ttl_s)
            self.scheduler.enqueue_in(delay, retry_task, *args)
            yield False
            return
        try:
            yield True
        finally:
            self.store.unlock(name)

    def provider(self, model_key: str) -> Provider:
        if model_key not in self._providers:
            self._providers[model_key] = build_provider(model_key, self.settings)
        return self._providers[model_key]


class InlineScheduler:
    """Runs steps in this process in due-time order: the pipeline without Redis or rq."""

    def __init__(self, sleep: Callable[[float], None] = time.sleep) -> None:
        self._heap: list[tuple[float, int, str, tuple[Any, ...]]] = []
        self._order = itertools.count()
        self._sleep = sleep

    def enqueue(self, task: str, *args: Any) -> None:
        self.enqueue_in(0.0, task, *args)

    def enqueue_in(self, delay_s: float, task: str, *args: Any) -> None:
        heapq.heappush(self._heap, (time.monotonic() + delay_s, next(self._order), task, args))

    def run_until_idle(self, timeout_s: float = 3600.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self._heap and time.monotonic() < deadline:
            due, _, func, args = heapq.heappop(self._heap)
            wait = due - time.monotonic()
            if wait > 0:
                self._sleep(min(wait, 1.0))
                heapq.heappush(self._heap, (due, next(self._order), func, args))
                continue
            import jobs.tasks

            getattr(jobs.tasks, func)(*args)


class RqScheduler:
    """Enqueues `jobs.tasks` functions on an rq queue; delayed ones go through rq's scheduler."""

    def __init__(self, queue: Any, job_timeout_s: int = 600) -> None:
        self.queue = queue
        self.job_timeout_s = job_timeout_s

    def enqueue(self, task: str, *args: Any) -> None:
        self.queue.enqueue(f"jobs.tasks.{task}", *args, job_timeout=self.job_timeout_s, failure_ttl=7 * 24 * 3600)

    def enqueue_in(self, delay_s: float, task: str, *args: Any) -> None:
        from datetime import timedelta

        if delay_s <= 0:
            self.enqueue(task, *args)
            return
        self.queue.enqueue_in(
            timedelta(seconds=delay_s), f"jobs.tasks.{task}", *args,
            job_timeout=self.job_timeout_s, failure_ttl=7 * 24 * 3600,
        )
