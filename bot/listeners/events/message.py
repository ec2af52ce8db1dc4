"""Plain messages: a brief sent to the bot in a DM, or a mix uploaded into a sound ticket's thread. A channel
message that mentions the bot is the twin of an `app_mention`; the one with files (`file_share`) is handled
like the mention, whichever arrives first, since either may be the one to carry the images (the brief's
dedup makes them one brief). Other channel twins are left to the app_mention listener."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.flows.brief import handle_brief_message, is_human_message
from bot.flows.mix_upload import handle_thread_upload
from bot.slack.payloads import parse_message


def register(app: App) -> None:
    app.event("message")(on_message)


def on_message(body: dict[str, Any], event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    message = parse_message(event)
    if message is None or not is_human_message(message, context.bot_user_id):
        return
    if message.files and message.thread_ts and handle_thread_upload(message, context, client):
        return
    if message.in_dm or (message.subtype == "file_share" and mentions(message.text, context.bot_user_id)):
        handle_brief_message(body.get("event_id"), message, context, client)


def mentions(text: str, bot_user_id: str | None) -> bool:
    return bool(bot_user_id) and f"<@{bot_user_id}" in text
