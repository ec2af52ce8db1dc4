"""*Reroll* on a take's card: the same brief with a new seed, as the next round in the same thread."""

from __future__ import annotations

from slack_bolt import App

from bot.flows.rounds import reroll
from bot.ids import SlackId
from bot.slack.listener import take_button


def register(app: App) -> None:
    app.action(SlackId.REROLL)(take_button(reroll))
