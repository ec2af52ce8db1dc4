"""*Deliver* on a sound ticket: delivery is an upload of the final mix into the ticket's thread; this says how."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.blocks.tickets import target_text
from bot.flows.ticket_press import ticket_press
from bot.ids import SlackId
from bot.slack.reply import reply
from jobs.domain.tickets import TicketState


def register(app: App) -> None:
    app.action(SlackId.TICKET_DELIVER)(on_deliver)


def on_deliver(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    ack()
    press = ticket_press(body, context["deps"], client, claimant_only=True)
    if press is None:
        return
    ticket = press.ticket
    if ticket.state == TicketState.queued:
        text = f"{ticket.id} is not claimed yet: claim it first, then upload the final mix into its thread."
    elif ticket.state != TicketState.claimed:
        text = f"{ticket.id} is {ticket.state.value}: there is nothing to deliver."
    else:
        text = (f"Upload the final mix into the thread of {ticket.id}'s message in <#{ticket.queue_channel}>. "
                f"Dailies measures it against {target_text(ticket.target)} and marks the ticket delivered when it "
                "passes, then posts it in the creative thread.")
        last = ticket.last_mix
        if last and last.passed is False:
            text += " The last mix did not pass: " + "; ".join(last.reasons or [last.error or "unreadable"])
    reply(client, text, channel=press.channel, thread_ts=ticket.queue_ts if press.channel else None, only_to=press.user)
