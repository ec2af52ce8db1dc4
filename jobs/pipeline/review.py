"""Fair review in a worker: an A/B compare of a thread's takes, posted in that thread."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from jobs.audio.preview import PreviewPlan, plan_preview
from jobs.audio.targets import get_target
from jobs.domain.channels import load_channel_settings
from jobs.domain.models import Take
from jobs.pipeline.media import take_file
from jobs.pipeline.runtime import Runtime
from jobs.review.compare import render_compare
from jobs.review.compose import Clip

log = logging.getLogger(__name__)
COMPARE_LOCK_S = 600.0


def review_level_lufs(rt: Runtime, channel: str, target: str) -> float:
    """The one loudness a compare or a reel plays every take at: the channel's listening level, else (matching
    turned off for its thread) the delivery target's."""
    level = load_channel_settings(rt.store, channel).preview_loudness
    return level if isinstance(level, float) else get_target(target).integrated_lufs


def matched_plan(take: Take, level_lufs: float) -> PreviewPlan | None:
    sound = take.sound
    if take.silent or sound is None or not sound.has_audio or sound.integrated_lufs is None \
            or sound.true_peak_dbtp is None:
        return None
    return plan_preview(sound.integrated_lufs, sound.true_peak_dbtp, level_lufs, get_target(take.target).true_peak_dbtp)


def as_clip(rt: Runtime, take: Take, level_lufs: float) -> Clip | None:
    """The take's native file (from this machine, else Slack's copy) with its plan to the level."""
    path = take_file(rt, take)
    if path is None:
        return None
    length = (take.sound.duration_s if take.sound and take.sound.duration_s else None) or float(take.duration_s)
    return Clip(label=take.label, path=path, duration_s=length, plan=matched_plan(take, level_lufs))


def make_compare(rt: Runtime, take_ids: list[str], user: str) -> None:
    """Render and post the compare of `take_ids` (checked by the bot: two to four posted takes of one thread)."""
    takes = [take for take in (rt.store.get_take(take_id) for take_id in take_ids) if take is not None]
    if len(takes) != len(take_ids):
        return
    first = takes[0]
    labels = " ".join(take.label for take in takes)
    with rt.store.held(f"compare:{':'.join(take_ids)}", COMPARE_LOCK_S) as held:
        if not held:
            return
        level = review_level_lufs(rt, first.channel, first.target)
        clips = []
        for take in takes:
            clip = as_clip(rt, take, level)
            if clip is None:
                rt.notifier.post_text(first, f"Take {take.label}'s file is no longer on any machine or in Slack, so "
                                             f"the compare of {labels} was not made. Compare other takes.")
                return
            clips.append(clip)
        folder = Path(rt.settings.media_dir) / "reviews"
        folder.mkdir(parents=True, exist_ok=True)
        out = folder / f"compare-{'-'.join(take.label for take in takes)}-{first.thread_ts}.mp4"
        with tempfile.TemporaryDirectory(dir=folder) as work:
            render_compare(clips, out, Path(work))
        rt.notifier.post_file(first, out, out.name,
                              f"A/B: {labels}, each heard in turn at {level:g} LUFS (the playing one is framed)",
                              asked_by=user)
        out.unlink(missing_ok=True)
