"""App Home: the open sound queue (sound team only, oldest first, overdue marked, same buttons) and,
for everyone, their own requests and where they stand. At most 100 blocks: the rest is counted, not shown."""

from __future__ import annotations

from typing import Any

from bot.blocks.common import Block, context, header, section
from bot.blocks.tickets import due_text, state_text, target_text, ticket_buttons
from bot.slack.text import escaped
from jobs.domain.models import Request, Take
from jobs.domain.tickets import Ticket

MAX_BLOCKS = 100
MAX_REQUEST_BLOCKS = 25


def fit(items: list[list[Block]], budget: int, noun: str) -> list[Block]:
    """As many whole items as fit in `budget` blocks; when some are left out, the last block says how many."""
    out: list[Block] = []
    for index, item in enumerate(items):
        room = budget - len(out) - (1 if index < len(items) - 1 else 0)
        if len(item) > room:
            out.append(context(f"… and {len(items) - index} more {noun} not shown."))
            return out
        out.extend(item)
    return out


def ticket_item(ticket: Ticket) -> list[Block]:
    link = f" · <{ticket.permalink}|creative thread>" if ticket.permalink else ""
    blocks: list[Block] = [
        section(f"*{ticket.id}* · take {escaped(ticket.take_label, 20)} · {escaped(ticket.model, 60)} · "
                 f"{state_text(ticket)} · {due_text(ticket)}"),
        context(f"{escaped(ticket.brief.picture_text() or '(no picture text)', 200)} · target "
                 f"{escaped(target_text(ticket.target), 120)} · sent by <@{ticket.lead}>{link}"),
    ]
    buttons = ticket_buttons(ticket, block_id=f"home_ticket:{ticket.id}")
    if buttons:
        blocks.append(buttons)
    return blocks


def request_item(request: Request, takes: list[Take]) -> list[Block]:
    parts = []
    for take in takes:
        part = f"{take.label} {take.state.value}"
        if take.ticket:
            part += f" → {take.ticket.id} {take.ticket.status}"
        parts.append(part)
    picture = request.resolved.brief.picture_text() or "(no picture text)"
    return [section(f"*Round {request.round}* in <#{request.channel}> · {escaped(picture, 160)} · "
                     f"*{request.state.value}*\n" + escaped(", ".join(parts) or "no takes", 600))]


MAX_BIBLE_BLOCKS = 12


def bible_blocks(bibles: dict[str, str]) -> list[Block]:
    """The sound bibles of the person's channels: the sonic identity every brief there carries."""
    if not bibles:
        return []
    items = [[section(f":scroll: <#{channel}> · " + escaped(bible, 600))] for channel, bible in sorted(bibles.items())]
    return [header("Sound bibles in your channels"), *fit(items, MAX_BIBLE_BLOCKS - 1, "channels")]


def home_view(requests: list[tuple[Request, list[Take]]], queue: list[Ticket] | None,
              bibles: dict[str, str] | None = None) -> dict[str, Any]:
    """The App Home tab: the sound queue (`queue`, None for people not on the sound team), then the person's
    own requests, then the sound bibles of the channels they are in."""
    request_blocks = [header("Your requests")]
    if requests:
        request_blocks += fit([request_item(r, takes) for r, takes in requests], MAX_REQUEST_BLOCKS, "requests")
    else:
        request_blocks.append(context("No requests yet: mention @dailies with a brief in a channel or a DM."))
    blocks: list[Block] = []
    if queue is not None:
        overdue = sum(t.overdue for t in queue)
        blocks.append(header(f"Sound queue · {len(queue)} open" + (f" · {overdue} overdue" if overdue else "")))
        budget = MAX_BLOCKS - len(blocks) - len(request_blocks)
        if queue:
            blocks += fit([ticket_item(t) for t in queue], budget, "tickets (oldest shown first)")
        else:
            blocks.append(context("The sound queue is empty."))
        if len(blocks) + len(request_blocks) < MAX_BLOCKS:
            blocks.append({"type": "divider"})
    blocks += request_blocks
    bible = bible_blocks(bibles or {})
    if bible and len(blocks) + len(bible) + 1 <= MAX_BLOCKS:
        blocks += [{"type": "divider"}, *bible]
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS]}
