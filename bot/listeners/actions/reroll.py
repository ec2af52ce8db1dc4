"""*Reroll* on a take's card: the same brief with a new seed, as the next round in the same thread."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.flows.rounds import new_round_from_button
from bot.ids import SlackId


def register(app: App) -> None:
    app.action(SlackId.REROLL)(on_reroll)


def on_reroll(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    ack()
    new_round_from_button(body, context, client, similar=False)
