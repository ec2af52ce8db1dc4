"""Publishing a person's App Home: the open sound queue for the sound team, their own requests for everyone."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.home import home_view
from bot.deps import Deps
from bot.slack.access import on_sound_team
from bot.slack.errors import explain_slack_error
from jobs.domain import tickets

log = logging.getLogger(__name__)


def publish_home(deps: Deps, client: WebClient, user: str) -> None:
    requests = [(request, deps.store.takes_for(request)) for request in deps.store.user_requests(user)]
    queue = tickets.open_tickets(deps.store) if on_sound_team(deps, client, user) else None
    try:
        client.views_publish(user_id=user, view=home_view(requests, queue))
    except SlackApiError as error:
        log.error("App Home for %s: %s", user, explain_slack_error(error))


def republish_home(deps: Deps, client: WebClient, body: dict[str, Any], user: str) -> None:
    """After an action pressed in App Home, show the person the new state there."""
    if (body.get("container") or {}).get("type") != "view" or (body.get("view") or {}).get("type") != "home":
        return
    publish_home(deps, client, user)
