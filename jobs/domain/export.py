"""`dailies export`: the takes recorded in Redis, in the shape producers pull into a sheet."""

from __future__ import annotations

from typing import Any

from jobs.domain.models import Request, Take
from jobs.domain.notes import timecode
from jobs.domain.provenance import sent_prompt
from jobs.domain.store import Store


def take_row(take: Take, request: Request | None = None) -> dict[str, Any]:
    """One take as a row; `request` adds what the round was made with (the sound bible, reference frames)."""
    resolved = request.resolved if request else None
    return {
        "label": take.label,
        "take_id": take.id,
        "round": take.round,
        "thread_ts": take.thread_ts,
        "message_ts": take.message_ts,
        "model": take.model,
        "seed": take.seed,
        "duration_s": take.duration_s,
        "aspect": take.aspect,
        "resolution": take.resolution,
        "status": take.state.value,
        "error": take.error,
        "cost_usd": take.cost_usd,
        "sound": take.sound.model_dump(mode="json") if take.sound else None,
        "score": take.score,
        "votes": dict(take.votes),
        "ticket": take.ticket.model_dump(mode="json") if take.ticket else None,
        "requester": take.requester,
        "notes": [{"at_s": n.at_s, "timecode": timecode(n.at_s), "text": n.text, "by": n.by} for n in take.notes],
        # Provenance, as in a sound ticket's provenance.json (the thread permalink is Slack's to give).
        "provider_model_id": take.provider_model,
        "provider_job_id": take.provider_job_id,
        "prompt": sent_prompt(take.sent),
        "parameters": take.sent,
        "submitted_at": take.submitted_at,
        "finished_at": take.finished_at,
        "sound_bible": resolved.sound_bible if resolved else None,  # the channel's standing sound direction
        "reference_frames": [ref.model_dump(mode="json") for ref in resolved.references] if resolved else [],
    }


def export_takes(store: Store, channel: str, thread_ts: str | None = None) -> list[dict[str, Any]]:
    """Every take recorded in `channel` (of the workspace whose records `store` holds)."""
    takes = store.channel_takes(channel)
    if thread_ts:
        takes = [t for t in takes if t.thread_ts == thread_ts]
    requests = {t.request_id: store.get_request(t.request_id) for t in takes}
    return [take_row(t, requests[t.request_id]) for t in takes]
