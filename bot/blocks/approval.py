"""The Approve button on a request a limit held (a brief over the budget or the hourly limit)."""

from __future__ import annotations

from bot.blocks.common import Block
from bot.ids import SlackId


def approval_blocks(pending_id: str) -> list[Block]:
    return [{
        "type": "actions",
        "block_id": f"approve:{pending_id}"[:255],
        "elements": [{
            "type": "button", "action_id": SlackId.APPROVE, "style": "primary",
            "text": {"type": "plain_text", "text": "Approve"}, "value": pending_id,
        }],
    }]
