"""*Send to sound* on a take's card: a lead flags the take for the sound team (see `bot.flows.hero`)."""

from __future__ import annotations

import logging
from typing import Any

import redis
from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.deps import Deps
from bot.flows.hero import flag_take
from bot.ids import SlackId
from bot.slack.access import load_take_for_action
from bot.slack.payloads import parse_block_action

log = logging.getLogger(__name__)


def register(app: App) -> None:
    app.action(SlackId.SEND_TO_SOUND)(on_send_to_sound)


def on_send_to_sound(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    ack()
    deps: Deps = context["deps"]
    payload = parse_block_action(body)
    if payload is None:
        return
    try:
        # Server-side: the take exists, is in this channel and this is its card (else refused and logged).
        take = load_take_for_action(deps, body, client=client)
        if take is None:
            return
        flag_take(deps, client, user=payload.user_id, take=take, channel=take.channel, thread_ts=take.thread_ts)
    except redis.RedisError as error:
        log.error("redis unavailable while sending a take to sound: %s", error)
