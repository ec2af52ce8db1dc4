"""*Claim* on a sound ticket: a sound-team member takes it on."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.flows.ticket_press import ticket_press
from bot.ids import SlackId
from bot.slack.access import ONLY_SOUND_TEAM

__all__ = ["ONLY_SOUND_TEAM", "register"]


def register(app: App) -> None:
    app.action(SlackId.TICKET_CLAIM)(on_claim)


def on_claim(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    ack()
    press = ticket_press(body, context["deps"], client)
    if press:
        press.transition("claim")
