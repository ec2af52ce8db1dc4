"""*More like this* on a take's card: takes near its seed (or new seeds, said so), as the next round."""

from __future__ import annotations

from slack_bolt import App

from bot.flows.rounds import more_like_this
from bot.ids import SlackId
from bot.slack.listener import take_button


def register(app: App) -> None:
    app.action(SlackId.MORE_LIKE_THIS)(take_button(more_like_this))
