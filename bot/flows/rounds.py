"""A new round from a take's card (*Reroll*, *More like this*): the same brief, the next round in its thread."""

from __future__ import annotations

import logging
from typing import Any

import redis
from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.deps import Deps
from bot.flows.brief import reply_brief_error
from bot.slack.access import load_take_for_action
from bot.slack.payloads import parse_block_action
from bot.slack.reply import BUSY_REPLY, reply
from jobs.domain.brief import BriefError
from jobs.domain.rounds import reroll_request

log = logging.getLogger(__name__)


def new_round_from_button(body: dict[str, Any], context: BoltContext, client: WebClient, *, similar: bool) -> None:
    deps: Deps = context["deps"]
    payload = parse_block_action(body)  # a malformed payload is logged and stops here
    if payload is None or not payload.channel_id:
        return
    channel, user, action = payload.channel_id, payload.user_id, payload.action
    try:
        # Server-side: the take must exist, be in this channel and be on the message pressed (anyone there may).
        take = load_take_for_action(deps, body, client=client)
        if take is None:
            return
        if action.action_ts and not deps.store.first_time("action", f"{user}:{action.action_ts}:{action.action_id}"):
            return  # the same press delivered twice
        try:
            accepted = reroll_request(deps.store, deps.settings, take, user, similar=similar)
        except BriefError as error:
            reply_brief_error(client, error, channel=channel, thread_ts=take.thread_ts)
            return
        deps.start_round(accepted.request, accepted.takes)
    except redis.RedisError as error:
        log.error("redis unavailable while handling %s in %s: %s", action.action_id, channel, error)
        thread_ts = payload.thread_ts or payload.message_ts
        if thread_ts:
            reply(client, BUSY_REPLY, channel=channel, thread_ts=thread_ts)
