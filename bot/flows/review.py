"""`@dailies compare 1A 2C` in a round's thread: an A/B clip of two to four takes, each heard at one loudness."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.deps import Deps
from bot.slack.payloads import MessageEvent
from bot.slack.reply import reply
from bot.slack.text import escaped
from jobs.domain.review import ReviewError, compare_labels, looks_like_compare, takes_to_compare


def handle_compare(deps: Deps, client: WebClient, message: MessageEvent, rest: str) -> bool:
    if not looks_like_compare(rest):
        return False  # "compare the two dancers…" is a brief
    channel, thread_ts, user = message.channel, message.thread, message.user or ""
    try:
        takes = takes_to_compare(deps.store, channel, thread_ts, compare_labels(rest))
    except ReviewError as problem:
        reply(client, f":level_slider: {escaped(str(problem), 1500)}", channel=channel, thread_ts=thread_ts)
        return True
    labels = " and ".join(take.label for take in takes)
    reply(client, f":level_slider: Making an A/B of {labels}: each heard in turn at one loudness. It will appear "
                  "here.", channel=channel, thread_ts=thread_ts)
    deps.enqueue("make_compare", [take.id for take in takes], user)
    return True
