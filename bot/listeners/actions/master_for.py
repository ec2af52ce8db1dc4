"""*Master for…* on a take's card: a delivery copy at the chosen loudness target, made by a worker."""

from __future__ import annotations

import logging
from typing import Any

import redis
from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.deps import Deps
from bot.ids import SlackId
from bot.slack.access import load_take_for_action, refuse
from bot.slack.payloads import parse_block_action
from jobs.audio.targets import TARGETS

log = logging.getLogger(__name__)


def register(app: App) -> None:
    app.action(SlackId.MASTER_FOR)(on_master_for)


def on_master_for(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    ack()
    deps: Deps = context["deps"]
    payload = parse_block_action(body)
    if payload is None:
        return
    try:
        take = load_take_for_action(deps, body, client=client)
        if take is None:
            return
        target = payload.action.chosen.split("|", 1)[1] if "|" in payload.action.chosen else ""
        if target not in TARGETS:
            refuse(client, payload, f"Pick one of the delivery targets: {', '.join(TARGETS)}.",
                   f"unknown target {target!r}")
            return
        if take.silent or (take.sound is not None and not take.sound.has_audio):
            refuse(client, payload, f"Take {take.label} has no sound to master.", "silent take")
            return
        deps.enqueue("master_take", take.id, target, payload.user_id)
        client.chat_postEphemeral(channel=take.channel, user=payload.user_id, thread_ts=take.thread_ts,
                                  text=f"Mastering take {take.label} for {target}; it will appear in the thread.")
    except redis.RedisError as error:
        log.error("redis unavailable for master_for: %s", error)
