"""A new round from a take's card (*Reroll*, *More like this*): the same brief, the next round in its thread."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.deps import Deps
from bot.flows.brief_errors import reply_brief_error
from bot.slack.payloads import BlockActionPayload
from jobs.domain.brief import BriefError
from jobs.domain.models import Take
from jobs.domain.rounds import reroll_request


def reroll(deps: Deps, client: WebClient, payload: BlockActionPayload, take: Take) -> None:
    """The same brief with new seeds."""
    new_round(deps, client, payload, take, similar=False)


def more_like_this(deps: Deps, client: WebClient, payload: BlockActionPayload, take: Take) -> None:
    """Takes near the pressed take's seed (or new seeds, said so)."""
    new_round(deps, client, payload, take, similar=True)


def new_round(deps: Deps, client: WebClient, payload: BlockActionPayload, take: Take, *, similar: bool) -> None:
    action, user = payload.action, payload.user_id
    if action.action_ts and not deps.store.first_time("action", f"{user}:{action.action_ts}:{action.action_id}"):
        return  # the same press delivered twice
    try:
        accepted = reroll_request(deps.store, deps.settings, take, user, similar=similar)
    except BriefError as error:
        reply_brief_error(client, error, channel=take.channel, thread_ts=take.thread_ts)
        return
    deps.start_round(accepted.request, accepted.takes)
