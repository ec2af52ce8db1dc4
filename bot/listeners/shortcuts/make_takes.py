"""Message shortcut "Make takes from this": the brief modal filled from that message, the round in its thread."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.brief_modal import ModalPlace, brief_modal
from bot.deps import Deps
from bot.ids import SlackId
from bot.slack.errors import explain_slack_error
from bot.slack.payloads import MessageShortcut, parse_payload
from bot.slack.text import decode_event_text
from jobs.domain.brief_form import defaults_form, from_text
from jobs.domain.channels import load_channel_settings

log = logging.getLogger(__name__)
CALLBACK_ID = SlackId.MAKE_TAKES


def register(app: App) -> None:
    app.shortcut(CALLBACK_ID)(on_make_takes)


def on_make_takes(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    ack()
    shortcut = parse_payload(MessageShortcut, body)
    if shortcut is None:
        return
    deps: Deps = context["deps"]
    channel = shortcut.channel.id
    base = defaults_form(deps.settings, load_channel_settings(deps.store, channel))
    form = from_text(decode_event_text(shortcut.message.text, context.bot_user_id), base)
    # The message's images (by what the payload says they are; files.info decides at submission) are its frames.
    images = [f.id for f in shortcut.message.files if f.mimetype.startswith("image/")][:2]
    place = ModalPlace(channel=channel, thread_ts=shortcut.message.thread_ts or shortcut.message.ts,
                       reference_file_ids=images)
    try:
        client.views_open(trigger_id=shortcut.trigger_id,
                          view=brief_modal(deps.settings, form, place, default_channel=None))
    except SlackApiError as error:
        log.error("could not open the brief modal for %s: %s", shortcut.user.id, explain_slack_error(error))
