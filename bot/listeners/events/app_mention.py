"""`@dailies <brief>` in a channel or thread."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.listeners.messages.brief import handle_brief_message


def register(app: App) -> None:
    app.event("app_mention")(on_app_mention)


def on_app_mention(body: dict[str, Any], event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    handle_brief_message(body, event, context, client)
