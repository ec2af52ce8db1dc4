"""A message that holds a brief (a mention, or a DM): parse, check, record, enqueue.

A few first words ask Dailies something instead: `KEYWORDS` (the whole text) and `COMMANDS` (the first
word, with arguments; a handler returning False lets the text run as a brief after all).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import redis
from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.blocks.takes import brief_error_reply
from bot.deps import Deps
from bot.listeners.messages import channel_settings, results
from bot.listeners.messages.mix_upload import handle_thread_upload
from bot.slack.people import SLACKBOT
from bot.slack.reply import BUSY_REPLY, reply
from bot.slack.text import decode_event_text
from jobs.domain import tickets
from jobs.domain.brief import BriefError
from jobs.domain.intake import accept_brief

log = logging.getLogger(__name__)
# What a person types, or shares with words, can be a brief. Every other subtype is something Slack or an app
# did (channel_join, message_changed, bot_message, ekm_access_denied, huddle_thread…) or a person did that is not
# a brief (me_message is an action, /me waves): none of them starts a render.
BRIEF_SUBTYPES = {None, "file_share"}

DM_BRIEFS_OFF = ("Briefs in direct messages are turned off in this workspace, so nothing was queued. Write "
                 "`@dailies` with your brief in one of the team's channels instead.")

KEYWORDS: dict[str, Callable[[Deps, WebClient, dict[str, Any], str], None]] = {
    "results": results.post_results,
}
COMMANDS: dict[str, Callable[[Deps, WebClient, dict[str, Any], str, str], bool]] = {
    "set": channel_settings.handle_set,
}


def is_human_message(event: dict[str, Any], context: BoltContext) -> bool:
    if event.get("bot_id") or event.get("bot_profile"):
        return False
    if event.get("subtype") not in BRIEF_SUBTYPES:
        return False
    user = event.get("user")
    return isinstance(user, str) and bool(user) and user not in (context.bot_user_id, SLACKBOT)


def in_ticket_thread(deps: Deps, event: dict[str, Any]) -> bool:
    thread_ts = event.get("thread_ts")
    if not thread_ts or thread_ts == event.get("ts"):
        return False
    return tickets.ticket_for_message(deps.store, event["channel"], thread_ts) is not None


def thread_of(event: dict[str, Any]) -> str:
    return event.get("thread_ts") or event["ts"]


def handle_brief_message(body: dict[str, Any], event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    if not is_human_message(event, context):
        return
    deps: Deps = context["deps"]
    channel, ts, user = event["channel"], event["ts"], event["user"]
    thread_ts = thread_of(event)
    allowlist = deps.settings.channels
    in_dm = event.get("channel_type") == "im"
    if allowlist and channel not in allowlist and not in_dm:
        log.info("ignoring a brief in channel %s: not in DAILIES_CHANNELS", channel)
        return
    if in_dm and not deps.settings.dm_briefs:
        if deps.store.first_time("msg", f"{channel}:{ts}"):
            reply(client, DM_BRIEFS_OFF, channel=channel, thread_ts=thread_ts)
        return
    try:
        if not deps.store.first_time("event", body.get("event_id") or f"{channel}:{ts}"):
            return
        if not deps.store.first_time("msg", f"{channel}:{ts}"):
            return
        if in_ticket_thread(deps, event):
            # A ticket's thread is for its sound work: a mention there (often the twin of a mix upload, which
            # the message listener handles once) never starts a round.
            if event.get("files"):
                handle_thread_upload(body, event, context, client)
            return
        text = decode_event_text(event.get("text", ""), context.bot_user_id)
        if event.get("subtype") == "file_share" and not text:
            return  # a file shared in a DM without a word: nothing asked
        keyword = KEYWORDS.get(text.strip().lower())
        if keyword:
            keyword(deps, client, event, thread_ts)
            return
        first, _, rest = text.strip().partition(" ")
        command = COMMANDS.get(first.lower())
        if command and command(deps, client, event, thread_ts, rest.strip()):
            return
        try:
            accepted = accept_brief(deps.store, deps.settings, channel=channel, thread_ts=thread_ts,
                                    source_ts=ts, user=user, text=text)
        except BriefError as error:
            reply_brief_error(client, error, channel=channel, thread_ts=thread_ts)
            return
        deps.start_round(accepted.request, accepted.takes)
    except redis.RedisError as error:
        log.error("redis unavailable while handling a brief in %s: %s", channel, error)
        reply(client, BUSY_REPLY, channel=channel, thread_ts=thread_ts)


def reply_brief_error(client: WebClient, error: BriefError, *, channel: str, thread_ts: str) -> None:
    """Say in the thread why a brief (or a round from a button) cannot run, and how to write it."""
    fallback, blocks = brief_error_reply(error.problem, error.hint)
    extra = getattr(error, "blocks", None)  # an over-budget refusal carries an Approve button
    reply(client, fallback, channel=channel, thread_ts=thread_ts, blocks=blocks + list(extra) if extra else blocks)
