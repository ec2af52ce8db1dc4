"""*Cancel* on a sound ticket: leads only."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.deps import Deps
from bot.ticket_access import action_place, action_ticket, lead_in, republish_home, tell
from jobs import tickets
from jobs.tickets import TicketError


def register(app: App) -> None:
    app.action("ticket_cancel")(on_cancel)


def on_cancel(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    ack()
    deps: Deps = context["deps"]
    user = (body.get("user") or {}).get("id", "")
    channel, thread_ts = action_place(body)
    ticket = action_ticket(deps, client, body, str(action.get("value") or ""), user)
    if ticket is None:
        return
    if not lead_in(deps, client, user, ticket.channel):
        tell(client, user, "Only leads can cancel sound tickets.", channel=channel, thread_ts=thread_ts)
        return
    try:
        tickets.transition(deps.store, ticket.id, "cancel", user)
    except TicketError as error:
        tell(client, user, str(error), channel=channel, thread_ts=thread_ts)
        return
    deps.enqueue("sync_ticket", ticket.id)
    republish_home(deps, client, body, user)
