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
from jobs.domain.channels import sound_bibles

log = logging.getLogger(__name__)


def publish_home(deps: Deps, client: WebClient, user: str) -> None:
    requests = [(request, deps.store.takes_for(request)) for request in deps.store.user_requests(user)]
    queue = tickets.open_tickets(deps.store) if on_sound_team(deps, client, user) else None
    bibles = sound_bibles(deps.store)
    mine = channels_of(client, user) if bibles else set()
    bibles = {channel: bible for channel, bible in bibles.items() if mine is not None and channel in mine}
    try:
        client.views_publish(user_id=user, view=home_view(requests, queue, bibles))
    except SlackApiError as error:
        log.error("App Home for %s: %s", user, explain_slack_error(error))


def channels_of(client: WebClient, user: str, pages: int = 10) -> set[str] | None:
    """The public and private channels `user` is in that the bot can see; None when Slack will not say (an
    install from before Dailies asked for channels:read and groups:read)."""
    found: set[str] = set()
    cursor = None
    for _ in range(pages):
        try:
            response = client.users_conversations(user=user, types="public_channel,private_channel",
                                                  exclude_archived=True, limit=200, cursor=cursor)
        except SlackApiError as error:
            log.warning("App Home for %s: channels unknown, sound bibles left out: %s", user,
                        explain_slack_error(error))
            return None
        found.update(c["id"] for c in response.get("channels") or [] if isinstance(c, dict) and c.get("id"))
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    return found


def republish_home(deps: Deps, client: WebClient, body: dict[str, Any], user: str) -> None:
    """After an action pressed in App Home, show the person the new state there."""
    if (body.get("container") or {}).get("type") != "view" or (body.get("view") or {}).get("type") != "home":
        return
    publish_home(deps, client, user)
