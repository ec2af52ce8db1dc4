"""Bolt's OAuth stores, in Redis: one deployment installed in many workspaces.

`RedisInstallationStore` implements slack_sdk's `InstallationStore` as its own file and SQL stores behave
(tests/test_installations.py holds it to the same expectations): the latest bot per workspace (or org, for an
org-wide install), the latest installation and each installing user's, with the latest bot token merged into
an installation found by user. It also keeps the set of installed workspaces, which is how workers find every
workspace's takes (`jobs.infra.store.WORKSPACES_KEY`). `RedisOAuthStateStore` issues single-use OAuth
`state` values that expire.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

import redis
from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore
from slack_sdk.oauth.state_store import OAuthStateStore

from jobs.infra.store import WORKSPACES_KEY

log = logging.getLogger(__name__)
NONE = "-"


def workspace_key(enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False) -> str:
    """One workspace (`T…`), or an org-wide install (`E…:-`)."""
    return f"{enterprise_id or NONE}:{NONE if is_enterprise_install else (team_id or NONE)}"


def tenant_of(enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None) -> str:
    """Whose records a request belongs to: the workspace (`T…`), or the whole org for an org-wide install (`E…`)."""
    return (enterprise_id or "") if is_enterprise_install else (team_id or "")


class RedisInstallationStore(InstallationStore):
    def __init__(self, connection: redis.Redis, prefix: str) -> None:
        self.redis = connection
        self.prefix = f"{prefix}:slack-install"
        self.workspaces = f"{prefix}:{WORKSPACES_KEY}"

    @property
    def logger(self) -> logging.Logger:
        return log

    def _key(self, workspace: str, *parts: str) -> str:
        return ":".join((self.prefix, workspace, *parts))

    # saving ----------------------------------------------------------------------

    def save(self, installation: Installation) -> None:
        workspace = workspace_key(installation.enterprise_id, installation.team_id,
                                  installation.is_enterprise_install)
        data = json.dumps(_fields(installation))
        with self.redis.pipeline() as pipe:
            pipe.set(self._key(workspace, "installation", "latest"), data)
            pipe.set(self._key(workspace, "installation", "user", installation.user_id or NONE), data)
            pipe.execute()
        self.save_bot(installation.to_bot())

    def save_bot(self, bot: Bot) -> None:
        if bot.bot_token is None:
            return
        workspace = workspace_key(bot.enterprise_id, bot.team_id, bot.is_enterprise_install)
        with self.redis.pipeline() as pipe:
            pipe.set(self._key(workspace, "bot"), json.dumps(_fields(bot)))
            pipe.sadd(self.workspaces, tenant_of(bot.enterprise_id, bot.team_id, bot.is_enterprise_install))
            pipe.execute()

    # finding ---------------------------------------------------------------------

    def find_bot(self, *, enterprise_id: str | None, team_id: str | None,
                 is_enterprise_install: bool | None = False) -> Bot | None:
        raw = self.redis.get(self._key(workspace_key(enterprise_id, team_id, is_enterprise_install), "bot"))
        return Bot(**json.loads(raw)) if raw else None

    def find_installation(self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None,
                          is_enterprise_install: bool | None = False) -> Installation | None:
        workspace = workspace_key(enterprise_id, team_id, is_enterprise_install)
        key = self._key(workspace, "installation", "user", user_id) if user_id is not None \
            else self._key(workspace, "installation", "latest")
        raw = self.redis.get(key)
        if not raw:
            return None
        installation = Installation(**json.loads(raw))
        if user_id is not None or installation.bot_token is None:
            # The user's own record may hold an older bot token: the workspace's latest bot wins.
            bot = self.find_bot(enterprise_id=enterprise_id, team_id=team_id,
                                is_enterprise_install=is_enterprise_install)
            if bot is not None and bot.bot_token != installation.bot_token:
                installation.bot_id, installation.bot_user_id = bot.bot_id, bot.bot_user_id
                installation.bot_token, installation.bot_scopes = bot.bot_token, bot.bot_scopes
                installation.bot_refresh_token = bot.bot_refresh_token
                installation.bot_token_expires_at = bot.bot_token_expires_at
        return installation

    # deleting (uninstalls, revoked tokens) ------------------------------------------

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        for is_org in (False, True):
            self.redis.delete(self._key(workspace_key(enterprise_id, team_id, is_org), "bot"))
        self.redis.srem(self.workspaces, *{tenant_of(enterprise_id, team_id, False),
                                           tenant_of(enterprise_id, team_id, True)} - {""})

    def delete_installation(self, *, enterprise_id: str | None, team_id: str | None,
                            user_id: str | None = None) -> None:
        for is_org in (False, True):
            workspace = workspace_key(enterprise_id, team_id, is_org)
            if user_id is not None:
                self.redis.delete(self._key(workspace, "installation", "user", user_id))
                continue
            keys = list(self.redis.scan_iter(match=self._key(workspace, "installation", "*"), count=500))
            if keys:
                self.redis.delete(*keys)


    def delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """A workspace's bot and every installation in one transaction (Bolt calls this on `app_uninstalled`):
        no request reads an installation whose bot is already gone."""
        keys: list[Any] = []
        for is_org in (False, True):
            workspace = workspace_key(enterprise_id, team_id, is_org)
            keys.append(self._key(workspace, "bot"))
            keys += self.redis.scan_iter(match=self._key(workspace, "installation", "*"), count=500)
        tenants = {tenant_of(enterprise_id, team_id, False), tenant_of(enterprise_id, team_id, True)} - {""}
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(*keys)
            if tenants:
                pipe.srem(self.workspaces, *tenants)
            pipe.execute()


def _fields(record: Bot | Installation) -> dict[str, Any]:
    """What the record's constructor takes back (slack_sdk's own stores serialise `__dict__` the same way)."""
    return {key: value for key, value in record.__dict__.items() if not key.startswith("_")}


class RedisOAuthStateStore(OAuthStateStore):
    """OAuth `state` values: unguessable, single use, gone after `expiration_s`."""

    def __init__(self, connection: redis.Redis, prefix: str, expiration_s: int = 600) -> None:
        self.redis = connection
        self.prefix = f"{prefix}:oauth-state"
        self.expiration_s = expiration_s

    @property
    def logger(self) -> logging.Logger:
        return log

    def issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(24)
        self.redis.set(f"{self.prefix}:{state}", "1", ex=self.expiration_s)
        return state

    def consume(self, state: str) -> bool:
        if not state or len(state) > 200:
            return False
        return self.redis.getdel(f"{self.prefix}:{state}") is not None
