"""Who is a lead and who is on the sound team: user ids and/or user-group ids, memberships cached in Redis."""

from __future__ import annotations

import json
import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from jobs.store import RedisStore

log = logging.getLogger(__name__)
GROUP_CACHE_TTL_S = 300


def group_members(store: RedisStore, client: WebClient, group_id: str) -> set[str]:
    key = store.key("usergroup", group_id)
    cached = store.redis.get(key)
    if cached is not None:
        return set(json.loads(cached))
    try:
        users = client.usergroups_users_list(usergroup=group_id).get("users", [])
    except SlackApiError as error:
        log.warning("cannot read user group %s: %s", group_id, error.response.get("error"))
        return set()
    store.redis.set(key, json.dumps(sorted(users)), ex=GROUP_CACHE_TTL_S)
    return set(users)


def is_member(store: RedisStore, client: WebClient, user: str, entries: list[str]) -> bool:
    """True when `user` is one of `entries` (user ids) or in one of its user groups (ids starting with S)."""
    if user in entries:
        return True
    return any(entry.startswith("S") and user in group_members(store, client, entry) for entry in entries)


def is_lead(store: RedisStore, client: WebClient, user: str, leads: list[str], channel_leads: list[str] = ()) -> bool:
    return is_member(store, client, user, [*leads, *channel_leads])


def is_sound_team(store: RedisStore, client: WebClient, user: str, sound_team: list[str]) -> bool:
    return is_member(store, client, user, sound_team)
