"""`app_home_opened`: publish the person's App Home (sound queue for the sound team, own requests for all)."""

from __future__ import annotations

import logging
from typing import Any

import redis
from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.home import publish_home

log = logging.getLogger(__name__)


def register(app: App) -> None:
    app.event("app_home_opened")(on_app_home_opened)


def on_app_home_opened(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    user = event.get("user")
    if event.get("tab", "home") != "home" or not user or user == context.bot_user_id:
        return
    try:
        publish_home(context["deps"], client, user)
    except redis.RedisError as error:
        log.error("redis unavailable while publishing App Home for %s: %s", user, error)
