"""Who people are, as Slack says, cached in Redis: user-group members (leads and the sound team can be
groups) and whether a user is a bot."""

from __future__ import annotations

import json
import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from jobs.domain.store import RedisStore

log = logging.getLogger(__name__)
GROUP_CACHE_TTL_S = 300
BOT_CACHE_TTL_S = 24 * 3600
SLACKBOT = "USLACKBOT"  # Slack's own system user: never a person, never a vote


def group_members(store: RedisStore, client: WebClient, group_id: str) -> set[str]:
    key = store.key("usergroup", group_id)
    cached = store.redis.get(key)
    if cached is not None:
        return set(json.loads(cached))
    try:
        users: list[str] = client.usergroups_users_list(usergroup=group_id).get("users", [])
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


def is_bot_user(store: RedisStore, client: WebClient, user: str) -> bool:
    """Whether `user` is a bot (users.info → is_bot), cached in Redis; an unreadable user counts as a person."""
    key = store.key("isbot", user)
    cached = store.redis.get(key)
    if cached is not None:
        return cached in (b"1", "1")
    try:
        info = client.users_info(user=user).get("user") or {}
    except SlackApiError as error:
        log.warning("users.info for %s: %s", user, error.response.get("error") if error.response else error)
        return False
    except Exception as error:  # network trouble: count the reaction as a person's, decide again next time
        log.warning("users.info for %s failed: %s", user, error)
        return False
    bot = bool(info.get("is_bot") or info.get("is_app_user")) or user == SLACKBOT
    store.redis.set(key, "1" if bot else "0", ex=BOT_CACHE_TTL_S)
    return bot


def person_name(client: WebClient, user: str) -> str:
    """What Slack shows for `user` (users.info → profile display name, else real name); the id when unreadable."""
    try:
        info = client.users_info(user=user).get("user") or {}
    except (SlackApiError, SlackClientError) as error:
        log.warning("users.info for %s: %s", user, type(error).__name__)
        return user
    profile = info.get("profile") or {}
    for name in (profile.get("display_name"), profile.get("real_name"), info.get("real_name"), info.get("name")):
        if isinstance(name, str) and name.strip():
            return name.strip()
    return user


MEMBER_PAGES = 25  # conversations.members pages of 200 looked at before giving up (5,000 members)


def in_conversation(client: WebClient, user: str, conversation: str) -> bool:
    """Whether `user` is a member of `conversation`, by Slack's own list (`conversations.members`, paged). A
    conversation the bot cannot see counts as not."""
    cursor = None
    for _ in range(MEMBER_PAGES):
        try:
            page = client.conversations_members(channel=conversation, limit=200, cursor=cursor)
        except (SlackApiError, SlackClientError):
            return False
        if user in (page.get("members") or []):
            return True
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return False
    return False


def may_post_in(client: WebClient, user: str, conversation: str) -> bool:
    """Whether a round picked in the form may go to `conversation` for `user`: any public channel, else only a
    private channel, group or DM the person is in (the picker's list is the client's word, not Slack's)."""
    try:
        info = client.conversations_info(channel=conversation).get("channel") or {}
    except (SlackApiError, SlackClientError):
        return False
    if info.get("is_channel") and not info.get("is_private") and not info.get("is_im") and not info.get("is_mpim"):
        return True
    return in_conversation(client, user, conversation)
