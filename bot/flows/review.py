"""Fair review from a message: `@dailies compare 1A 2C` in a round's thread (an A/B clip of two to four takes, each
heard at one loudness) and `@dailies reel` in a channel (the day's selects in one clip)."""

from __future__ import annotations

import time

from slack_sdk import WebClient

from bot.deps import Deps
from bot.slack.payloads import MessageEvent
from bot.slack.reply import reply
from bot.slack.text import escaped
from jobs.domain.reel import day_selects
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


def request_reel(deps: Deps, client: WebClient, message: MessageEvent) -> None:
    """`@dailies reel`: the day's reel, cut by a worker; a short answer when there is nothing to cut."""
    now = time.time()
    selects = day_selects(deps.store, message.channel, now)
    if not selects:
        reply(client, "No takes were posted here in the last 24 hours, so there is no reel today.",
              channel=message.channel, thread_ts=message.thread_ts)
        return
    threads = len(selects)
    reply(client, f":film_frames: Cutting the day's reel: the top-voted take of {threads} thread"
                  f"{'s' if threads != 1 else ''}, every sound at one loudness. It will be posted in this channel.",
          channel=message.channel, thread_ts=message.thread_ts)
    deps.enqueue("make_reel", message.channel, now, message.user)
