"""New rounds made from a take's buttons: *Reroll* and *More like this*.

Both reuse the resolved brief of the take's request and make the next round in
the same thread. Reroll makes one new take with a fresh random seed. More like
this makes a few takes on the seeds nearest the take's own (the nearest not
already used in the thread) where the model takes a seed; where it does not,
the takes get new seeds and the status message says so.
"""

from __future__ import annotations

import secrets

from jobs.domain.brief import BriefError
from jobs.domain.budget import admit
from jobs.domain.intake import Accepted
from jobs.domain.models import Take
from jobs.domain.providers import build_provider
from jobs.domain.requests import build_request
from jobs.domain.store import Store
from jobs.infra.settings import Settings

REROLL_TAKES = 1
MORE_LIKE_THIS_TAKES = 3
SEED_LIMIT = 2**31 - 1


def _used_seeds(store: Store, take: Take) -> set[int]:
    return {t.seed for t in store.thread_takes(take.channel, take.thread_ts) if t.model == take.model}


def nearest_free_seeds(seed: int, count: int, used: set[int]) -> int:
    """The first seed of the nearest run of `count` consecutive unused seeds above `seed`."""
    start = seed + 1
    while any((start + i) % SEED_LIMIT in used for i in range(count)):
        start += 1
    return start % SEED_LIMIT


def reroll_request(
    store: Store,
    settings: Settings,
    take: Take,
    user: str,
    *,
    similar: bool,
    source_ts: str | None = None,
) -> Accepted:
    """Record the next round of `take`'s thread, made from its brief; raise BriefError when it cannot run."""
    parent = store.get_request(take.request_id)
    if parent is None:
        raise BriefError(f"Take {take.label}'s brief is no longer on record.",
                         hint="Write the brief again with `@dailies …` in this thread.")
    resolved = parent.resolved.model_copy(deep=True)
    supports_seed = build_provider(resolved.model, settings).capabilities.seed
    if similar:
        resolved.takes = MORE_LIKE_THIS_TAKES
        if supports_seed:
            resolved.seed = nearest_free_seeds(take.seed, resolved.takes, _used_seeds(store, take))
            last = (resolved.seed + resolved.takes - 1) % SEED_LIMIT
            changes = [f"more like take {take.label}: same brief, seeds {resolved.seed}–{last}, "
                       f"the nearest unused to its seed {take.seed}"]
        else:
            resolved.seed = secrets.randbelow(SEED_LIMIT - 1000)
            changes = [f"more like take {take.label}: same brief, but {resolved.model} takes no seed, "
                       "so these are new variations, not seed-controlled ones"]
    else:
        resolved.takes = REROLL_TAKES
        resolved.seed = secrets.randbelow(SEED_LIMIT - 1000)
        if supports_seed:
            changes = [f"reroll of take {take.label}: same brief, new seed {resolved.seed} (was {take.seed})"]
        else:
            changes = [f"reroll of take {take.label}: same brief; {resolved.model} takes no seed, so it is "
                       "simply rendered again"]
    round_number = store.next_round(take.channel, take.thread_ts)
    request, takes = build_request(
        resolved, settings=settings, channel=take.channel, thread_ts=take.thread_ts,
        source_ts=source_ts or take.message_ts or take.thread_ts, requester=user, round_number=round_number,
        changes=changes, parent_take_id=take.id,
    )
    admit(store, settings, request, takes)  # budget + hourly limit (jobs.domain.budget), then record; as accept_brief
    return Accepted(request=request, takes=takes)
