"""*Send to sound* on a take's card: a lead flags the take for the sound team (see `bot.listeners.reactions.hero`)."""

from __future__ import annotations

import logging
from typing import Any

import redis
from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.deps import Deps
from bot.listeners.reactions.hero import flag_take
from bot.slack.access import action_place
from bot.slack.reply import reply

log = logging.getLogger(__name__)


def register(app: App) -> None:
    app.action("send_to_sound")(on_send_to_sound)


def on_send_to_sound(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext,
                     client: WebClient) -> None:
    ack()
    deps: Deps = context["deps"]
    user = (body.get("user") or {}).get("id", "")
    channel, thread_ts = action_place(body)
    take_id = str(action.get("value") or "")
    try:
        take = deps.store.get_take(take_id) if take_id and len(take_id) <= 64 else None
        message_ts = (body.get("container") or {}).get("message_ts") or (body.get("message") or {}).get("ts")
        if take is None or take.channel != channel or (take.message_ts and message_ts and take.message_ts != message_ts):
            log.warning("refused send_to_sound by %s in %s: take %r is not on that message", user, channel, take_id[:64])
            reply(client, "That take is not on this message.", channel=channel, thread_ts=thread_ts, only_to=user)
            return
        flag_take(deps, client, user=user, take=take, channel=channel or take.channel, thread_ts=take.thread_ts)
    except redis.RedisError as error:
        log.error("redis unavailable while sending a take to sound: %s", error)
