"""*Approve* on an over-budget (or over-limit) refusal: a lead lets the held request run (`bot.flows.approve`)."""

from __future__ import annotations

from slack_bolt import App

from bot.flows.approve import approve
from bot.ids import SlackId
from bot.slack.listener import block_action


def register(app: App) -> None:
    app.action(SlackId.APPROVE)(block_action(approve))
