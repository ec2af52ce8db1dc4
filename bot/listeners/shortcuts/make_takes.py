"""Message shortcut "Make takes from this": the brief form filled from that message, the round in its thread."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.flows.brief_form import open_from_shortcut
from bot.ids import SlackId
from bot.slack.payloads import MessageShortcut, parse_payload

CALLBACK_ID = SlackId.MAKE_TAKES


def register(app: App) -> None:
    app.shortcut(CALLBACK_ID)(on_make_takes)


def on_make_takes(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    ack()
    shortcut = parse_payload(MessageShortcut, body)
    if shortcut is not None:
        open_from_shortcut(context["deps"], client, shortcut, context.bot_user_id)
