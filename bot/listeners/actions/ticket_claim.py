"""*Claim* on a sound ticket: a sound-team member takes it on."""

from __future__ import annotations

from slack_bolt import App

from bot.flows.ticket_buttons import claim
from bot.ids import SlackId
from bot.slack.listener import ticket_button


def register(app: App) -> None:
    app.action(SlackId.TICKET_CLAIM)(ticket_button(claim))
