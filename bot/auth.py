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
from slack_sdk.errors import SlackApiError

from bot.deps import Deps
from bot.payloads import BlockActionPayload, parse_block_action
from bot.people import is_lead
from bot.poster import explain_slack_error
from jobs.channels import load_channel_settings
from jobs.models import Take

log = logging.getLogger(__name__)
TAKE_ID_RE = re.compile(r"^[0-9a-f]{8,32}-\d{1,3}$")
UNKNOWN_TAKE = "That button does not match a take Dailies knows on this message, so nothing happened."


def read_action(body: Any) -> BlockActionPayload | None:
    """The block_actions payload as a model, or None (logged) when it is malformed."""
    return parse_block_action(body)


def refuse(client: WebClient, payload: BlockActionPayload | None, text: str, reason: str) -> None:
    """Log why an action was refused and tell the presser quietly (ephemeral, or a DM from App Home)."""
    user = payload.user_id if payload else "?"
    channel = payload.channel_id if payload else None
    action = payload.action.action_id if payload else "?"
    value = payload.action.chosen[:80] if payload else ""
    log.warning("refused %s by %s in %s (value %r): %s", action, user, channel, value, reason)
    if payload is None:
        return
    try:
        if channel and not payload.in_view:
            client.chat_postEphemeral(channel=channel, user=user, text=text, thread_ts=payload.thread_ts)
        else:
            client.chat_postMessage(channel=user, text=text, parse="none")
    except SlackApiError as error:
        log.error("could not tell %s the action was refused: %s", user, explain_slack_error(error))


def load_take_for_action(deps: Deps, body: Any, *, client: WebClient | None = None,
                         tell: bool = True) -> Take | None:
    """The take a card button names, only when Redis agrees: it exists, it is in the channel the button was
    pressed in, and the pressed message is that take's card. Otherwise None, logged (and the presser told)."""
    client = client or deps.client
    payload = read_action(body)
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


def lead_in(deps: Deps, user: str, channel: str | None, client: WebClient | None = None) -> bool:
    """A lead everywhere (DAILIES_LEADS) or of this channel (its settings in Redis); groups resolved by Slack."""
    channel_leads = load_channel_settings(deps.store, channel).leads if channel else []
    return is_lead(deps.store, client or deps.client, user, deps.settings.leads, channel_leads)


def requester_or_lead(deps: Deps, user: str, requester: str, channel: str | None,
                      client: WebClient | None = None) -> bool:
    return user == requester or lead_in(deps, user, channel, client)

