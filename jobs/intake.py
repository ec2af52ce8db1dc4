"""A brief arriving from Slack: parse, refine against the thread, check, record. No slow work here."""

from __future__ import annotations

from dataclasses import dataclass

from jobs.brief import BriefError, parse_brief
from jobs.channels import load_channel_settings
from jobs.models import Request, Take
from jobs.requests import build_request, refine, resolve_brief
from jobs.settings import Settings
from jobs.store import RedisStore


@dataclass
class Accepted:
    request: Request
    takes: list[Take]


def accept_brief(
    store: RedisStore,
    settings: Settings,
    *,
    channel: str,
    thread_ts: str,
    source_ts: str,
    user: str,
    text: str,
) -> Accepted:
    """Record a new request for `text`, or raise BriefError with the reply to post. Nothing is queued here."""
    brief = parse_brief(text)
    history = store.thread_requests(channel, thread_ts)
    previous = history[-1] if history else None
    merged, changes = refine(previous, brief)
    resolved = resolve_brief(merged, settings, load_channel_settings(store, channel))
    round_number = store.next_round(channel, thread_ts)
    request, takes = build_request(
        resolved, settings=settings, channel=channel, thread_ts=thread_ts, source_ts=source_ts,
        requester=user, round_number=round_number, changes=changes,
    )
    check_limits = getattr(store, "check_and_reserve", None)
    if check_limits:
        check_limits(request, settings)
    store.record_new_request(request, takes)
    return Accepted(request=request, takes=takes)


__all__ = ["Accepted", "BriefError", "accept_brief"]
