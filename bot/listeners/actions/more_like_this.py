"""*More like this* on a take's card: takes near its seed (or new seeds, said so), as the next round."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.flows.rounds import new_round_from_button
from bot.ids import SlackId


def register(app: App) -> None:
    app.action(SlackId.MORE_LIKE_THIS)(on_more_like_this)


def on_more_like_this(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    ack()
    new_round_from_button(body, context, client, similar=True)
