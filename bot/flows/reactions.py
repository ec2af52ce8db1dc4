"""What a reaction means: the channel's hero emoji, its cancel emoji, or a vote."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.deps import Deps
from bot.flows.cancel import handle_cancel_reaction
from bot.flows.hero import handle_hero_reaction
from bot.flows.vote import handle_vote_reaction
from bot.slack.payloads import parse_reaction
from jobs.domain.channels import load_channel_settings


def handle_reaction(body: dict[str, Any], event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    deps: Deps = context["deps"]
    reaction = parse_reaction(event)
    if reaction is None or reaction.item.type != "message" or reaction.user == context.bot_user_id:
        return
    if not reaction.item.channel or not reaction.item.ts:
        return
    event_id = body.get("event_id") if isinstance(body.get("event_id"), str) else None
    channel_settings = load_channel_settings(deps.store, reaction.item.channel)
    if reaction.emoji == channel_settings.hero_emoji:
        if reaction.added:
            handle_hero_reaction(deps, client, reaction, event_id)
        return
    if reaction.emoji == channel_settings.cancel_emoji:
        if reaction.added:
            handle_cancel_reaction(deps, client, reaction, event_id)
        return
    handle_vote_reaction(deps, client, reaction, event_id, channel_settings=channel_settings)
