"""What a pipeline step runs with: settings, a store, a scheduler for the next step, a notifier.

`jobs/` reaches Slack only through `TakeNotifier` and `TicketNotifier`, which `bot/` implements (and `dailies try` implements for the
terminal); `jobs/` never imports `bot/`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel
from rq import Queue, Retry

from adapters.base import Provider
from jobs.domain.models import Request, Take, TakeNote
from jobs.domain.providers import build_provider
from jobs.domain.store import Store
from jobs.domain.tickets import MixCheck, Ticket, TicketEvent
from jobs.infra.metrics import MemoryMetrics, Metrics
from jobs.infra.settings import Settings
from jobs.pipeline.backoff import RQ_RETRIES, RQ_RETRY_INTERVAL_S

TASKS_MODULE = "jobs.pipeline.tasks"
FAILED_JOB_TTL_S = 7 * 24 * 3600
# Tasks no recovery sweep re-queues (a take's steps are resumed from its state), each safe to run twice: rq runs
# these again when their worker died mid-job (an abandoned job) or they raised, this many times.
# Work on renders already in flight goes to the front of the queue: a finished render is fetched and posted
# before another queued render is submitted, and a flood of new takes never holds up takes about to land.
FINISHING_TASKS = frozenset({"poll_take", "check_take", "fetch_take"})


class Scheduler(Protocol):
    """Runs a task of `jobs.pipeline.tasks`, named by its function name, now or after a delay."""

    def enqueue(self, task: str, *args: Any) -> None: ...
    def enqueue_in(self, delay_s: float, task: str, *args: Any) -> None: ...


class Upload(BaseModel):
    """A file to upload into a thread."""

    path: Path
    filename: str
    title: str


class FileUnavailable(Exception):
    """A chat file could not be fetched; the message is a sentence for the thread."""


class TakeNotifier(Protocol):
    """Where the pipeline reports a round and its takes: the Slack thread (`bot.slack.notifier`), or the terminal
    for `dailies try`."""

    def request_status(self, request: Request, takes: list[Take]) -> str | None: ...
    def take_ready(self, request: Request, take: Take) -> Take: ...
    def take_failed(self, request: Request, take: Take) -> None: ...
    def card_changed(self, take: Take) -> None: ...
    def reactions_on(self, channel: str, ts: str) -> dict[str, list[str]] | None:
        """The chat's own record of a message's reactions (name → people, bots left out); None when it cannot
        be asked."""
        ...
    def post_text(self, take: Take, text: str) -> None: ...
    def post_file(self, take: Take, path: Path, filename: str, comment: str, *, asked_by: str | None = None) -> None:
        """A file (a master) in the take's thread; `asked_by` is the person who asked for it."""
        ...
    def contact_sheet(self, request: Request, path: Path) -> str | None:
        """The round's contact sheet in its thread; the posted file's id (None when it could not be posted)."""
        ...
    def fetch_file(self, file_id: str, dest_dir: Path) -> tuple[Path, str]:
        """The chat's own copy of a posted file, saved under `dest_dir`: (path, its name). Raises FileUnavailable."""
        ...
    def permalink(self, channel: str, ts: str) -> str | None: ...
    def post_in_channel(self, channel: str, text: str, uploads: list[Upload]) -> None:
        """A message in the channel itself (not a thread), with `uploads` attached when there are any."""
        ...
    def keep_file(self, take: Take, path: Path, filename: str) -> str | None:
        """Keep a file in the chat without showing it anywhere; its id (None when it could not be kept)."""
        ...


