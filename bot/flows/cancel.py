"""❌ on a request's status message: the requester or a lead cancels the takes that have not finished."""

from __future__ import annotations

import logging

import redis
from slack_sdk import WebClient

from bot.deps import Deps
from bot.slack.access import requester_or_lead
from bot.slack.payloads import ReactionEvent
from bot.slack.reply import reply
from jobs.domain.models import Request, RequestState

log = logging.getLogger(__name__)
REFUSED = "Only the person who asked for this round or a lead can cancel it; nothing was cancelled."


def handle_cancel_reaction(deps: Deps, client: WebClient, reaction: ReactionEvent, event_id: str | None) -> None:
    channel, ts, user = reaction.item.channel or "", reaction.item.ts or "", reaction.user
    store = deps.store
    try:
        request = store.request_for_status(channel, ts)
        if request is None:
            return  # not a status message
        if event_id and not store.first_time("event", event_id):
            return
        if request.state in (RequestState.done, RequestState.cancelled):
            return
        if not requester_or_lead(deps, user, request.requester, channel, client):
            log.info("refused cancel of request %s by %s (requester %s)", request.id, user, request.requester)
            reply(client, REFUSED, channel=channel, only_to=user)
            return
        # Stop new submissions at once; the worker then cancels what is in flight, on the provider too.
        def stop(r: Request) -> None:
            if r.state in (RequestState.queued, RequestState.rendering):
                r.state = RequestState.cancelled

        store.update_request(request.id, stop)
        # At the front of the queue: a cancel must not wait behind the renders it stops.
        deps.scheduler.enqueue("cancel_request", request.id, at_front=True)
        log.info("request %s cancelled by %s", request.id, user)
    except redis.RedisError as error:
        log.error("redis unavailable while cancelling in %s: %s", channel, error)
