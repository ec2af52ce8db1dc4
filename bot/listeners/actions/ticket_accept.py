"""*Accept anyway* under a mix that failed its check: a lead delivers the ticket with that mix."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.deps import Deps
from bot.ids import SlackId
from bot.slack.access import action_place, action_ticket, lead_in
from bot.slack.payloads import parse_block_action
from bot.slack.reply import reply
from bot.slack.text import mention
from jobs.domain import tickets
from jobs.domain.tickets import Ticket, TicketError


def register(app: App) -> None:
    app.action(SlackId.TICKET_ACCEPT)(on_accept)


def on_accept(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    ack()
    deps: Deps = context["deps"]
    payload = parse_block_action(body)
    if payload is None:
        return
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
