"""The Return modal's submission: a sound-team member's notes send the ticket back."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.deps import Deps
from bot.slack.access import ONLY_SOUND_TEAM, on_sound_team
from jobs.domain import tickets
from jobs.domain.tickets import TicketError

log = logging.getLogger(__name__)


def register(app: App) -> None:
    app.view("ticket_return_modal")(on_return_submitted)


def on_return_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext,
                        client: WebClient) -> None:
    deps: Deps = context["deps"]
    user = (body.get("user") or {}).get("id", "")
    ticket_id = str(view.get("private_metadata") or "")
    notes = (((view.get("state") or {}).get("values") or {}).get("notes") or {}).get("notes") or {}
    text = str(notes.get("value") or "").strip()
    if not tickets.valid_ticket_id(ticket_id) or tickets.get_ticket(deps.store, ticket_id) is None:
        log.warning("refused a return by %s: unknown ticket %r", user, ticket_id[:40])
        ack(response_action="errors", errors={"notes": "That sound ticket does not exist."})
        return
    if not on_sound_team(deps, client, user):
        log.warning("refused a return of %s by %s: not on the sound team", ticket_id, user)
        ack(response_action="errors", errors={"notes": ONLY_SOUND_TEAM})
        return
    if not text:
        ack(response_action="errors", errors={"notes": "Say what needs to change."})
        return
    try:
        tickets.transition(deps.store, ticket_id, "return", user, note=text[:2000])
    except TicketError as error:
        ack(response_action="errors", errors={"notes": str(error)})
        return
    ack()
    deps.enqueue("sync_ticket", ticket_id)
