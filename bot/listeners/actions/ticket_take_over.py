"""*Take over* on a claimed sound ticket: another sound-team member takes it from its claimant, said in its
thread so nobody works on it twice."""

from __future__ import annotations

from slack_bolt import App

from bot.flows.ticket_buttons import take_over
from bot.ids import SlackId
from bot.slack.listener import ticket_button


def register(app: App) -> None:
    app.action(SlackId.TICKET_TAKE_OVER)(ticket_button(take_over))
