"""Provider webhooks: a render's call back is a hint to check it now, never a result.

When `DAILIES_PUBLIC_URL` is set, each submit to a provider that can call back (fal `fal_webhook`, Kling and
Seedance `callback_url`) carries `{public}/providers/<provider>/webhook/<token>`, the token unguessable and
bound in Redis to that one take. `dailies serve` hands the callback to `receive`, which never reads the
callback's body: it queues the take's status check against the provider's own API (`check_take`), so a
forged callback can at most make Dailies ask the provider one question early. Polling carries on as the
fallback (Veo has no callbacks; a callback can be lost).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from enum import StrEnum

from pydantic import BaseModel

from jobs.domain.models import TakeState
from jobs.domain.providers import family_of
from jobs.domain.store import Store
from jobs.pipeline.runtime import Runtime

# `<workspace>.<secret>` for a workspace installed by OAuth (its records live under its own prefix), else the secret.
TOKEN_RE = re.compile(r"^(?:(?P<team>[A-Z][A-Z0-9]{1,39})\.)?[A-Za-z0-9_-]{32,64}$")
PROVIDER_RE = re.compile(r"^[a-z]{2,20}$")
BINDING_TTL_S = 3 * 24 * 3600


class CallbackBinding(BaseModel):
    take_id: str
    provider: str  # the provider family the URL names ("fal", "kling", "seedance")


class Outcome(StrEnum):
    queued = "queued"  # the take's status check is queued
    ignored = "ignored"  # a real take, but it is no longer rendering (done, failed, cancelled)
    unknown = "unknown"  # no such token for this provider: 404


def _key(store: Store, token: str) -> str:
    return store.key("callback", token)


def callback_url(rt: Runtime, take_id: str, model_key: str) -> str | None:
    """A new webhook URL bound to `take_id`, or None when Dailies has no public URL or the provider cannot call."""
    if not rt.settings.public_url or not rt.provider(model_key).accepts_callbacks:
        return None
    token = secrets.token_urlsafe(32)
    if rt.team:
        token = f"{rt.team}.{token}"
    family = family_of(model_key)
    rt.store.write_record(_key(rt.store, token), CallbackBinding(take_id=take_id, provider=family),
                          ttl_s=BINDING_TTL_S)
    return f"{rt.settings.public_url}/providers/{family}/webhook/{token}"


def receive(store_for: Callable[[str | None], Store], provider: str,
            token: str) -> tuple[Outcome, str | None, str | None]:
    """What a callback to /providers/<provider>/webhook/<token> should do: (outcome, take id, workspace)."""
    match = TOKEN_RE.match(token)
    if not PROVIDER_RE.match(provider) or match is None:
        return Outcome.unknown, None, None
    team = match["team"]
    store = store_for(team)
    binding = store.read_record(_key(store, token), CallbackBinding)
    if binding is None or binding.provider != provider:
        return Outcome.unknown, None, None
    take = store.get_take(binding.take_id)
    if take is None:
        return Outcome.unknown, None, None
    if take.state not in (TakeState.submitted, TakeState.generating):
        return Outcome.ignored, take.id, team
    return Outcome.queued, take.id, team
