"""Handling a message that holds a brief (a mention, or a DM): parse, check, record, enqueue."""

from __future__ import annotations

import logging
from typing import Any

import redis
from slack_bolt import BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import brief_error_reply
from bot.deps import Deps
from bot.poster import explain_slack_error
from bot.text import decode_event_text
from jobs.brief import BriefError
from jobs.intake import accept_brief

log = logging.getLogger(__name__)
BUSY_REPLY = ":hourglass: Dailies is busy right now (its queue is unreachable). Nothing was queued; try again in a minute."
IGNORED_SUBTYPES = {"message_changed", "message_deleted", "bot_message", "channel_join", "channel_leave",
                    "message_replied", "thread_broadcast", "channel_topic", "channel_purpose", "pinned_item"}

# Words that ask Dailies something instead of being a brief; other listeners add theirs.
KEYWORD_HANDLERS: dict[str, Any] = {}
# Commands with arguments (`set key=value …`): first word → fn(deps, client, event, thread_ts, rest) → bool;
# a handler returning False lets the text run as a brief.
COMMAND_HANDLERS: dict[str, Any] = {}


def is_human_message(event: dict[str, Any], context: BoltContext) -> bool:
    if event.get("bot_id") or event.get("bot_profile"):
        return False
    if event.get("subtype") in IGNORED_SUBTYPES:
        return False
    user = event.get("user")
    return bool(user) and user != context.bot_user_id


def thread_of(event: dict[str, Any]) -> str:
    return event.get("thread_ts") or event["ts"]


def reply(client: WebClient, channel: str, thread_ts: str, text: str, blocks: list[dict] | None = None) -> None:
    try:
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=blocks, parse="none",
                                unfurl_links=False, unfurl_media=False)
    except SlackApiError as error:
        log.error("reply in %s: %s", channel, explain_slack_error(error))


def handle_brief_message(body: dict[str, Any], event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    if not is_human_message(event, context):
        return
    deps: Deps = context["deps"]
    channel, ts, user = event["channel"], event["ts"], event["user"]
    thread_ts = thread_of(event)
    allowlist = deps.settings.channels
    if allowlist and channel not in allowlist and event.get("channel_type") != "im":
        log.info("ignoring a brief in channel %s: not in DAILIES_CHANNELS", channel)
        return
    try:
        if not deps.store.first_time("event", body.get("event_id") or f"{channel}:{ts}"):
            return
        if not deps.store.first_time("msg", f"{channel}:{ts}"):
            return
        text = decode_event_text(event.get("text", ""), context.bot_user_id)
        keyword = text.strip().lower()
        if keyword in KEYWORD_HANDLERS:
            KEYWORD_HANDLERS[keyword](deps, client, event, thread_ts)
            return
        first, _, rest = text.strip().partition(" ")
        command = COMMAND_HANDLERS.get(first.lower())
        if command and command(deps, client, event, thread_ts, rest.strip()):
            return
        try:
            accepted = accept_brief(deps.store, deps.settings, channel=channel, thread_ts=thread_ts,
                                    source_ts=ts, user=user, text=text)
        except BriefError as error:
            fallback, blocks = brief_error_reply(error.problem, error.hint)
            reply(client, channel, thread_ts, fallback, error_blocks(error, blocks))
            return
        deps.start_round(accepted.request, accepted.takes)
    except redis.RedisError as error:
        log.error("redis unavailable while handling a brief in %s: %s", channel, error)
        reply(client, channel, thread_ts, BUSY_REPLY)


def error_blocks(error: BriefError, blocks: list[dict]) -> list[dict]:
    extra = getattr(error, "blocks", None)
    return blocks + list(extra) if extra else blocks
