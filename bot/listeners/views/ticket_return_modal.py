"""The Return modal's submission: a sound-team member's notes send the ticket back."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.deps import Deps
from bot.flows.ticket_return import return_form_key
from bot.ids import SlackId
from bot.slack.access import ONLY_SOUND_TEAM
from jobs.domain import tickets
from jobs.domain.tickets import TicketError

log = logging.getLogger(__name__)


def register(app: App) -> None:
    app.view(SlackId.TICKET_RETURN_MODAL)(on_return_submitted)


def on_return_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext,
                        client: WebClient) -> None:
    deps: Deps = context["deps"]
    user = (body.get("user") or {}).get("id", "")
    ticket_id = str(view.get("private_metadata") or "")
    notes = (((view.get("state") or {}).get("values") or {}).get("notes") or {}).get("notes") or {}
    text = str(notes.get("value") or "").strip()
    # Validated from Redis alone (Slack waits 3 s for this answer): the form was granted to this person when
    # *Return* was pressed, after the full check there (sound team, claimant or lead).
    if not tickets.valid_ticket_id(ticket_id) or tickets.get_ticket(deps.store, ticket_id) is None:
        log.warning("refused a return by %s: unknown ticket %r", user, ticket_id[:40])
        ack(response_action="errors", errors={"notes": "That sound ticket does not exist."})
        return
    if not deps.store.redis.exists(return_form_key(deps, ticket_id, user)):
        log.warning("refused a return of %s by %s: no return form was opened for them", ticket_id, user)
        ack(response_action="errors", errors={"notes": f"{ONLY_SOUND_TEAM} (Or the form expired: press Return "
                                                       "again.)"})
        return
    if not text:
        ack(response_action="errors", errors={"notes": "Say what needs to change."})
        return
    try:
        tickets.transition(deps.store, ticket_id, "return", user, note=text[:2000])
    except TicketError as error:
        ack(response_action="errors", errors={"notes": str(error)})  # a form error shows no markup
        return
    ack()
    deps.store.redis.delete(return_form_key(deps, ticket_id, user))
    deps.enqueue("sync_ticket", ticket_id)
