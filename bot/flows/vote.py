"""A reaction that may be a vote: find the take, drop bots, count it, schedule the card's tally edit."""

from __future__ import annotations

import logging

import redis
from slack_sdk import WebClient

from bot.deps import Deps
from bot.slack.payloads import ReactionEvent
from bot.slack.people import is_bot_user
from jobs.domain import votes
from jobs.domain.channels import ChannelSettings

log = logging.getLogger(__name__)
def handle_vote_reaction(deps: Deps, client: WebClient, reaction: ReactionEvent, event_id: str | None, *,
                         channel_settings: ChannelSettings) -> None:
    added = reaction.added
    direction = votes.direction_of(reaction.reaction, channel_settings.up_emoji, channel_settings.down_emoji)
    if added and direction is None:
        return  # not a vote emoji: no Redis at all
    channel, ts, user = reaction.item.channel or "", reaction.item.ts or "", reaction.user
    store = deps.store
    try:
        take_id = votes.take_id_for_card(store, channel, ts)
        if take_id is None:
            return
        # A bot's reaction is never recorded, so its removal needs no check: it moves nothing.
        if added and is_bot_user(store, client, user):
            return
        changed = votes.record_reaction(store, take_id, user, reaction.reaction, direction=direction, added=added,
                                        event_id=event_id)
        if not changed:
            return
        votes.sync_take(store, take_id)
        if votes.mark_dirty(store, channel, take_id):
            deps.enqueue_in(votes.refresh_delay_s(store, channel), "refresh_cards", channel)
    except redis.RedisError as error:
        log.error("redis unavailable while counting a vote in %s: %s", channel, error)
