"""Authorization decided on the server: what a button or reaction may do is looked up in Redis.

A Slack payload is signed, so who pressed (`user.id`) and where (`channel`,
`container`) are Slack's word. What the payload *names* (`value`,
`private_metadata`, `block_id`) is only a claim made by the message we posted,
and a hand-made payload can name anything: every helper here checks it
against Redis (the take exists, is in the channel the press came from, is on
the message pressed; the person is the requester, a lead, on the sound team)
and logs each refusal with the reason.

    payload = read_action(body)
    take = load_take_for_action(deps, body)       # None: refused, logged, the presser told
    if take and not requester_or_lead(deps, payload.user_id, take.requester, take.channel): ...
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_sdk import WebClient

from bot.deps import Deps
from bot.slack.payloads import BlockActionPayload, parse_block_action
from bot.slack.people import is_member
from bot.slack.reply import reply
from jobs.domain import tickets
from jobs.domain.channels import load_channel_settings
from jobs.domain.models import Take
from jobs.domain.tickets import Ticket

log = logging.getLogger(__name__)
TAKE_ID_RE = re.compile(r"^[0-9a-f]{8,32}-\d{1,3}$")
UNKNOWN_TAKE = "That button does not match a take Dailies knows on this message, so nothing happened."


def refuse(client: WebClient, payload: BlockActionPayload | None, text: str, reason: str) -> None:
    """Log why an action was refused and tell the presser quietly (ephemeral, or a DM from App Home)."""
    user = payload.user_id if payload else "?"
    channel = payload.channel_id if payload else None
    action = payload.action.action_id if payload else "?"
    value = payload.action.chosen[:80] if payload else ""
    log.warning("refused %s by %s in %s (value %r): %s", action, user, channel, value, reason)
    if payload is None:
        return
    in_channel = channel if not payload.in_view else None
    reply(client, text, channel=in_channel, thread_ts=payload.thread_ts, only_to=user)


def load_take_for_action(deps: Deps, body: Any, *, client: WebClient | None = None,
                         tell: bool = True) -> Take | None:
    """The take a card button names, only when Redis agrees: it exists, it is in the channel the button was
    pressed in, and the pressed message is that take's card. Otherwise None, logged (and the presser told)."""
    client = client or deps.client
    payload = parse_block_action(body)
    if payload is None:
        return None
    take_id = payload.action.chosen.split("|", 1)[0]

    def no(reason: str) -> None:
        if tell:
            refuse(client, payload, UNKNOWN_TAKE, reason)
        else:
            log.warning("refused %s by %s: %s", payload.action.action_id, payload.user_id, reason)

    if not TAKE_ID_RE.match(take_id):
        no("the value is not a take id")
        return None
    take = deps.store.get_take(take_id)
    if take is None:
        no(f"take {take_id} does not exist")
        return None
    if payload.channel_id != take.channel:
        no(f"take {take_id} is in {take.channel}, not {payload.channel_id}")
        return None
    if not take.message_ts or payload.message_ts != take.message_ts:
        no(f"take {take_id}'s card is {take.message_ts}, the button was on {payload.message_ts}")
        return None
    return take



ONLY_SOUND_TEAM = "Only the sound team can claim, deliver or return sound tickets."
ONLY_LEADS_CANCEL = "Only leads can cancel sound tickets."
ONLY_LEADS_FLAG = "Only leads can send takes to sound."


def lead_in(deps: Deps, user: str, channel: str | None, client: WebClient | None = None) -> bool:
    """A lead everywhere (DAILIES_LEADS) or of this channel (its settings in Redis); groups resolved by Slack."""
    channel_leads = load_channel_settings(deps.store, channel).leads if channel else []
    return is_member(deps.store, client or deps.client, user, [*deps.settings.leads, *channel_leads])


def requester_or_lead(deps: Deps, user: str, requester: str, channel: str | None,
                      client: WebClient | None = None) -> bool:
    return user == requester or lead_in(deps, user, channel, client)


def on_sound_team(deps: Deps, client: WebClient, user: str) -> bool:
    return is_member(deps.store, client, user, deps.settings.sound_team)


# sound tickets: where an action was pressed and which ticket it names
def action_place(payload: BlockActionPayload) -> tuple[str | None, str | None]:
    """(channel, thread_ts) an action was pressed in; (None, None) for App Home and modals."""
    if payload.in_view:
        return None, None
    return payload.channel_id, payload.thread_ts


def action_ticket(deps: Deps, client: WebClient, payload: BlockActionPayload, value: str) -> Ticket | None:
    """Load the ticket an action's value names; refuse (and log) forged or unknown ids."""
    channel, thread_ts = action_place(payload)
    user = payload.user_id
    ticket = tickets.get_ticket(deps.store, value) if tickets.valid_ticket_id(value) else None
    if ticket is None:
        log.warning("refused a ticket action by %s: unknown ticket %r", user, value[:40])
        reply(client, "That sound ticket does not exist.", channel=channel, thread_ts=thread_ts, only_to=user)
        return None
    if channel and channel != ticket.queue_channel:
        log.warning("refused a ticket action by %s: %s pressed in %s, not its queue channel", user, ticket.id, channel)
        reply(client, f"{ticket.id} is not handled in this channel.", channel=channel, thread_ts=thread_ts,
              only_to=user)
        return None
    return ticket
