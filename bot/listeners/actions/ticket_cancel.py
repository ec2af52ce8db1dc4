"""*Cancel* on a sound ticket: leads only."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.flows.ticket_press import ticket_press
from bot.ids import SlackId


def register(app: App) -> None:
    app.action(SlackId.TICKET_CANCEL)(on_cancel)


def on_cancel(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    ack()
    press = ticket_press(body, context["deps"], client, leads_only=True)
    if press:
        press.transition("cancel")
