"""Bolt's OAuth stores, in Redis: one deployment installed in many workspaces.

`RedisInstallationStore` implements slack_sdk's `InstallationStore` as its own file and SQL stores behave
(tests/test_installations.py holds it to the same expectations): the latest bot per workspace (or org, for an
org-wide install), the latest installation and each installing user's, with the latest bot token merged into
an installation found by user. It also keeps the set of installed workspaces, which is how workers find every
workspace's takes (`jobs.domain.store.WORKSPACES_KEY`). Tokens (bot, user, and their refresh tokens when
Slack's token rotation is on) are sealed at rest with `jobs.infra.sealing.Sealer`; a record written before
sealing was turned on, or with a key that is no longer the first, is re-sealed when it is read.
`RedisOAuthStateStore` issues single-use OAuth `state` values that expire.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Any

from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore
from slack_sdk.oauth.state_store import OAuthStateStore
from slack_sdk.oauth.token_rotation import TokenRotator

from jobs.domain.store import WORKSPACES_KEY
from jobs.infra.errors import ConfigError
from jobs.infra.redis_client import RedisClient
from jobs.infra.sealing import HOW_TO_MAKE_A_KEY, SealBroken, Sealer
from jobs.infra.settings import Settings

log = logging.getLogger(__name__)
NONE = "-"
TOKEN_REFRESH_BEFORE_MIN = 120  # refresh a rotating token this long before it expires (Bolt's default)
SEALED_FIELDS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token", "incoming_webhook_url")


def workspace_key(enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False) -> str:
    """One workspace (`T…`), or an org-wide install (`E…:-`)."""
    return f"{enterprise_id or NONE}:{NONE if is_enterprise_install else (team_id or NONE)}"


def tenant_of(enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None) -> str:
    """Whose records a request belongs to: the workspace (`T…`), or the whole org for an org-wide install (`E…`)."""
    return (enterprise_id or "") if is_enterprise_install else (team_id or "")


def installation_store(settings: Settings, connection: RedisClient) -> RedisInstallationStore:
    """The store of a deployment installed by OAuth: never without a key to seal its tokens."""
    sealer = Sealer.from_settings(settings)
    if sealer is None:
        raise ConfigError(f"DAILIES_SECRET_KEYS is not set: with SLACK_CLIENT_ID each workspace's bot token is kept "
                          f"in Redis, sealed with that key; {HOW_TO_MAKE_A_KEY}")
    return RedisInstallationStore(connection, settings.key_prefix, sealer)


def unopenable_workspaces(store: RedisInstallationStore) -> list[str]:
    """Installation records none of the configured keys opens (checked at start-up and by doctor)."""
    broken: list[str] = []
    for key in store.redis.scan_iter(match=f"{_glob_escape(store.prefix)}:*", count=500):
        try:
            store._load(key.decode())
        except SealBroken:
            broken.append(key.decode().removeprefix(store.prefix + ":").split(":")[1])
    return sorted(set(broken))


def fresh_bot(store: RedisInstallationStore, settings: Settings, team: str) -> Bot | None:
    """A workspace's bot, its token refreshed first when Slack's token rotation is on and it expires soon (one
    process refreshes at a time; the others read what it saved)."""
    org = team.startswith("E")
    enterprise_id, team_id = (team, None) if org else (None, team)
    bot = store.find_bot(enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=org)
    if bot is None or not bot.bot_refresh_token or not bot.bot_token_expires_at:
        return bot
    if bot.bot_token_expires_at - time.time() > TOKEN_REFRESH_BEFORE_MIN * 60:
        return bot
    lock = f"{store.prefix}:refreshing:{team}"
    if not store.redis.set(lock, "1", nx=True, ex=30):
        time.sleep(1.0)  # another process is refreshing it: take what it saves
        return store.find_bot(enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=org)
    try:
        assert settings.slack_client_id and settings.slack_client_secret
        rotator = TokenRotator(client_id=settings.slack_client_id,
                               client_secret=settings.slack_client_secret.get_secret_value(),
                               client=WebClient(base_url=settings.slack_api_url))
        refreshed = rotator.perform_bot_token_rotation(bot=bot,
                                                       minutes_before_expiration=TOKEN_REFRESH_BEFORE_MIN)
        if refreshed is not None:
            store.save_bot(refreshed)
            return refreshed
        return bot
    finally:
        store.redis.delete(lock)


class RedisInstallationStore(InstallationStore):
    def __init__(self, connection: RedisClient, prefix: str, sealer: Sealer | None = None) -> None:
        self.redis = connection
        self.prefix = f"{prefix}:slack-install"
        self.workspaces = f"{prefix}:{WORKSPACES_KEY}"
        self.sealer = sealer

    # sealing ---------------------------------------------------------------------

    def _dump(self, record: Bot | Installation) -> str:
        fields = _fields(record)
        if self.sealer is not None:
            for name in SEALED_FIELDS:
                if isinstance(fields.get(name), str) and fields[name]:
                    fields[name] = self.sealer.seal(fields[name])
        return json.dumps(fields)

    def _load(self, key: str) -> dict[str, Any] | None:
        """A stored record with its secrets opened; re-sealed in place when it was plain or under an old key."""
        raw = self.redis.get(key)
        if not raw:
            return None
        fields: dict[str, Any] = json.loads(raw)
        if self.sealer is None:
            return fields
        stale = False
        for name in SEALED_FIELDS:
            value = fields.get(name)
            if isinstance(value, str) and value:
                stale = stale or not self.sealer.is_current(value)
                fields[name] = self.sealer.open(value)
        if stale:
            resealed = json.dumps({name: self.sealer.seal(value) if name in SEALED_FIELDS and
                                   isinstance(value, str) and value else value for name, value in fields.items()})
            # Only replace what was read: a newer record written meanwhile stays.
            self.redis.eval(_REPLACE_IF_SAME, 1, key, raw, resealed)
        return fields

    def reseal_all(self) -> tuple[int, list[str]]:
        """Every record sealed with the first key (`dailies rotate-keys`): how many changed, and the keys of
        records no configured key opens."""
        changed, broken = 0, []
        for key in self.redis.scan_iter(match=f"{_glob_escape(self.prefix)}:*", count=500):
            before = self.redis.get(key)
            try:
                self._load(key.decode())
            except SealBroken:
                broken.append(key.decode())
                continue
            changed += int(before is not None and self.redis.get(key) != before)
        return changed, broken

    @property
    def logger(self) -> logging.Logger:
        return log

    def _key(self, workspace: str, *parts: str) -> str:
        return ":".join((self.prefix, workspace, *parts))

    def _installations_pattern(self, workspace: str) -> str:
        """Every installation record of one workspace. The ids come from Slack's payloads: escaped, so a team
        id such as `*` matches only itself, never every workspace."""
        return _glob_escape(self._key(workspace, "installation")) + ":*"

    # saving ----------------------------------------------------------------------

    def save(self, installation: Installation) -> None:
        workspace = workspace_key(installation.enterprise_id, installation.team_id,
                                  installation.is_enterprise_install)
        data = self._dump(installation)
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
            pipe.set(self._key(workspace, "bot"), self._dump(bot))
            pipe.sadd(self.workspaces, tenant_of(bot.enterprise_id, bot.team_id, bot.is_enterprise_install))
            pipe.execute()

    # finding ---------------------------------------------------------------------

    def find_bot(self, *, enterprise_id: str | None, team_id: str | None,
                 is_enterprise_install: bool | None = False) -> Bot | None:
        fields = self._load(self._key(workspace_key(enterprise_id, team_id, is_enterprise_install), "bot"))
        return Bot(**fields) if fields else None

    def find_installation(self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None,
                          is_enterprise_install: bool | None = False) -> Installation | None:
        workspace = workspace_key(enterprise_id, team_id, is_enterprise_install)
        key = self._key(workspace, "installation", "user", user_id) if user_id is not None \
            else self._key(workspace, "installation", "latest")
        fields = self._load(key)
        if not fields:
            return None
        installation = Installation(**fields)
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
            keys = list(self.redis.scan_iter(match=self._installations_pattern(workspace), count=500))
            if keys:
                self.redis.delete(*keys)


    def delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """A workspace's bot and every installation in one transaction (Bolt calls this on `app_uninstalled`):
        no request reads an installation whose bot is already gone."""
        keys: list[Any] = []
        for is_org in (False, True):
            workspace = workspace_key(enterprise_id, team_id, is_org)
            keys.append(self._key(workspace, "bot"))
            keys += self.redis.scan_iter(match=self._installations_pattern(workspace), count=500)
        tenants = {tenant_of(enterprise_id, team_id, False), tenant_of(enterprise_id, team_id, True)} - {""}
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(*keys)
            if tenants:
                pipe.srem(self.workspaces, *tenants)
            pipe.execute()


_REPLACE_IF_SAME = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL') return 1 end
return 0
"""


