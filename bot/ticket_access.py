"""Who may do what to a sound ticket, decided from settings and Redis; quiet refusals to everyone else."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.auth import lead_in
from bot.deps import Deps
from bot.people import is_sound_team
from bot.poster import explain_slack_error
from jobs import tickets
from jobs.tickets import Ticket, TicketError

log = logging.getLogger(__name__)
ONLY_LEADS_FLAG = "Only leads can send takes to sound."


def on_sound_team(deps: Deps, client: WebClient, user: str) -> bool:
    return is_sound_team(deps.store, client, user, deps.settings.sound_team)


def tell(client: WebClient, user: str, text: str, *, channel: str | None, thread_ts: str | None = None) -> None:
    """An ephemeral note in `channel`, or a DM when the action came from App Home (no channel)."""
    try:
        if channel:
            client.chat_postEphemeral(channel=channel, user=user, text=text, thread_ts=thread_ts)
        else:
            client.chat_postMessage(channel=user, text=text, parse="none")
    except SlackApiError as error:
        log.warning("could not tell %s: %s", user, explain_slack_error(error))


def action_place(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """(channel, thread_ts) an action was pressed in; (None, None) for App Home and modals."""
    container = body.get("container") or {}
    if container.get("type") == "view":
        return None, None
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    message = body.get("message") or {}
    return channel, message.get("thread_ts") or None


def action_ticket(deps: Deps, client: WebClient, body: dict[str, Any], value: str, user: str) -> Ticket | None:
    """Load the ticket an action's value names; refuse (and log) forged or unknown ids."""
    channel, thread_ts = action_place(body)
    ticket = tickets.get_ticket(deps.store, value) if tickets.valid_ticket_id(value) else None
    if ticket is None:
        log.warning("refused a ticket action by %s: unknown ticket %r", user, value[:40])
        tell(client, user, "That sound ticket does not exist.", channel=channel, thread_ts=thread_ts)
        return None
    if channel and channel != ticket.queue_channel:
        log.warning("refused a ticket action by %s: %s pressed in %s, not its queue channel", user, ticket.id, channel)
        tell(client, user, f"{ticket.id} is not handled in this channel.", channel=channel, thread_ts=thread_ts)
        return None
    return ticket


def republish_home(deps: Deps, client: WebClient, body: dict[str, Any], user: str) -> None:
    """After an action pressed in App Home, show the person the new state there."""
    if (body.get("container") or {}).get("type") != "view" or (body.get("view") or {}).get("type") != "home":
        return
    from bot.views.home import publish_home

    publish_home(deps, client, user)


ONLY_SOUND_TEAM = "Only the sound team can claim, deliver or return sound tickets."
ONLY_LEADS_CANCEL = "Only leads can cancel sound tickets."


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
        tell(self.client, self.user, text, channel=self.channel, thread_ts=self.thread_ts)

    def transition(self, action: str, **details: Any) -> bool:
        """Move the ticket, mirror the change everywhere, refresh App Home; say why when the move is refused."""
        try:
            tickets.transition(self.deps.store, self.ticket.id, action, self.user, **details)
        except TicketError as error:
            self.tell(str(error))
            return False
        self.deps.enqueue("sync_ticket", self.ticket.id)
        republish_home(self.deps, self.client, self.body, self.user)
        return True


def ticket_press(body: dict[str, Any], action: dict[str, Any], deps: Deps, client: WebClient, *,
                 leads_only: bool = False) -> TicketPress | None:
    """The pressed ticket when it exists, was pressed in its queue channel (or App Home) and the presser is on
    the sound team (or, with `leads_only`, a lead); otherwise None after a quiet, logged refusal."""
    user = (body.get("user") or {}).get("id", "")
    channel, thread_ts = action_place(body)
    ticket = action_ticket(deps, client, body, str(action.get("value") or ""), user)
    if ticket is None:
        return None
    allowed = lead_in(deps, user, ticket.channel, client) if leads_only else on_sound_team(deps, client, user)
    if not allowed:
        log.warning("refused %s on %s by %s: not %s", action.get("action_id"), ticket.id, user,
                    "a lead" if leads_only else "on the sound team")
        tell(client, user, ONLY_LEADS_CANCEL if leads_only else ONLY_SOUND_TEAM, channel=channel, thread_ts=thread_ts)
        return None
    return TicketPress(deps, client, body, user, channel, thread_ts, ticket)
