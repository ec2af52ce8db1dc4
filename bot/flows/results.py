"""`@dailies results` in a thread: the ranking of its takes, each tally first made equal to what Slack shows."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.blocks.takes import results_message
from bot.deps import Deps
from bot.slack.payloads import MessageEvent
from bot.slack.reply import reply
from jobs.domain.channels import load_channel_settings
from jobs.domain.votes import ranking
from jobs.pipeline.cards import reconcile_take


def post_results(deps: Deps, client: WebClient, message: MessageEvent) -> None:
    channel, thread_ts = message.channel, message.thread
    settings = load_channel_settings(deps.store, channel)
    for take in deps.store.thread_takes(channel, thread_ts):
        if take.message_ts:
            reconcile_take(deps.store, deps.notifier, take, settings)
    text, blocks = results_message(ranking(deps.store, channel, thread_ts))
    reply(client, text, channel=channel, thread_ts=thread_ts, blocks=blocks)
