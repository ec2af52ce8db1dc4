"""*Cancel* on a sound ticket: leads only."""

from __future__ import annotations

from slack_bolt import App

from bot.flows.ticket_buttons import cancel
from bot.ids import SlackId
from bot.slack.listener import ticket_button


def register(app: App) -> None:
    app.action(SlackId.TICKET_CANCEL)(ticket_button(cancel, leads_only=True))
