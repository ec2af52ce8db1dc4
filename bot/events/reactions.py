"""`reaction_added` / `reaction_removed`: votes, the hero emoji, the cancel emoji.

This router stays thin: it finds what the reaction is on and hands it to the
handler for that kind of reaction.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

log = logging.getLogger(__name__)


def register(app: App) -> None:
    app.event("reaction_added")(on_reaction_added)
    app.event("reaction_removed")(on_reaction_removed)


def on_reaction_added(body: dict[str, Any], event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    route(body, event, context, client, added=True)


def on_reaction_removed(body: dict[str, Any], event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    route(body, event, context, client, added=False)


def route(body: dict[str, Any], event: dict[str, Any], context: BoltContext, client: WebClient, *, added: bool) -> None:
    from bot.reactions import handle_reaction

    handle_reaction(body, event, context, client, added=added)
