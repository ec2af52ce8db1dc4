"""*Deliver* on a sound ticket: delivery is an upload of the final mix into the ticket's thread; this says how."""

from __future__ import annotations

from slack_bolt import App

from bot.flows.ticket_buttons import deliver
from bot.ids import SlackId
from bot.slack.listener import ticket_button


def register(app: App) -> None:
    app.action(SlackId.TICKET_DELIVER)(ticket_button(deliver, claimant_only=True))
