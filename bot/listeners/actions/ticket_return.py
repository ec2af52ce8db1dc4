"""*Return* on a sound ticket: a sound-team member sends it back with notes (a modal asks for them)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.tickets import return_modal
from bot.flows.ticket_press import ticket_press
from bot.flows.ticket_return import grant_return_form
from bot.ids import SlackId
from bot.slack.errors import explain_slack_error

log = logging.getLogger(__name__)


def register(app: App) -> None:
    app.action(SlackId.TICKET_RETURN)(on_return)


def on_return(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    ack()
    press = ticket_press(body, context["deps"], client, claimant_only=True)
    if press is None:
        return
    ticket = press.ticket
    if not ticket.state.open:
        press.tell(f"{ticket.id} is {ticket.state.value}: there is nothing to return.")
        return
    grant_return_form(press.deps, ticket.id, press.user)
    try:
        client.views_open(trigger_id=body.get("trigger_id", ""), view=return_modal(ticket))
    except SlackApiError as error:
        log.warning("return modal for %s: %s", ticket.id, explain_slack_error(error))
        press.tell("Slack would not open the notes form; press Return again.")
