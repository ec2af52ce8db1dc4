"""*Approve* on an over-budget (or over-limit) refusal: a lead lets the held request run.

The button's value is only the id of a request held in Redis; the request, its
channel and its estimate come from Redis. Only a lead (DAILIES_LEADS or the
channel's leads) may approve; anyone else gets a quiet refusal and the request
stays held. Two leads pressing at once approve it once.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.deps import Deps
from bot.ids import SlackId
from bot.slack.access import lead_in, refuse
from bot.slack.errors import explain_slack_error
from bot.slack.payloads import parse_block_action
from bot.slack.reply import BUSY_REPLY
from jobs.domain import approvals, budget, spend

log = logging.getLogger(__name__)
ONLY_LEADS = "Only leads can approve requests over the budget or the hourly limit; nothing was queued."
NOT_WAITING = "That request is no longer waiting for approval (it was approved already, or it expired)."


def register(app: App) -> None:
    app.action(SlackId.APPROVE)(on_approve)


def on_approve(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    ack()
    deps: Deps = context["deps"]
    payload = parse_block_action(body)
    if payload is None:
        return
    user, channel = payload.user_id, payload.channel_id
    try:
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
        request = approved.request
        deps.start_round(request, approved.takes)
    except redis.RedisError as error:
        log.error("Redis unavailable while approving in %s: %s", channel, error)
        refuse(client, payload, BUSY_REPLY, "redis unavailable")
        return
    if payload.message_ts and channel:
        text = (f":white_check_mark: Approved by <@{user}>: round {request.round} is queued "
                f"(est. {spend.money(request.estimate_usd)}).")
        try:
            client.chat_update(channel=channel, ts=payload.message_ts, text=text, parse="none",
                               blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text}}])
        except SlackApiError as error:
            log.error("updating the approved refusal in %s: %s", channel, explain_slack_error(error))
