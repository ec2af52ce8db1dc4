"""A message that holds a brief (a mention, or a DM): parse, check, record, enqueue.

A few first words ask Dailies something instead: `KEYWORDS` (the whole text) and `COMMANDS` (the first
word, with arguments; a handler returning False lets the text run as a brief after all).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis
from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.deps import Deps
from bot.flows import channel_settings, resound, results, review, take_notes
from bot.flows.brief_errors import reply_brief_error
from bot.flows.mix_upload import handle_thread_upload
from bot.slack.files import attached_references
from bot.slack.payloads import MessageEvent
from bot.slack.people import SLACKBOT
from bot.slack.reply import BUSY_REPLY, reply
from bot.slack.text import decode_event_text
from jobs.domain import tickets
from jobs.domain.brief import BriefError
from jobs.domain.intake import accept_brief
from jobs.infra.logs import bound
from jobs.infra.text import count_invisible

log = logging.getLogger(__name__)
# What a person types, or shares with words, can be a brief. Every other subtype is something Slack or an app
# did (channel_join, message_changed, bot_message, ekm_access_denied, huddle_thread…) or a person did that is not
# a brief (me_message is an action, /me waves): none of them starts a render.
BRIEF_SUBTYPES = {None, "file_share"}

DM_BRIEFS_OFF = ("Briefs in direct messages are turned off in this workspace, so nothing was queued. Write "
                 "`@dailies` with your brief in one of the team's channels instead.")

KEYWORDS: dict[str, Callable[[Deps, WebClient, MessageEvent], None]] = {
    "results": results.post_results,
    "reel": review.request_reel,
}
COMMANDS: dict[str, Callable[[Deps, WebClient, MessageEvent, str], bool]] = {
    "set": channel_settings.handle_set,
    "note": take_notes.handle_note,
    "compare": review.handle_compare,
    "resound": resound.handle_resound,
}


def is_human_message(message: MessageEvent, bot_user_id: str | None) -> bool:
    if message.bot_id or message.bot_profile:
        return False
    if message.subtype not in BRIEF_SUBTYPES:
        return False
    return bool(message.user) and message.user not in (bot_user_id, SLACKBOT)


def in_ticket_thread(deps: Deps, message: MessageEvent) -> bool:
    return bool(message.in_thread and message.thread_ts
                and tickets.ticket_for_message(deps.store, message.channel, message.thread_ts) is not None)


def handle_brief_message(event_id: str | None, message: MessageEvent, context: BoltContext,
                         client: WebClient) -> None:
    if not is_human_message(message, context.bot_user_id):
        return
    deps: Deps = context["deps"]
    event_id = event_id if isinstance(event_id, str) and event_id else None
    channel, ts, user, thread_ts = message.channel, message.ts, message.user or "", message.thread
    if not message.in_dm and not deps.settings.takes_briefs_in(channel):
        log.info("ignoring a brief in channel %s: not in DAILIES_CHANNELS", channel)
        return
    if message.in_dm and not deps.settings.dm_briefs:
        if deps.store.first_time("msg", f"{channel}:{ts}"):
            reply(client, DM_BRIEFS_OFF, channel=channel, thread_ts=thread_ts)
        return
    try:
        if not deps.store.first_time("event", event_id or f"{channel}:{ts}"):
            return
        if not deps.store.first_time("msg", f"{channel}:{ts}"):
            return
        if in_ticket_thread(deps, message):
            # A ticket's thread is for its sound work: a mention there (often the twin of a mix upload, which
            # the message listener handles once) never starts a round.
            if message.files:
                handle_thread_upload(message, context, client)
            return
        text = decode_event_text(message.text, context.bot_user_id)
        if message.subtype == "file_share" and not text:
            return  # a file shared in a DM without a word: nothing asked
        keyword = KEYWORDS.get(text.strip().lower())
        if keyword:
            keyword(deps, client, message)
            return
        first, _, rest = text.strip().partition(" ")
        command = COMMANDS.get(first.lower())
        if command and command(deps, client, message, rest.strip()):
            return
        try:
            references = attached_references(client, message.files) if message.files else []
            accepted = accept_brief(deps.store, deps.settings, channel=channel, thread_ts=thread_ts,
                                    source_ts=ts, user=user, text=text, references=references,
                                    invisible_removed=count_invisible(message.text or ""))
        except BriefError as error:
            reply_brief_error(client, error, channel=channel, thread_ts=thread_ts)
            return
        with bound(request=accepted.request.id):
            log.info("request queued: %d take(s) on %s", len(accepted.takes), accepted.request.resolved.model)
            deps.start_round(accepted.request, accepted.takes)
    except redis.RedisError as error:
        log.error("redis unavailable while handling a brief in %s: %s", channel, error)
        reply(client, BUSY_REPLY, channel=channel, thread_ts=thread_ts)
