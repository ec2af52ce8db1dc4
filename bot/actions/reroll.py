"""*Reroll* on a take's card: the same brief with a new seed, as the next round in the same thread."""

from __future__ import annotations

import logging
from typing import Any

import redis
from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.auth import load_take_for_action, read_action
from bot.blocks import brief_error_reply
from bot.briefs import BUSY_REPLY, error_blocks, reply
from bot.deps import Deps
from bot.poster import explain_slack_error
from jobs.brief import BriefError
from jobs.rounds import reroll_request

log = logging.getLogger(__name__)


def register(app: App) -> None:
    app.action("reroll")(on_reroll)


def on_reroll(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    ack()
    new_round_from_button(body, context, client, similar=False)


def whisper(client: WebClient, channel: str | None, user: str | None, text: str) -> None:
    if not channel or not user:
        return
    try:
        client.chat_postEphemeral(channel=channel, user=user, text=text)
    except SlackApiError as error:
        log.error("ephemeral in %s: %s", channel, explain_slack_error(error))


def new_round_from_button(body: dict[str, Any], context: BoltContext, client: WebClient, *, similar: bool) -> None:
    deps: Deps = context["deps"]
    payload = read_action(body)  # a malformed payload is logged and stops here
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
            fallback, blocks = brief_error_reply(error.problem, error.hint)
            reply(client, channel, take.thread_ts, fallback, error_blocks(error, blocks))
            return
        deps.start_round(accepted.request, accepted.takes)
    except redis.RedisError as error:
        log.error("redis unavailable while handling %s in %s: %s", action.action_id, channel, error)
        thread_ts = payload.thread_ts or payload.message_ts
        if thread_ts:
            reply(client, channel, thread_ts, BUSY_REPLY)
