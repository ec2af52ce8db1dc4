"""The Block Kit pieces every message and view is made of. Text passed in must already be escaped."""

from __future__ import annotations

from typing import Any

from bot.slack.text import cut

Block = dict[str, Any]
BLOCK_TEXT_MAX = 2900  # Slack allows 3000 characters in a section's text


def section(text: str, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": {"type": "mrkdwn", "text": cut(text, BLOCK_TEXT_MAX)}}
    if block_id:
        block["block_id"] = block_id
    return block


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(text, BLOCK_TEXT_MAX)}]}


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150]}}