def _glob_escape(text: str) -> str:
    """`text` as a literal inside a Redis MATCH pattern."""
    return "".join("\\" + char if char in "*?[]\\" else char for char in text)


def _fields(record: Bot | Installation) -> dict[str, Any]:
    """What the record's constructor takes back (slack_sdk's own stores serialise `__dict__` the same way)."""
    return {key: value for key, value in record.__dict__.items() if not key.startswith("_")}


class RedisOAuthStateStore(OAuthStateStore):
    """OAuth `state` values: unguessable, single use, gone after `expiration_s`, and bounded: anyone can open the
    install page, so each address may start `PER_ADDRESS_PER_MIN` installs a minute and at most `MAX_LIVE`
    states wait at once (an index of them, by expiry, is trimmed as it goes)."""

    PER_ADDRESS_PER_MIN = 10
    MAX_LIVE = 500

    def __init__(self, connection: RedisClient, prefix: str, expiration_s: int = 600) -> None:
        self.redis = connection
        self.prefix = f"{prefix}:oauth-state"
        self.index = f"{prefix}:oauth-states"
        self.expiration_s = expiration_s

    def admit(self, address: str) -> bool:
        """Whether an install may start now from `address` (before Bolt issues its state)."""
        now = time.time()
        key = f"{self.prefix}-rate:{address[:64]}:{int(now // 60)}"
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, 120)
            pipe.zremrangebyscore(self.index, "-inf", now)
            pipe.zcard(self.index)
            started, _, _, live = pipe.execute()
        return int(started) <= self.PER_ADDRESS_PER_MIN and int(live) < self.MAX_LIVE

    @property
    def logger(self) -> logging.Logger:
        return log

    def issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(24)
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(f"{self.prefix}:{state}", "1", ex=self.expiration_s)
            pipe.zadd(self.index, {state: time.time() + self.expiration_s})
            pipe.execute()
        return state

    def consume(self, state: str) -> bool:
        if not state or len(state) > 200:
            return False
        self.redis.zrem(self.index, state)
        return self.redis.getdel(f"{self.prefix}:{state}") is not None
