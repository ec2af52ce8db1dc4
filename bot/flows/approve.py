"""*Approve* on an over-budget (or over-limit) refusal: a lead lets the held request run.

The button's value is only the id of a request held in Redis; the request, its channel and its estimate come from
Redis. Only a lead (DAILIES_LEADS or the channel's leads) may approve; anyone else gets a quiet refusal and the
request stays held. Two leads pressing at once approve it once.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.approval import approved_message
from bot.deps import Deps
from bot.slack.access import lead_in, refuse
from bot.slack.errors import explain_slack_error
from bot.slack.payloads import BlockActionPayload
from jobs.domain import approvals, budget

log = logging.getLogger(__name__)
ONLY_LEADS = "Only leads can approve requests over the budget or the hourly limit; nothing was queued."
NOT_WAITING = "That request is no longer waiting for approval (it was approved already, or it expired)."


def approve(deps: Deps, client: WebClient, payload: BlockActionPayload, body: dict[str, Any]) -> None:
    user, channel = payload.user_id, payload.channel_id
    pending = approvals.get_pending(deps.store, payload.action.chosen)
    if pending is None:
        refuse(client, payload, NOT_WAITING, f"no held request {payload.action.chosen[:40]!r}")
        return
    if pending.request.channel != channel:
        refuse(client, payload, NOT_WAITING,
               f"held request {pending.request.id} is in {pending.request.channel}, not {channel}")
        return
    if not lead_in(deps, user, channel, client):
        refuse(client, payload, ONLY_LEADS, f"{user} is not a lead of {channel}")
        return
    approved = budget.approve_pending(deps.store, deps.settings, pending.request.id, user)
    if approved is None:
        refuse(client, payload, NOT_WAITING, f"held request {pending.request.id} was already approved")
        return
    deps.start_round(approved.request, approved.takes)
    if payload.message_ts and channel:
        text, blocks = approved_message(approved.request, user)
        try:
            client.chat_update(channel=channel, ts=payload.message_ts, text=text, parse="none", blocks=blocks)
        except SlackApiError as error:
            log.error("updating the approved refusal in %s: %s", channel, explain_slack_error(error))
