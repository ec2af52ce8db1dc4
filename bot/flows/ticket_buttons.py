"""What each button on a sound ticket does, once `ticket_press` has allowed the press."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.tickets import return_modal, target_text
from bot.deps import Deps
from bot.flows.ticket_press import TicketPress
from bot.flows.ticket_return import grant_return_form
from bot.slack.access import action_place, action_ticket, lead_in
from bot.slack.errors import explain_slack_error
from bot.slack.payloads import BlockActionPayload
from bot.slack.reply import reply
from bot.slack.text import mention
from jobs.domain import tickets
from jobs.domain.tickets import Ticket, TicketError, TicketState

log = logging.getLogger(__name__)


def claim(press: TicketPress) -> None:
    """A sound-team member takes the ticket on."""
    press.transition("claim")


def cancel(press: TicketPress) -> None:
    """A lead cancels the ticket."""
    press.transition("cancel")


def take_over(press: TicketPress) -> None:
    """Another sound-team member takes a claimed ticket from its claimant, said in its thread."""
    before = press.ticket.claimed_by
    if before == press.user:
        press.tell(f"{press.ticket.id} is already yours.")
        return
    if press.transition("take_over"):
        reply(press.client, f"{mention(press.user)} took over {press.ticket.id} from {mention(before or '')}.",
              channel=press.ticket.queue_channel, thread_ts=press.ticket.queue_ts)


def deliver(press: TicketPress) -> None:
    """Delivery is an upload of the final mix into the ticket's thread: say how, and how the last one fared."""
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
    reply(press.client, text, channel=press.channel, thread_ts=ticket.queue_ts if press.channel else None,
          only_to=press.user)


def return_ticket(press: TicketPress) -> None:
    """Send the ticket back with notes: a form asks for them (only this person may submit it)."""
    ticket = press.ticket
    if not ticket.state.open:
        press.tell(f"{ticket.id} is {ticket.state.value}: there is nothing to return.")
        return
    grant_return_form(press.deps, ticket.id, press.user)
    try:
        press.client.views_open(trigger_id=press.body.get("trigger_id", ""), view=return_modal(ticket))
    except SlackApiError as error:
        log.warning("return modal for %s: %s", ticket.id, explain_slack_error(error))
        press.tell("Slack would not open the notes form; press Return again.")


def accept_anyway(deps: Deps, client: WebClient, payload: BlockActionPayload, body: dict[str, Any]) -> None:
    """A lead delivers the ticket with a mix that failed its sound check (the button's value: ticket|file)."""
    user = payload.user_id
    channel, thread_ts = action_place(payload)
    ticket_id, _, file_id = payload.action.chosen.partition("|")
    ticket = action_ticket(deps, client, payload, ticket_id)
    if ticket is None:
        return
    if not lead_in(deps, user, ticket.channel, client):
        reply(client, "Only leads can accept a mix that failed its sound check.", channel=channel,
              thread_ts=thread_ts, only_to=user)
        return
    mix = ticket.mix(file_id)
    if mix is None or mix.passed is not False:
        reply(client, f"That mix is not one of {ticket.id}'s checked mixes.", channel=channel, thread_ts=thread_ts,
              only_to=user)
        return

    def final(t: Ticket) -> None:
        t.final_file_id = file_id

    try:
        tickets.transition(deps.store, ticket.id, "accept", user, note=f"accepted {mix.name}: " + "; ".join(mix.reasons),
                           extra=final)
    except TicketError as error:
        reply(client, error.sentence(mention), channel=channel, thread_ts=thread_ts, only_to=user)
        return
    deps.enqueue("sync_ticket", ticket.id)
