"""Fair review in a worker: an A/B compare of a thread's takes, posted in that thread, and the day's reel."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

from jobs.audio.targets import get_target
from jobs.domain.channels import channels_with_reel, listening_level_lufs, load_channel_settings
from jobs.domain.models import Take
from jobs.domain.reel import Select, day_selects, next_reel_at
from jobs.pipeline.media import take_file
from jobs.pipeline.preview import matched_plan
from jobs.pipeline.runtime import Runtime, Upload
from jobs.review.compare import render_compare
from jobs.review.compose import Clip
from jobs.review.reel import Slate, render_reel

log = logging.getLogger(__name__)
COMPARE_LOCK_S = 600.0
REEL_LOCK_S = 1800.0
REEL_DONE_TTL_S = 3 * 24 * 3600
NO_TAKES = "No takes were posted here in the last 24 hours, so there is no reel today."


def review_level_lufs(rt: Runtime, channel: str, target: str) -> float:
    """The one loudness a compare or a reel plays every take at: the channel's listening level, else (matching
    turned off for its thread) the delivery target's."""
    target_lufs = get_target(target).integrated_lufs
    level = listening_level_lufs(load_channel_settings(rt.store, channel), target_lufs)
    return level if level is not None else target_lufs


def as_clip(rt: Runtime, take: Take, level_lufs: float) -> Clip | None:
    """The take's native file (from this machine, else Slack's copy) with its plan to the level."""
    path = take_file(rt, take)
    if path is None:
        return None
    length = (take.sound.duration_s if take.sound and take.sound.duration_s else None) or float(take.duration_s)
    return Clip(label=take.label, path=path, duration_s=length, plan=matched_plan(take, take.sound, level_lufs))


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


# -- the day's reel ----------------------------------------------------------------------------------------------
def make_reel(rt: Runtime, channel: str, asked_at: float, user: str | None = None) -> None:
    """Cut and post the channel's reel of the 24 h before `asked_at` (once per ask, however often it runs)."""
    done = rt.store.key("reel-posted", channel, f"{asked_at:.0f}")
    with rt.store.held(f"reel:{channel}:{asked_at:.0f}", REEL_LOCK_S) as held:
        if not held or rt.store.redis.exists(done):
            return
        selects = day_selects(rt.store, channel, asked_at)
        if not selects:
            rt.notifier.post_in_channel(channel, NO_TAKES, [])
            rt.store.redis.set(done, "1", ex=REEL_DONE_TTL_S)
            return
        level = review_level_lufs(rt, channel, selects[0].take.target)
        folder = Path(rt.settings.media_dir) / "reviews"
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder) as work:
            pieces, missing = [], []
            for select in selects:
                clip = as_clip(rt, select.take, level)
                if clip is None:
                    missing.append(select.take.label)
                else:
                    pieces.append((select, clip))
            parts, too_big = _cut(pieces, Path(work), rt.settings.slack_upload_max_bytes, f"reel-{channel}-{asked_at:.0f}")
            text = reel_text(rt, [select for select, _ in pieces], level, asked_by=user, missing=missing,
                             too_big=too_big, parts=len(parts))
            rt.notifier.post_in_channel(channel, text, [Upload(path=part, filename=part.name, title=part.stem)
                                                        for part in parts])
            rt.store.redis.set(done, "1", ex=REEL_DONE_TTL_S)


def _cut(pieces: list[tuple[Select, Clip]], work: Path, max_bytes: int, name: str) -> tuple[list[Path], list[str]]:
    """The reel in as few files as fit Slack's upload limit: halves, and halves of those, until each fits. A
    single take over the limit on its own is left out (its label returned)."""
    if not pieces:
        return [], []
    out = work / f"{name}-{pieces[0][1].label}.mp4".replace("·", "-")
    render_reel([clip for _, clip in pieces], [slate_for(select) for select, _ in pieces], out, work)
    if out.stat().st_size <= max_bytes:
        return [out], []
    out.unlink()
    if len(pieces) == 1:
        return [], [pieces[0][1].label]
    half = len(pieces) // 2
    first, first_big = _cut(pieces[:half], work, max_bytes, name)
    second, second_big = _cut(pieces[half:], work, max_bytes, name)
    return first + second, first_big + second_big


def slate_for(select: Select) -> Slate:
    take = select.take
    votes = sum(take.votes.values())
    verdict = take.sound.verdict if take.sound else "not measured"
    return Slate(title=select.brief_line or f"Round {take.round}", take=f"Take {take.label} · {take.model}",
                 facts=f"score {take.score:+d} ({votes} vote{'s' if votes != 1 else ''}) · sound: {verdict}")


def reel_text(rt: Runtime, selects: list[Select], level: float, *, asked_by: str | None, missing: list[str],
              too_big: list[str], parts: int) -> str:
    """The message with the reel: each select with a link to its thread (plain words: `bot/` adds no markup)."""
    lines = [f"The day's reel: {len(selects)} select{'s' if len(selects) != 1 else ''}, each thread's top-voted take "
             f"of the last 24 hours, every sound heard at {level:g} LUFS"
             + (f" (in {parts} parts, to fit Slack's upload limit)" if parts > 1 else "") + "."]
    for number, select in enumerate(selects, start=1):
        take = select.take
        link = rt.notifier.permalink(take.channel, take.message_ts or take.thread_ts)
        lines.append(f"{number}. Take {take.label} · {take.model} · score {take.score:+d} · {select.brief_line[:80]}"
                     + (f" · {link}" if link else ""))
    if missing:
        lines.append(f"Not in the reel: take(s) {', '.join(missing)} (the file is gone from every machine and Slack).")
    if too_big:
        lines.append(f"Not in the reel: take(s) {', '.join(too_big)} (alone over Slack's upload limit).")
    return "\n".join(lines)


def arm_daily_reels(rt: Runtime, now: float | None = None) -> int:
    """Schedule each channel's next daily reel once (run by the recovery sweep every minute, so a schedule lost
    with Redis comes back); returns how many were scheduled now."""
    now = time.time() if now is None else now
    armed = 0
    for channel in channels_with_reel(rt.store):
        settings = load_channel_settings(rt.store, channel)
        if not settings.reel_at:
            continue
        due = next_reel_at(settings.reel_at, settings.reel_zone, now).timestamp()
        if rt.store.try_lock(f"reel-armed:{channel}:{due:.0f}", due - now + 3600):
            rt.scheduler.enqueue_in(due - now, "daily_reel", channel, due)
            armed += 1
    return armed


def daily_reel(rt: Runtime, channel: str, due_at: float) -> None:
    """The channel's daily reel, unless its time was changed or turned off since it was scheduled."""
    settings = load_channel_settings(rt.store, channel)
    if not settings.reel_at or abs(next_reel_at(settings.reel_at, settings.reel_zone, due_at - 60).timestamp()
                                   - due_at) > 1:
        return
    make_reel(rt, channel, due_at)
