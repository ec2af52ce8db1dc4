"""`reaction_added` / `reaction_removed`: votes, the hero emoji, the cancel emoji (`bot.flows.reactions`)."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.flows.reactions import handle_reaction


def register(app: App) -> None:
    app.event("reaction_added")(on_reaction_added)
    app.event("reaction_removed")(on_reaction_removed)


def on_reaction_added(body: dict[str, Any], event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    handle_reaction(body, event, context, client)


def on_reaction_removed(body: dict[str, Any], event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    handle_reaction(body, event, context, client)
