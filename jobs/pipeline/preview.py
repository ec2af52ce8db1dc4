"""A take's listening copy, matched to its channel's listening level (`jobs.audio.preview`), made right after its
sound check; a take that cannot have one is posted as it is."""

from __future__ import annotations

import logging
from pathlib import Path

from adapters.media import MediaError, MediaInfo
from jobs.audio.decode import UndecodableMedia, verify_picture
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


def listening_level(rt: Runtime, take: Take) -> float | None:
    """The level `take`'s channel hears takes at (None: as rendered, no listening copy)."""
    return listening_level_lufs(load_channel_settings(rt.store, take.channel), get_target(take.target).integrated_lufs)


def make_preview(rt: Runtime, take: Take, clip: Path, report: SoundReport, info: MediaInfo,
                 level_lufs: float) -> TakePreview | None:
    """The copy of `clip` matched to `level_lufs` beside it (None: the take has no sound to match).

    Called after a sound check that read the sound alone, so `clip`'s picture is proven here, frame by frame
    (UndecodableMedia otherwise): in the run that makes the copy, while its sound is encoded, or on its own when
    no copy is needed."""
    plan = matched_plan(take, report, level_lufs)
    if plan is None or not plan.needed:
        if info.has_video and report.has_audio:  # as the sound check would have (a silent file is not decoded)
            verify_picture(clip)
        if plan is None:
            return None
        return TakePreview(path=None, native_lufs=plan.native_lufs, heard_lufs=plan.level_lufs, gain_db=0.0,
                           limited=False)
    out = clip.with_name(f"{clip.stem}.preview.mp4")
    try:
        render_preview(clip, out, plan, has_video=info.has_video, channels=report.channels or 2,
                       verify_picture=True)
    except UndecodableMedia:
        out.unlink(missing_ok=True)  # the take is refused: nothing of it stays
        raise
    except MediaError as error:
        log.warning("take %s: no loudness-matched copy (%s); posting it as rendered", take.id, error)
        verify_picture(clip)
        return None
    return TakePreview(path=str(out), native_lufs=plan.native_lufs, heard_lufs=plan.level_lufs, gain_db=plan.gain_db,
                       limited=plan.limit_dbtp is not None)
