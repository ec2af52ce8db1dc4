"""*Accept anyway* under a mix that failed its check: a lead delivers the ticket with that mix."""

from __future__ import annotations

from slack_bolt import App

from bot.flows.ticket_buttons import accept_anyway
from bot.ids import SlackId
from bot.slack.listener import block_action


def register(app: App) -> None:
    app.action(SlackId.TICKET_ACCEPT)(block_action(accept_anyway))
