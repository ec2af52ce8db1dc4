"""Requests a limit refused, held in Redis (not queued) until a lead of their channel approves them."""

from __future__ import annotations

import time

from pydantic import BaseModel, Field

from jobs.domain.models import Request, Take
from jobs.domain.store import Store

PENDING_TTL_S = 24 * 3600
PENDING_ID_MAX = 64


class PendingRequest(BaseModel):
    request: Request
    takes: list[Take]
    reason: str
    held_at: float = Field(default_factory=time.time)


def pending_key(store: Store, pending_id: str) -> str:
    return store.key("pending", pending_id)


def hold_for_approval(store: Store, request: Request, takes: list[Take] | None, *, reason: str) -> str | None:
    """Keep a refused request in Redis (not queued) so a lead can approve it; returns its id."""
    if not takes:
        return None
    pending = PendingRequest(request=request, takes=takes, reason=reason)
    store.redis.set(pending_key(store, request.id), pending.model_dump_json(), ex=PENDING_TTL_S)
    return request.id


def get_pending(store: Store, pending_id: str) -> PendingRequest | None:
    if not pending_id or len(pending_id) > PENDING_ID_MAX:
        return None
    raw = store.redis.get(pending_key(store, pending_id))
    return PendingRequest.model_validate_json(raw) if raw else None
