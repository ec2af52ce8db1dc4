"""What every button on a take's card does first, in one place: acknowledge, read the payload, check on the server
that the take is on the message pressed (`load_take_for_action`), then run the button's flow; a Redis outage is
answered with the one "busy" reply, quietly, to the person who pressed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import redis
from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.deps import Deps
from bot.slack.access import load_take_for_action
from bot.slack.payloads import BlockActionPayload, parse_block_action
from bot.slack.reply import BUSY_REPLY, reply
from jobs.domain.models import Take

log = logging.getLogger(__name__)
TakeFlow = Callable[[Deps, WebClient, BlockActionPayload, Take], None]
Listener = Callable[[Ack, dict[str, Any], BoltContext, WebClient], None]


def take_button(flow: TakeFlow) -> Listener:
    def listener(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        ack()
        deps: Deps = context["deps"]
        payload = parse_block_action(body)  # a malformed payload is logged and stops here
        if payload is None:
            return
        try:
            take = load_take_for_action(deps, body, client=client)
            if take is not None:
                flow(deps, client, payload, take)
        except redis.RedisError as error:
            log.error("redis unavailable while handling %s: %s", payload.action.action_id, error)
            reply(client, BUSY_REPLY, channel=None if payload.in_view else payload.channel_id,
                  thread_ts=payload.thread_ts, only_to=payload.user_id)

    listener.__name__ = flow.__name__
    return listener
