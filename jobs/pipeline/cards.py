"""Re-rendering take cards whose vote tally moved, at most once a second per channel."""

from __future__ import annotations

import time

from jobs.domain import votes
from jobs.infra.store import RedisStore
from jobs.pipeline.runtime import Runtime


def refresh_channel_cards(rt: Runtime, channel: str) -> list[str]:
    """Sync and re-render the channel's dirty cards; returns their take ids."""
    store = rt.store
    if not isinstance(store, RedisStore):
        return []
    delay = votes.refresh_delay_s(store, channel)
    if delay > 0:  # an earlier refresh edited this channel less than a second ago
        rt.scheduler.enqueue_in(delay, "refresh_cards", channel)
        return []
    store.redis.set(store.key("votes", "edited", channel), repr(time.time()), ex=60)
    return votes.refresh_cards(store, channel, rt.notifier.card_changed)
