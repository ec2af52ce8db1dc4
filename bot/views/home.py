"""App Home: the open sound queue (sound team only, oldest first, overdue marked, same buttons) and,
for everyone, their own requests and where they stand. At most 100 blocks: the rest is counted, not shown."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.deps import Deps
from bot.poster import explain_slack_error
from bot.text import cut, escaped
from bot.ticket_access import on_sound_team
from bot.ticket_blocks import due_text, state_text, target_text, ticket_buttons
from jobs import tickets
from jobs.models import Request
from jobs.tickets import Ticket

log = logging.getLogger(__name__)
Block = dict[str, Any]
MAX_BLOCKS = 100
MAX_REQUEST_BLOCKS = 25


def _header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150]}}


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut(text, 2900)}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(text, 2900)}]}


def fit(items: list[list[Block]], budget: int, noun: str) -> list[Block]:
    """As many whole items as fit in `budget` blocks; when some are left out, the last block says how many."""
    out: list[Block] = []
    for index, item in enumerate(items):
        room = budget - len(out) - (1 if index < len(items) - 1 else 0)
        if len(item) > room:
            out.append(_context(f"… and {len(items) - index} more {noun} not shown."))
            return out
        out.extend(item)
    return out


def ticket_item(ticket: Ticket) -> list[Block]:
    link = f" · <{ticket.permalink}|creative thread>" if ticket.permalink else ""
    blocks: list[Block] = [
        _section(f"*{ticket.id}* · take {escaped(ticket.take_label, 20)} · {escaped(ticket.model, 60)} · "
                 f"{state_text(ticket)} · {due_text(ticket)}"),
        _context(f"{escaped(ticket.brief.picture_text() or '(no picture text)', 200)} · target "
                 f"{escaped(target_text(ticket.target), 120)} · sent by <@{ticket.lead}>{link}"),
    ]
    buttons = ticket_buttons(ticket, block_id=f"home_ticket:{ticket.id}")
    if buttons:
        blocks.append(buttons)
    return blocks


def request_item(deps: Deps, request: Request) -> list[Block]:
    takes = deps.store.takes_for(request)
    parts = []
    for take in takes:
        part = f"{take.label} {take.state.value}"
        if take.ticket:
            part += f" → {take.ticket.id} {take.ticket.status}"
        parts.append(part)
    picture = request.resolved.brief.picture_text() or "(no picture text)"
    return [_section(f"*Round {request.round}* in <#{request.channel}> · {escaped(picture, 160)} · "
                     f"*{request.state.value}*\n" + escaped(", ".join(parts) or "no takes", 600))]


def home_view(deps: Deps, client: WebClient, user: str) -> dict[str, Any]:
    sound_team = on_sound_team(deps, client, user)
    requests = deps.store.user_requests(user)
    request_blocks = [_header("Your requests")]
    if requests:
        request_blocks += fit([request_item(deps, r) for r in requests], MAX_REQUEST_BLOCKS, "requests")
    else:
        request_blocks.append(_context("No requests yet: mention @dailies with a brief in a channel or a DM."))
    blocks: list[Block] = []
    if sound_team:
        queue = tickets.open_tickets(deps.store)
        overdue = sum(t.overdue for t in queue)
        blocks.append(_header(f"Sound queue · {len(queue)} open" + (f" · {overdue} overdue" if overdue else "")))
        budget = MAX_BLOCKS - len(blocks) - len(request_blocks)
        if queue:
            blocks += fit([ticket_item(t) for t in queue], budget, "tickets (oldest shown first)")
        else:
            blocks.append(_context("The sound queue is empty."))
        if len(blocks) + len(request_blocks) < MAX_BLOCKS:
            blocks.append({"type": "divider"})
    blocks += request_blocks
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS]}


def publish_home(deps: Deps, client: WebClient, user: str) -> None:
    try:
        client.views_publish(user_id=user, view=home_view(deps, client, user))
    except SlackApiError as error:
        log.error("App Home for %s: %s", user, explain_slack_error(error))
