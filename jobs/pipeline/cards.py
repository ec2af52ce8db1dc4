"""Take cards whose votes moved: their tally made equal to Slack's own record, then re-rendered, at most
once a second per channel."""

from __future__ import annotations

import time

from jobs.domain import votes
from jobs.domain.channels import ChannelSettings, load_channel_settings
from jobs.domain.models import Take
from jobs.domain.store import Store
from jobs.pipeline.runtime import Runtime, TakeNotifier


def reconcile_take(store: Store, notifier: TakeNotifier, take: Take, channel: ChannelSettings) -> Take | None:
    """Set the take's votes from the reactions Slack shows on its card (when Slack can be asked), and copy the
    tally onto the take. Reaction events can be processed in any order; this makes the order irrelevant."""
    if take.message_ts:
        record = notifier.reactions_on(take.channel, take.message_ts)
        if record is not None:
            votes.reconcile(store, take.id, record, channel.up_emoji, channel.down_emoji)
    return votes.sync_take(store, take.id)


def refresh_channel_cards(rt: Runtime, channel: str) -> list[str]:
    """Reconcile and re-render the channel's cards whose votes moved; returns their take ids."""
    store = rt.store
    delay = votes.refresh_delay_s(store, channel)
    if delay > 0:  # an earlier refresh edited this channel less than a second ago
        rt.scheduler.enqueue_in(delay, "refresh_cards", channel)
        return []
    store.redis.set(store.key("votes", "edited", channel), repr(time.time()), ex=60)
    settings = load_channel_settings(store, channel)
    done = []
    for take_id in votes.pop_dirty(store, channel):
        take = store.get_take(take_id)
        if take is None or not take.message_ts:
            continue
        take = reconcile_take(store, rt.notifier, take, settings)
        if take is not None:
            rt.notifier.card_changed(take)
            done.append(take_id)
    return done
