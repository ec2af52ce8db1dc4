"""What every sound-ticket button shares: the press is checked on the server, then the ticket moves."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient

from bot.blocks.tickets import take_over_offer
from bot.deps import Deps
from bot.home import republish_home
from bot.slack.access import (
    ONLY_LEADS_CANCEL,
    ONLY_SOUND_TEAM,
    action_place,
    action_ticket,
    lead_in,
    on_sound_team,
)
from bot.slack.payloads import parse_block_action
from bot.slack.reply import reply
from bot.slack.text import mention
from jobs.domain import tickets
from jobs.domain.tickets import Ticket, TicketError

log = logging.getLogger(__name__)


@dataclass
class TicketPress:
    """A ticket button pressed by someone allowed to press it."""

    deps: Deps
    client: WebClient
    body: dict[str, Any]
    user: str
    channel: str | None
    thread_ts: str | None
    ticket: Ticket

    def tell(self, text: str) -> None:
        reply(self.client, text, channel=self.channel, thread_ts=self.thread_ts, only_to=self.user)

    def transition(self, action: str, **details: Any) -> bool:
        """Move the ticket, mirror the change everywhere, refresh App Home; say why when the move is refused."""
        try:
            tickets.transition(self.deps.store, self.ticket.id, action, self.user, **details)
        except TicketError as error:
            self.tell(error.sentence(mention))
            return False
        self.deps.enqueue("sync_ticket", self.ticket.id)
        republish_home(self.deps, self.client, self.body, self.user)
        return True


def ticket_press(body: dict[str, Any], deps: Deps, client: WebClient, *,
                 leads_only: bool = False, claimant_only: bool = False) -> TicketPress | None:
    """The pressed ticket when it exists, was pressed in its queue channel (or App Home) and the presser is on
    the sound team (or, with `leads_only`, a lead; with `claimant_only`, the one who claimed it or a lead);
    otherwise None after a quiet, logged refusal."""
    payload = parse_block_action(body)
    if payload is None:
        return None
    user, action_id = payload.user_id, payload.action.action_id
    channel, thread_ts = action_place(payload)
    ticket = action_ticket(deps, client, payload, payload.action.chosen)
    if ticket is None:
        return None
    if leads_only:
        allowed = lead_in(deps, user, ticket.channel, client)
    else:  # a lead may also deliver or return a claimed ticket, on the sound team or not
        allowed = on_sound_team(deps, client, user) or (claimant_only and lead_in(deps, user, ticket.channel, client))
    if not allowed:
        log.warning("refused %s on %s by %s: not %s", action_id, ticket.id, user,
                    "a lead" if leads_only else "on the sound team")
        reply(client, ONLY_LEADS_CANCEL if leads_only else ONLY_SOUND_TEAM, channel=channel, thread_ts=thread_ts,
              only_to=user)
        return None
    if claimant_only and not claimant_or_lead(deps, client, ticket, user):
        log.info("refused %s on %s by %s: claimed by %s", action_id, ticket.id, user,
                 ticket.claimed_by)
        offer_take_over(client, ticket, user, channel=channel, thread_ts=thread_ts)
        return None
    return TicketPress(deps, client, body, user, channel, thread_ts, ticket)


def claimant_or_lead(deps: Deps, client: WebClient, ticket: Ticket, user: str) -> bool:
    return tickets.acts_on_claimed(ticket, user) or lead_in(deps, user, ticket.channel, client)


def offer_take_over(client: WebClient, ticket: Ticket, user: str, *, channel: str | None,
                    thread_ts: str | None) -> None:
    text, blocks = take_over_offer(ticket)
    reply(client, text, channel=channel, thread_ts=thread_ts, blocks=blocks, only_to=user)
