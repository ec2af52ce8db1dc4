"""`@dailies results` in a thread: the ranking of its takes."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from bot.blocks.takes import results_message
from bot.deps import Deps
from bot.slack.reply import reply
from jobs.domain.votes import ranking


def post_results(deps: Deps, client: WebClient, event: dict[str, Any], thread_ts: str) -> None:
    channel = event["channel"]
    text, blocks = results_message(ranking(deps.store, channel, thread_ts))
    reply(client, text, channel=channel, thread_ts=thread_ts, blocks=blocks)
