"""A take's listening copy, matched to its channel's listening level (`jobs.audio.preview`), made right after its
sound check; a take that cannot have one is posted as it is."""

from __future__ import annotations

import logging
from pathlib import Path

from adapters.media import MediaError, MediaInfo
from jobs.audio.preview import PreviewPlan, plan_preview, render_preview
from jobs.audio.report import SoundReport
from jobs.audio.targets import get_target
from jobs.domain.channels import listening_level_lufs, load_channel_settings
from jobs.domain.models import Take, TakePreview
from jobs.pipeline.runtime import Runtime

log = logging.getLogger(__name__)


def matched_plan(take: Take, report: SoundReport | None, level_lufs: float) -> PreviewPlan | None:
    """How `take`'s sound (measured in `report`) moves to `level_lufs` under its target's ceiling; None: no sound."""
    if take.silent or report is None or not report.has_audio or report.integrated_lufs is None \
            or report.true_peak_dbtp is None:
        return None
    return plan_preview(report.integrated_lufs, report.true_peak_dbtp, level_lufs,
                        get_target(take.target).true_peak_dbtp)


def make_preview(rt: Runtime, take: Take, clip: Path, report: SoundReport, info: MediaInfo) -> TakePreview | None:
    """The matched copy beside `clip` (None: the channel hears takes as rendered, or the take has no sound)."""
    level = listening_level_lufs(load_channel_settings(rt.store, take.channel),
                                 get_target(take.target).integrated_lufs)
    plan = matched_plan(take, report, level) if level is not None else None
    if plan is None:
        return None
    preview = TakePreview(path=None, native_lufs=plan.native_lufs, heard_lufs=plan.level_lufs, gain_db=plan.gain_db,
                          limited=plan.limit_dbtp is not None)
    if not plan.needed:
        return preview.model_copy(update={"gain_db": 0.0, "limited": False})
    try:
        out = render_preview(clip, clip.with_name(f"{clip.stem}.preview.mp4"), plan, has_video=info.has_video,
                             channels=report.channels or 2)
    except MediaError as error:
        log.warning("take %s: no loudness-matched copy (%s); posting it as rendered", take.id, error)
        return None
    return preview.model_copy(update={"path": str(out)})
