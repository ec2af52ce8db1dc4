"""Plain messages: a brief sent to the bot in a DM. Channel twins of mentions are ignored."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.listeners.messages.brief import handle_brief_message, is_human_message
from bot.listeners.messages.mix_upload import handle_thread_upload


def register(app: App) -> None:
    app.event("message")(on_message)


def on_message(body: dict[str, Any], event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    if not is_human_message(event, context):
        return
    if event.get("files") and event.get("thread_ts") and handle_thread_upload(body, event, context, client):
        return
    if event.get("channel_type") == "im":
        handle_brief_message(body, event, context, client)
    # In channels the same message also arrives as app_mention; that listener handles it.