class TicketNotifier(Protocol):
    """Where sound tickets are posted and mirrored: the sound team's queue channel (`bot.slack.ticket_notifier`)."""

    def ticket_posted(self, ticket: Ticket, take: Take) -> str: ...
    def ticket_changed(self, ticket: Ticket, take: Take | None) -> None: ...
    def ticket_package(self, ticket: Ticket, uploads: list[Upload], comment: str) -> list[str]: ...
    def ticket_mirrored(self, ticket: Ticket, event: TicketEvent, final_mix: Upload | None) -> None: ...
    def mix_checked(self, ticket: Ticket, mix: MixCheck) -> None: ...
    def ticket_note(self, ticket: Ticket, take: Take, note: TakeNote) -> None:
        """A timecoded note added after the ticket was posted, in the ticket's thread."""
        ...
    def person_name(self, user: str) -> str:
        """The name the team knows `user` by (for markers a post house reads); the id when it cannot be read."""
        ...


@dataclass
class Runtime:
    settings: Settings
    store: Store
    scheduler: Scheduler
    notifier: TakeNotifier
    ticket_notifier: TicketNotifier | None = None  # None where there is no sound team to hand off to (`dailies try`)
    team: str | None = None  # the workspace whose records `store` holds (None: the single-token deployment)
    metrics: Metrics = field(default_factory=MemoryMetrics)  # the deployment's counters (RedisMetrics in a worker)
    valid_until: float | None = None  # when its credentials need renewing (a workspace's rotating token)
    _providers: dict[str, Provider] = field(default_factory=dict)

    @contextmanager
    def step_lock(self, name: str, ttl_s: float, retry_task: str, *args: Any,
                  retry_in_s: float | None = None) -> Iterator[bool]:
        """Hold the lock `name` for one step, yielding True; when another worker holds it, yield False and run
        `retry_task(*args)` again later: after `retry_in_s`, or when the lock runs out (a dead holder's does)."""
        with self.store.held(name, ttl_s) as held:
            if not held:
                delay = retry_in_s if retry_in_s is not None else self.store.lock_ttl_s(name) + 0.05
                self.scheduler.enqueue_in(delay, retry_task, *args)
            yield held

    def sound_desk(self) -> TicketNotifier:
        if self.ticket_notifier is None:
            raise RuntimeError("this runtime has no sound queue to post tickets to")
        return self.ticket_notifier

    def provider(self, model_key: str) -> Provider:
        if model_key not in self._providers:
            self._providers[model_key] = build_provider(model_key, self.settings)
        return self._providers[model_key]


class RqScheduler:
    """Enqueues `jobs.pipeline.tasks` functions on an rq queue; delayed ones go through rq's scheduler.

    With a `team`, each job carries it (`job.meta["team"]`), and the worker runs it with that workspace's
    runtime (its records, its bot token), so a task and everything it schedules stay in one workspace.
    """

    def __init__(self, queue: Queue, job_timeout_s: int = 600, team: str | None = None) -> None:
        self.queue = queue
        self.job_timeout_s = job_timeout_s
        self.team = team

    def for_team(self, team: str | None) -> RqScheduler:
        return RqScheduler(self.queue, self.job_timeout_s, team)

    def _meta(self) -> dict[str, str] | None:
        return {"team": self.team} if self.team else None

    def enqueue(self, task: str, *args: Any, at_front: bool = False) -> None:
        retries = RQ_RETRIES.get(task)
        self.queue.enqueue(f"{TASKS_MODULE}.{task}", *args, job_timeout=self.job_timeout_s,
                           failure_ttl=FAILED_JOB_TTL_S, at_front=at_front or task in FINISHING_TASKS,
                           meta=self._meta(),
                           retry=Retry(max=retries, interval=RQ_RETRY_INTERVAL_S) if retries else None)

    def enqueue_in(self, delay_s: float, task: str, *args: Any) -> None:
        if delay_s <= 0:
            self.enqueue(task, *args)
            return
        self.queue.enqueue_in(
            timedelta(seconds=delay_s), f"{TASKS_MODULE}.{task}", *args,
            job_timeout=self.job_timeout_s, failure_ttl=FAILED_JOB_TTL_S, meta=self._meta(),
            at_front=task in FINISHING_TASKS,
        )
