"""*Master for…* on a take: make a delivery copy at a target and post it in the take's thread, once."""

from __future__ import annotations

import logging

from jobs.audio.master import MasteringRefused, master_file
from jobs.audio.targets import DeliveryTarget, get_target
from jobs.domain.models import Take
from jobs.pipeline.media import take_dir, take_file
from jobs.pipeline.runtime import Runtime

log = logging.getLogger(__name__)
MASTER_LOCK_S = 600


def master_take(rt: Runtime, take_id: str, target: str, user: str) -> str | None:
    """Master `take_id` for `target` and post the copy; returns the posted summary (None when refused)."""
    take = rt.store.get_take(take_id)
    if take is None:
        return None
    delivery = get_target(target)
    with rt.store.held(f"master:{take_id}:{delivery.key}", MASTER_LOCK_S) as held:
        return _master(rt, take, delivery, user) if held else None


def _master(rt: Runtime, take: Take, delivery: DeliveryTarget, user: str) -> str | None:
    notifier = rt.notifier
    source = take_file(rt, take)
    if source is None:
        notifier.post_text(take, f"Take {take.label}: its file is no longer kept here or in this thread, so it "
                                 "cannot be mastered. Reroll it, or master the copy in this thread by hand.")
        return None
    out = take_dir(rt, take) / f"{take.label}-master-{delivery.key}.mp4"
    try:
        result = master_file(source, delivery.key, out)
    except MasteringRefused as refused:
        notifier.post_text(take, f"Take {take.label} cannot be mastered for {delivery.key}: {refused}")
        return None
    summary = f"Take {take.label} mastered for {delivery.label}: {result.summary}"
    notifier.post_file(take, out, f"take-{take.label}-{delivery.key}.mp4", summary, asked_by=user)
    return summary
