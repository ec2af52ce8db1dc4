"""`@dailies resound 1B Sound: heavier rain, no music` in a round's thread: the take's picture with a new sound."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.deps import Deps
from bot.flows.brief_errors import reply_brief_error
from bot.slack.payloads import MessageEvent
from jobs.domain.brief import BriefError
from jobs.domain.resound import looks_like_resound, resound_request


def handle_resound(deps: Deps, client: WebClient, message: MessageEvent, rest: str) -> bool:
    if not looks_like_resound(rest):
        return False  # "resound the bells…" is a brief
    try:
        accepted = resound_request(deps.store, deps.settings, channel=message.channel, thread_ts=message.thread,
                                   rest=rest, user=message.user or "", source_ts=message.ts)
    except BriefError as error:
        reply_brief_error(client, error, channel=message.channel, thread_ts=message.thread)
        return True
    deps.start_round(accepted.request, accepted.takes)
    return True
