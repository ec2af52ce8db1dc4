"""Plain messages: a brief sent to the bot in a DM, or a mix uploaded into a sound ticket's thread. Channel
twins of mentions are ignored: the app_mention listener handles those."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.listeners.messages.brief import handle_brief_message, is_human_message
from bot.listeners.messages.mix_upload import handle_thread_upload
from bot.slack.payloads import parse_message


def register(app: App) -> None:
    app.event("message")(on_message)


def on_message(body: dict[str, Any], event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    message = parse_message(event)
    if message is None or not is_human_message(message, context.bot_user_id):
        return
    if message.files and message.thread_ts and handle_thread_upload(message, context, client):
        return
    if message.in_dm:
        handle_brief_message(body.get("event_id"), message, context, client)
