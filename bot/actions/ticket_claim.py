"""*Claim* on a sound ticket: a sound-team member takes it on."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.deps import Deps
from bot.ticket_access import action_place, action_ticket, on_sound_team, republish_home, tell
from jobs import tickets
from jobs.tickets import TicketError

ONLY_SOUND_TEAM = "Only the sound team can claim, deliver or return sound tickets."


def register(app: App) -> None:
    app.action("ticket_claim")(on_claim)


def on_claim(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    ack()
    deps: Deps = context["deps"]
    user = (body.get("user") or {}).get("id", "")
    channel, thread_ts = action_place(body)
    ticket = action_ticket(deps, client, body, str(action.get("value") or ""), user)
    if ticket is None:
        return
    if not on_sound_team(deps, client, user):
        tell(client, user, ONLY_SOUND_TEAM, channel=channel, thread_ts=thread_ts)
        return
    try:
        tickets.transition(deps.store, ticket.id, "claim", user)
    except TicketError as error:
        tell(client, user, str(error), channel=channel, thread_ts=thread_ts)
        return
    deps.enqueue("sync_ticket", ticket.id)
    republish_home(deps, client, body, user)
