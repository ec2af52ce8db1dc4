"""A file uploaded into a sound ticket's thread is a delivery: check who, then enqueue the mix check."""

from __future__ import annotations

import logging

import redis
from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.deps import Deps
from bot.flows.ticket_press import claimant_or_lead, offer_take_over
from bot.slack.access import ONLY_SOUND_TEAM, on_sound_team
from bot.slack.payloads import MessageEvent, SharedFile
from bot.slack.reply import reply
from jobs.domain import tickets
from jobs.domain.tickets import TicketState

log = logging.getLogger(__name__)


def handle_thread_upload(message: MessageEvent, context: BoltContext, client: WebClient) -> bool:
    """True when the upload was in a ticket's thread (handled here, whatever the outcome)."""
    deps: Deps = context["deps"]
    channel, thread_ts, user = message.channel, message.thread_ts or "", message.user or ""
    try:
        ticket = tickets.ticket_for_message(deps.store, channel, thread_ts)
        if ticket is None:
            return False
        if not deps.store.first_time("delivery", f"{channel}:{message.ts}"):
            return True
        if not on_sound_team(deps, client, user):
            log.info("refused a delivery for %s by %s: not on the sound team", ticket.id, user)
            reply(client, ONLY_SOUND_TEAM, channel=channel, thread_ts=thread_ts, only_to=user)
            return True
        if ticket.state == TicketState.queued:
            reply(client, f"{ticket.id} is not claimed yet: press *Claim* first, then upload the final mix into "
                          "this thread again.", channel=channel, thread_ts=thread_ts)
            return True
        if not claimant_or_lead(deps, client, ticket, user):
            log.info("refused a delivery for %s by %s: claimed by %s", ticket.id, user, ticket.claimed_by)
            offer_take_over(client, ticket, user, channel=channel, thread_ts=thread_ts)
            return True
        if ticket.state != TicketState.claimed:
            reply(client, f"{ticket.id} is {ticket.state.value}: this upload was not checked.", channel=channel,
                  thread_ts=thread_ts)
            return True
        mixes = [f for f in message.files if is_mix_file(f) or f.file_access == "check_file_info"]
        if not mixes:
            reply(client, "That upload is not audio or video, so it was not checked. Upload the final mix (WAV, "
                          "AIFF, FLAC, MP3, M4A, Ogg or a video with the mix).", channel=channel, thread_ts=thread_ts)
            return True
        for file in mixes[:3]:
            deps.enqueue("check_ticket_mix", ticket.id, file.id, user)
        return True
    except redis.RedisError as error:
        log.error("redis unavailable while receiving a delivery in %s: %s", channel, error)
        return False


MIX_EXTENSIONS = {"wav", "wave", "aif", "aiff", "flac", "mp3", "m4a", "aac", "ogg", "opus", "mp4", "mov", "m4v",
                  "mkv", "webm"}


def is_mix_file(file: SharedFile) -> bool:
    mimetype, name = file.mimetype, file.name
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return mimetype.startswith(("audio/", "video/")) or ext in MIX_EXTENSIONS
