"""*Return* on a sound ticket: a sound-team member sends it back with notes (a modal asks for them)."""

from __future__ import annotations

from slack_bolt import App

from bot.flows.ticket_buttons import return_ticket
from bot.ids import SlackId
from bot.slack.listener import ticket_button


def register(app: App) -> None:
    app.action(SlackId.TICKET_RETURN)(ticket_button(return_ticket, claimant_only=True))
