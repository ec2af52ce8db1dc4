"""The Approve button on a request a limit held (a brief over the budget or the hourly limit)."""

from __future__ import annotations

from bot.blocks.common import Block
from bot.ids import SlackId
from bot.slack.text import mention
from jobs.domain.models import Request
from jobs.domain.spend import money


def approval_blocks(pending_id: str) -> list[Block]:
    return [{
        "type": "actions",
        "block_id": f"approve:{pending_id}"[:255],
        "elements": [{
            "type": "button", "action_id": SlackId.APPROVE, "style": "primary",
            "text": {"type": "plain_text", "text": "Approve"}, "value": pending_id,
        }],
    }]


def approved_message(request: Request, lead: str) -> tuple[str, list[Block]]:
    """What the refusal becomes once a lead approved it."""
    text = (f":white_check_mark: Approved by {mention(lead)}: round {request.round} is queued "
            f"(est. {money(request.estimate_usd)}).")
    return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
