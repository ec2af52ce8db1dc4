"""Where a take's files are: a worker's media folder is only a cache, and Slack keeps the posted copy."""

from __future__ import annotations

import logging
from pathlib import Path

from jobs.domain.models import Take
from jobs.pipeline.runtime import FileUnavailable, Runtime

log = logging.getLogger(__name__)


def take_dir(rt: Runtime, take: Take) -> Path:
    return Path(rt.settings.media_dir) / "takes" / take.id


def take_file(rt: Runtime, take: Take) -> Path | None:
    """The take's MP4 from this worker's cache, else the copy posted in the thread (any worker on any machine
    can do any step); None when neither can be had."""
    for candidate in (take.file_path, str(take_dir(rt, take) / f"{take.label}.mp4")):
        if candidate and Path(candidate).is_file() and Path(candidate).stat().st_size:
            return Path(candidate)
    copy_id = take.native_copy_id  # never the loudness-matched preview: this is the file every check hears
    if not copy_id:
        return None
    try:
        path, _ = rt.notifier.fetch_file(copy_id, take_dir(rt, take))
    except FileUnavailable as problem:
        log.warning("take %s: its posted copy cannot be fetched: %s", take.id, problem)
        return None
    return path
