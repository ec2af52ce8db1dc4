"""`@dailies <brief>` in a channel or thread (or a group DM)."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.flows.brief import handle_brief_message
from bot.slack.payloads import parse_message


def register(app: App) -> None:
    app.event("app_mention")(on_app_mention)


def on_app_mention(body: dict[str, Any], event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    message = parse_message(event)
    if message is not None:
        handle_brief_message(body.get("event_id"), message, context, client)
