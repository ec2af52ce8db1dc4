"""*Deliver* on a sound ticket: delivery is an upload of the final mix into the ticket's thread; this says how."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.actions.ticket_claim import ONLY_SOUND_TEAM
from bot.deps import Deps
from bot.ticket_access import action_place, action_ticket, on_sound_team, tell
from bot.ticket_blocks import target_text
from jobs.tickets import TicketState


def register(app: App) -> None:
    app.action("ticket_deliver")(on_deliver)


def on_deliver(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, client: WebClient) -> None:
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
    tell(client, user, text, channel=channel, thread_ts=ticket.queue_ts if channel else None)
