"""rq entry points: plain module-level functions that take the runtime and ids, and are safe to run twice.

A worker builds its runtime once at start-up (`bot.worker`) and hands it to every job it runs through
`RuntimeWorker`/`TaskJob`; `dailies try` hands its own to `jobs.pipeline.console.InlineScheduler`.
`TASKS` is the table of every task by the name the pipeline schedules it under.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

import redis
from rq import Queue
from rq.job import Job

from adapters.base import FailureKind
from jobs.domain.store import installed_workspaces
from jobs.infra.logs import bound
from jobs.pipeline import cards, contact_sheet, master, notes, recovery, review, stems, takes, tickets
from jobs.pipeline.runtime import RqScheduler, Runtime

log = logging.getLogger(__name__)
RECOVERY_INTERVAL_S = 60
MEDIA_SWEEP_INTERVAL_S = 3600


def _take_step(step: Callable[..., None]) -> Callable[..., None]:
    """Run a take step; a bug or bad file fails that take with a reason instead of leaving it stuck."""

    @functools.wraps(step)
    def run(rt: Runtime, take_id: str, *args: str | None) -> None:
        try:
            step(rt, take_id, *args)
        except redis.RedisError:
            raise  # nothing can be recorded; rq retries or recovery resumes the take
        except Exception as error:
            log.exception("take %s: %s failed", take_id, step.__name__)
            takes.fail_take(
                rt, take_id, FailureKind.bad_request, f"internal error in {step.__name__}: {error}",
                sentence=f"Dailies hit an internal error while working on this take ({type(error).__name__}); "
                "it was not charged. Reroll it, and tell the operator if it happens again.",
            )

    return run


submit_take = _take_step(takes.submit_take)
poll_take = _take_step(takes.poll_take)
check_take = _take_step(takes.check_take)
fetch_take = _take_step(takes.fetch_take)
start_request = takes.start_request
cancel_request = takes.cancel_request
refresh_cards = cards.refresh_channel_cards
post_ticket = tickets.post_ticket
sync_ticket = tickets.sync_ticket
check_ticket_mix = tickets.check_ticket_mix
separate_stems = stems.separate_stems
master_take = master.master_take
note_added = notes.note_added
post_contact_sheet = contact_sheet.post_contact_sheet
make_compare = review.make_compare
make_reel = review.make_reel
daily_reel = review.daily_reel


def recover_stalled(rt: Runtime, at_start: bool = False) -> int:
    """Resume takes a dead worker left mid-step, then look again in a minute (one schedule across workers).
    Each workspace installed by OAuth gets its own sweep, run with its own runtime."""
    resumed = recovery.recover(rt, rt.store.active_take_ids(), at_start=at_start)
    review.arm_daily_reels(rt)
    stems.resume_stalled(rt)
    if rt.team is None and isinstance(rt.scheduler, RqScheduler):
        for team in installed_workspaces(rt.store.redis, rt.settings.key_prefix):
            rt.scheduler.for_team(team).enqueue("recover_workspace")
    if isinstance(rt.scheduler, RqScheduler) and rt.store.try_lock("recovery-scheduled", RECOVERY_INTERVAL_S - 5):
        rt.scheduler.enqueue_in(RECOVERY_INTERVAL_S, "recover_stalled")
    if rt.store.try_lock("media-swept", MEDIA_SWEEP_INTERVAL_S):
        removed = recovery.sweep_media(rt)
        if removed:
            log.info("removed %d media folder(s) older than %.0f h", removed, rt.settings.media_keep_h)
    return resumed


def recover_workspace(rt: Runtime) -> int:
    """One workspace's sweep (queued by `recover_stalled`, run with that workspace's runtime)."""
    review.arm_daily_reels(rt)
    stems.resume_stalled(rt)
    return recovery.recover(rt, rt.store.active_take_ids())


TASKS: dict[str, Callable[..., Any]] = {
    "submit_take": submit_take,
    "poll_take": poll_take,
    "check_take": check_take,
    "fetch_take": fetch_take,
    "start_request": start_request,
    "cancel_request": cancel_request,
    "refresh_cards": refresh_cards,
    "post_ticket": post_ticket,
    "sync_ticket": sync_ticket,
    "check_ticket_mix": check_ticket_mix,
    "separate_stems": separate_stems,
    "master_take": master_take,
    "note_added": note_added,
    "post_contact_sheet": post_contact_sheet,
    "make_compare": make_compare,
    "make_reel": make_reel,
    "daily_reel": daily_reel,
    "recover_stalled": recover_stalled,
    "recover_workspace": recover_workspace,
}


class TaskJob(Job):
    """An rq job whose function receives the worker's runtime before its own arguments."""

    runtime: Runtime | None = None

    def _execute(self) -> Any:
        if self.runtime is None:
            raise RuntimeError(f"{self.func_name} ran outside a Dailies worker (no runtime was handed to it)")
        return self.func(self.runtime, *self.args, **self.kwargs)


class RuntimeWorkerMixin:
    """Mixed into an rq Worker class: hands each job the runtime built at start-up, or, for a job stamped with
    a workspace (`job.meta["team"]`), that workspace's runtime, built once by `team_runtime`."""

    runtime: Runtime
    team_runtime: Callable[[str], Runtime] | None = None

    def runtime_for(self, team: str | None) -> Runtime:
        if not team or self.team_runtime is None:
            return self.runtime
        built: dict[str, Runtime] = self.__dict__.setdefault("_team_runtimes", {})
        valid_until = built[team].valid_until if team in built else None
        stale = valid_until is not None and time.time() > valid_until
        if team not in built or stale:
            built[team] = self.team_runtime(team)
        return built[team]

    def perform_job(self, job: Job, queue: Queue) -> bool:
        team = (job.meta or {}).get("team")
        job.runtime = self.runtime_for(team)  # type: ignore[attr-defined]
        with bound(team=team, **job_ids(job)):
            return bool(super().perform_job(job, queue))  # type: ignore[misc]


# Each task's first id, by what it names, for the log context (tests/test_logs.py holds it to the signatures).
ID_KINDS = {
    "submit_take": "take", "poll_take": "take", "check_take": "take", "fetch_take": "take", "master_take": "take",
    "note_added": "take", "start_request": "request", "cancel_request": "request", "post_contact_sheet": "request",
    "post_ticket": "ticket", "sync_ticket": "ticket", "check_ticket_mix": "ticket", "separate_stems": "ticket",
}


def job_ids(job: Job) -> dict[str, str]:
    name = (job.func_name or "").rsplit(".", 1)[-1]
    ids = {"task": name}
    kind = ID_KINDS.get(name)
    if kind and job.args and isinstance(job.args[0], str):
        ids[kind] = job.args[0]
    return ids
