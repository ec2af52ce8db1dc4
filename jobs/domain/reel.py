"""The day's reel: each thread's best take of the last 24 hours (its top-voted, ties to the earliest), in the order
the threads began, and when a channel's daily reel is due in its own time zone."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel

from jobs.domain.models import Take, TakeState
from jobs.domain.store import Store

REEL_WINDOW_S = 24 * 3600
REEL_MAX_TAKES = 24  # one reel shows at most this many threads' selects (the most recent)
TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class ReelError(ValueError):
    """A reel time or zone that cannot be used; the message says what to write instead."""


class Select(BaseModel):
    """A thread's take in the reel, and the words its slate shows."""

    take: Take
    brief_line: str


def day_selects(store: Store, channel: str, now: float) -> list[Select]:
    """Each thread's top-voted posted take of the last 24 h (ties: the earliest), threads in the order they began."""
    recent = [t for t in store.recent_channel_takes(channel, since=now - REEL_WINDOW_S)
              if t.state == TakeState.posted and now - REEL_WINDOW_S <= t.created_at <= now]
    best: dict[str, Take] = {}
    for take in sorted(recent, key=lambda t: (t.created_at, t.round, t.index)):
        current = best.get(take.thread_ts)
        if current is None or take.score > current.score:
            best[take.thread_ts] = take
    chosen = sorted(best.values(), key=lambda t: float(t.thread_ts))[-REEL_MAX_TAKES:]
    selects = []
    for take in chosen:
        request = store.get_request(take.request_id)
        line = request.resolved.brief.picture.strip().splitlines()[0] if request and request.resolved.brief.picture \
            else ""
        selects.append(Select(take=take, brief_line=line))
    return selects


def reel_time(value: str) -> str:
    """`18:00` (24-hour clock) as the daily reel's time, or ReelError."""
    match = TIME_RE.match(value.strip())
    if not match:
        raise ReelError(f"`reel` is a time on the 24-hour clock, like `reel=18:00` (or `reel=off`); "
                        f"{value.strip()[:20]!r} is not one.")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def next_reel_at(at: str, zone_name: str | None, now: float) -> datetime:
    """The next time the clock in `zone_name` shows `at` (HH:MM), after `now`."""
    where = zone(zone_name)
    hour, minute = (int(part) for part in at.split(":"))
    local_now = datetime.fromtimestamp(now, where)
    due = local_now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if due <= local_now:
        due = (local_now + timedelta(days=1)).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return due
