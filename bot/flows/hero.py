"""A lead sends a take to sound: the hero emoji on its card, or its *Send to sound* button.

Anyone else gets a quiet ephemeral and nothing happens. The ticket is created in
Redis here (cheap and atomic: one per take however often it is flagged); posting
it and its handoff package is an rq job.
"""

from __future__ import annotations

import logging
import time

import redis
from slack_sdk import WebClient

from bot.deps import Deps
from bot.slack.access import ONLY_LEADS_FLAG, lead_in
from bot.slack.payloads import ReactionEvent
from bot.slack.reply import reply
from bot.slack.text import mention
from jobs.domain import tickets
from jobs.domain.channels import load_channel_settings
from jobs.domain.models import Take, TakeState
from jobs.domain.tickets import TicketError

log = logging.getLogger(__name__)
REPOST_AFTER_S = 120.0


def handle_hero_reaction(deps: Deps, client: WebClient, reaction: ReactionEvent, event_id: str | None) -> None:
    channel, ts, user = reaction.item.channel or "", reaction.item.ts or "", reaction.user
    try:
        take = deps.store.take_for_card(channel, ts)
        if take is None:
            return  # the emoji on some other message means nothing to Dailies
        if not deps.store.first_time("hero-event", event_id or f"{channel}:{ts}:{user}"):
            return
        flag_take(deps, client, user=user, take=take, channel=channel, thread_ts=take.thread_ts)
    except redis.RedisError as error:
        log.error("redis unavailable while flagging a take in %s: %s", channel, error)


def flag_take(deps: Deps, client: WebClient, *, user: str, take: Take, channel: str, thread_ts: str | None) -> None:
    if not lead_in(deps, user, take.channel, client):
        log.info("refused send-to-sound of take %s by %s: not a lead", take.id, user)
        reply(client, ONLY_LEADS_FLAG, channel=channel, thread_ts=thread_ts, only_to=user)
        return
    if take.state != TakeState.posted:
        reply(client, f"Take {take.label} is not posted yet, so it cannot go to sound.", channel=channel, thread_ts=thread_ts, only_to=user)
        return
    queue_channel = load_channel_settings(deps.store, take.channel).sound_channel or deps.settings.sound_channel
    if not queue_channel:
        reply(client, "No sound-queue channel is set: set DAILIES_SOUND_CHANNEL (or the channel's sound "
                           "channel) and try again.", channel=channel, thread_ts=thread_ts, only_to=user)
        return
    request = deps.store.get_request(take.request_id)
    if request is None:
        reply(client, f"Take {take.label}'s request is no longer recorded.", channel=channel, thread_ts=thread_ts, only_to=user)
        return
    ticket, created = tickets.create_ticket(deps.store, take, request, lead=user, queue_channel=queue_channel,
                                            sla_hours=deps.settings.ticket_sla_hours)
    if created:
        log.info("take %s sent to sound as %s by %s", take.id, ticket.id, user)
        deps.enqueue("post_ticket", ticket.id)
        return
    if not ticket.state.open:
        try:
            tickets.transition(deps.store, ticket.id, "reopen", user)
        except TicketError as error:
            reply(client, error.sentence(mention), channel=channel, thread_ts=thread_ts, only_to=user)
            return
        deps.enqueue("sync_ticket", ticket.id)
        return
    if not ticket.queue_ts and time.time() - ticket.created_at > REPOST_AFTER_S:
        deps.enqueue("post_ticket", ticket.id)  # idempotent: recovers a ticket whose first post job was lost
    reply(client, f"Take {take.label} is already with the sound team as {ticket.id} ({ticket.state.value}).",
          channel=channel, thread_ts=thread_ts, only_to=user)
