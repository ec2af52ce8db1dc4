"""The one way a brief that cannot run is answered: why, and how to write it, in its thread (with the Approve
button when a limit held it for a lead)."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.blocks.approval import approval_blocks
from bot.blocks.takes import brief_error_reply
from bot.slack.reply import reply
from jobs.domain.brief import BriefError
from jobs.domain.budget import LimitError


def reply_brief_error(client: WebClient, error: BriefError, *, channel: str, thread_ts: str) -> None:
    """Say in the thread why a brief (or a round from a button) cannot run, and how to write it."""
    fallback, blocks = brief_error_reply(error.problem, error.hint)
    if isinstance(error, LimitError) and error.pending_id:  # held for a lead: the Approve button
        blocks = blocks + approval_blocks(error.pending_id)
    reply(client, fallback, channel=channel, thread_ts=thread_ts, blocks=blocks)
