"""What a reaction means: the channel's hero emoji, its cancel emoji, or a vote."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.deps import Deps
from bot.events.reactions import base_emoji
from jobs.channels import load_channel_settings


def handle_reaction(body: dict[str, Any], event: dict[str, Any], context: BoltContext, client: WebClient, *,
                    added: bool) -> None:
    deps: Deps = context["deps"]
    item = event.get("item") or {}
    user = event.get("user")
    if item.get("type") != "message" or not user or user == context.bot_user_id:
        return
    emoji = base_emoji(event.get("reaction", ""))
    channel_settings = load_channel_settings(deps.store, item.get("channel", ""))
    if emoji == channel_settings.hero_emoji:
        if added:
            try:
                from bot.hero import handle_hero_reaction
            except ImportError:
                return
            handle_hero_reaction(deps, client, body, event)
        return
    if emoji == channel_settings.cancel_emoji:
        if added:
            try:
                from bot.cancel import handle_cancel_reaction
            except ImportError:
                return
            handle_cancel_reaction(deps, client, body, event)
        return
    try:
        from bot.votes import handle_vote_reaction
    except ImportError:
        return
    handle_vote_reaction(deps, client, body, event, added=added, channel_settings=channel_settings)
