"""A brief arriving from Slack: parse, refine against the thread, check, record. No slow work here."""

from __future__ import annotations

from dataclasses import dataclass

from jobs.domain.brief import BriefError, parse_brief
from jobs.domain.budget import admit
from jobs.domain.channels import load_channel_settings
from jobs.domain.models import Brief, ReferenceImage, Request, Take
from jobs.domain.requests import build_request, refine, resolve_brief
from jobs.domain.store import Store
from jobs.infra.settings import Settings
from jobs.infra.text import count_invisible, removed_note, strip_invisible


@dataclass
class Accepted:
    request: Request
    takes: list[Take]


def accept_brief(
    store: Store,
    settings: Settings,
    *,
    channel: str,
    thread_ts: str,
    source_ts: str,
    user: str,
    text: str,
    references: list[ReferenceImage] | None = None,
    invisible_removed: int = 0,
) -> Accepted:
    """Record a new request for `text` (with the images attached to it as `references`), or raise BriefError
    with the reply to post. Nothing is queued here. Characters a person cannot see are taken out of the brief
    before anything reads it (`invisible_removed`: those the caller already took out), and the status says so."""
    invisible_removed += count_invisible(text)
    text = strip_invisible(text)
    history = store.thread_requests(channel, thread_ts)
    previous = history[-1] if history else None
    brief = parse_brief(text, refining=previous is not None)
    merged, changes = refine(previous, brief)
    frames, frame_changes = thread_references(previous, brief, references or [])
    resolved = resolve_brief(merged, settings, load_channel_settings(store, channel), frames)
    changes += frame_changes
    round_number = store.next_round(channel, thread_ts)
    request, takes = build_request(
        resolved, settings=settings, channel=channel, thread_ts=thread_ts, source_ts=source_ts,
        requester=user, round_number=round_number, changes=changes,
    )
    # Budget and hourly limit, atomically in Redis; over them raises OverBudget/OverLimit (a BriefError
    # whose reply carries the numbers and an Approve button) and the request is held for a lead, not queued.
    note = removed_note(invisible_removed, "the brief")
    if note:
        request.notices.append(note)
    admit(store, settings, request, takes)
    return Accepted(request=request, takes=takes)


def thread_references(previous: Request | None, brief: Brief,
                      attached: list[ReferenceImage]) -> tuple[list[ReferenceImage], list[str]]:
    """A round's reference frames: those attached to this message, else none with `--no-ref`, else the thread's
    last round's (a refinement keeps its frame); and what changed, for the status message."""
    before = previous.resolved.references if previous else []
    if attached:
        return attached, (["new reference frame" + ("s" if len(attached) > 1 else "")] if previous else [])
    if brief.no_ref:
        return [], (["reference frame dropped (`--no-ref`)"] if before else [])
    return list(before), []


__all__ = ["Accepted", "BriefError", "accept_brief"]
