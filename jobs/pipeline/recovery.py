"""Keeping the pipeline whole after a worker dies: resume takes left mid-step, sweep old media."""

from __future__ import annotations

import shutil
import time
from functools import partial
from pathlib import Path

from jobs.domain.models import Take, TakeState
from jobs.domain.tickets import is_held
from jobs.pipeline.runtime import Runtime
from jobs.pipeline.takes import QUEUED_LEASE_S, new_poll_chain


def _set_poll_chain(take: Take, chain: str) -> None:
    take.poll_chain = chain


def sweep_media(rt: Runtime, *, now: float | None = None) -> int:
    """Delete take folders and provider renders older than DAILIES_MEDIA_KEEP_H (Slack holds the posted copies),
    except folders a sound ticket still holds. Returns how many were removed."""
    cutoff = (now or time.time()) - rt.settings.media_keep_h * 3600
    removed = 0
    media = Path(rt.settings.media_dir)
    for folder in sorted((media / "takes").glob("*")) if (media / "takes").is_dir() else []:
        if folder.is_dir() and not is_held(folder) and _newest_mtime(folder) < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    for folder in sorted((media / "references").glob("*")) if (media / "references").is_dir() else []:
        if folder.is_dir() and _newest_mtime(folder) < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    for render in sorted((media / "previz").glob("*")) if (media / "previz").is_dir() else []:
        if render.is_file() and render.stat().st_mtime < cutoff:
            render.unlink(missing_ok=True)
            removed += 1
    return removed


def _newest_mtime(folder: Path) -> float:
    return max([folder.stat().st_mtime, *(p.stat().st_mtime for p in folder.iterdir())])


def stalled(rt: Runtime, take: Take, *, at_start: bool = False) -> bool:
    """True when nothing has moved a take for longer than its step could take: its worker died mid-step.

    At a worker's start every queued take counts (a duplicate submit job is a no-op); the periodic check
    leaves queued takes alone for a long while, since they may just be waiting behind others.
    """
    lease = rt.settings.step_lease_s
    if take.state == TakeState.queued:
        return at_start or time.time() - take.updated_at > max(lease, QUEUED_LEASE_S)
    if take.state in (TakeState.submitted, TakeState.generating):
        return time.time() > max(take.next_step_at or 0.0, take.updated_at) + lease
    return time.time() - take.updated_at > lease


def recover(rt: Runtime, take_ids: list[str], *, at_start: bool = False) -> int:
    """Re-schedule the next step of takes whose worker died mid-step (steps are idempotent)."""
    resumed = 0
    for take_id in take_ids:
        take = rt.store.get_take(take_id)
        if take is None or take.state.finished:
            continue
        if not stalled(rt, take, at_start=at_start):
            continue
        if take.state in (TakeState.submitted, TakeState.generating):
            # Start a new poll chain; the dead one, should its job turn up after all, stops at its next run.
            chain = new_poll_chain()
            rt.store.update_take(take_id, partial(_set_poll_chain, chain=chain))
            rt.scheduler.enqueue("poll_take", take_id, chain)
        else:
            rt.scheduler.enqueue("submit_take" if take.state == TakeState.queued else "fetch_take", take_id)
        resumed += 1
    return resumed
