"""The Bolt app factory: one App, its dependencies injected into every listener's context."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import redis
from slack_bolt import App, BoltContext, BoltResponse
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient

from bot import listeners
from bot.deps import Deps, build_deps
from bot.slack.client import make_web_client
from bot.slack.installations import (
    TOKEN_REFRESH_BEFORE_MIN,
    RedisOAuthStateStore,
    installation_store,
    tenant_of,
)
from bot.slack.payloads import PayloadGuard
from jobs.infra.logs import install_secret_scrubber
from jobs.infra.redis_client import RedisClient
from jobs.infra.settings import Settings

log = logging.getLogger(__name__)


# What the app asks a workspace for when it is installed (the same list as manifest.yml's bot scopes).
BOT_SCOPES = [
    "app_mentions:read", "commands", "im:write", "channels:history", "groups:history", "im:history",
    "mpim:history", "chat:write", "files:write", "files:read", "reactions:read", "usergroups:read", "users:read",
    "channels:read", "groups:read", "im:read", "mpim:read",
]
LISTENER_THREADS = 5  # Bolt's default
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"


def oauth_authorize(settings: Settings, oauth: OAuthSettings, client: WebClient) -> InstallationStoreAuthorize:
    """Bolt's authorize for installed workspaces, refreshing rotating tokens through SLACK_API_URL (Bolt's own
    would always call slack.com)."""
    assert settings.slack_client_id and settings.slack_client_secret
    return InstallationStoreAuthorize(
        logger=log, installation_store=oauth.installation_store, client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),
        token_rotation_expiration_minutes=TOKEN_REFRESH_BEFORE_MIN, client=client,
    )


def oauth_settings(settings: Settings, connection: RedisClient) -> OAuthSettings:
    """Bolt's OAuth v2 flow with its installations (tokens sealed) and `state` values in Redis. Where Slack's
    token rotation is on, Bolt refreshes a workspace's token before it expires and saves the new one."""
    assert settings.slack_client_id and settings.slack_client_secret
    redirect = f"{settings.public_url}{REDIRECT_PATH}" if settings.public_url else None
    return OAuthSettings(
        client_id=settings.slack_client_id, client_secret=settings.slack_client_secret.get_secret_value(),
        scopes=BOT_SCOPES, redirect_uri=redirect, install_path=INSTALL_PATH, redirect_uri_path=REDIRECT_PATH,
        installation_store=installation_store(settings, connection),
        state_store=RedisOAuthStateStore(connection, settings.key_prefix),
        token_rotation_expiration_minutes=TOKEN_REFRESH_BEFORE_MIN,
    )


def build_app(settings: Settings, *, client: WebClient | None = None, deps: Deps | None = None) -> App:
    install_secret_scrubber(settings.secret_values())
    if settings.oauth_enabled:  # each workspace's own token comes from the installation store, per request
        settings_without_token = settings.model_copy(update={"slack_bot_token": None})
        client = client if client is not None and client.token is None else make_web_client(settings_without_token)
    client = client or make_web_client(settings)
    deps = deps or build_deps(settings, client)
    oauth = oauth_settings(settings, deps.store.redis) if settings.oauth_enabled else None
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
        request_verification_enabled=True,
        token_verification_enabled=not settings.oauth_enabled,
        oauth_settings=oauth,
        listener_executor=ContextCarryingExecutor(max_workers=LISTENER_THREADS),
        # Bolt takes an `Authorize` object as well as a function (its own OAuth path builds one); its hint says only
        # the function.
        authorize=oauth_authorize(settings, oauth, client) if oauth is not None else None,  # type: ignore[arg-type]
    )
    if settings.oauth_enabled:
        # `app_uninstalled` and `tokens_revoked` delete that workspace's installation (Bolt's own listeners).
        app.enable_token_revocation_listeners()

    app.use(PayloadGuard())

    @app.middleware
    def inject_deps(context: BoltContext, next: Callable[[], None]) -> None:  # noqa: A002 - Bolt's argument name
        # One workspace's records, jobs and token (an OAuth install), or the single deployment's.
        tenant = tenant_of(context.enterprise_id, context.team_id, context.is_enterprise_install)
        context["deps"] = deps.for_team(tenant or None, context.bot_token)
        next()

    app.middleware(channel_allowlist(settings))
    app.error(listener_error)

    listeners.register(app)
    return app


class ContextCarryingExecutor(ThreadPoolExecutor):
    """Bolt's listener thread pool, each listener run in the context of the request that acked it (so its log
    lines carry the team and channel `bot.server` bound)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)


def channel_allowlist(settings: Settings) -> Callable[..., BoltResponse | None]:
    """With DAILIES_CHANNELS set, events, buttons and reactions from any other channel are acknowledged
    quietly and dropped. DMs, App Home and the sound-queue channel always pass (`Settings.listens_in`)."""

    def allowlist(body: dict[str, Any], context: BoltContext,
                  next: Callable[[], None]) -> BoltResponse | None:  # noqa: A002 - Bolt's argument name
        container = body.get("container")
        channel = context.channel_id or (container.get("channel_id") if isinstance(container, dict) else None)
        channel = channel if isinstance(channel, str) else None
        if not channel or settings.listens_in(channel):
            next()
            return None
        log.info("dropped %s from channel %s: not in DAILIES_CHANNELS", payload_kind(body), channel)
        return BoltResponse(status=200, body="")

    return allowlist


def payload_kind(body: dict) -> str:
    """What a payload is, for a log line: its type, or its event's type (whatever shapes the fields have)."""
    event = body.get("event")
    kind = event.get("type") if body.get("type") == "event_callback" and isinstance(event, dict) else body.get("type")
    return str(kind)[:40]


def listener_error(error: Exception, body: dict) -> None:
    """A listener that raised: one operator line for a lost Redis, the traceback for anything else."""
    kind = payload_kind(body)
    if isinstance(error, redis.RedisError):
        log.error("Redis unavailable while handling %s (%s): check REDIS_URL; Dailies retries by itself", kind,
                  error)
        return
    log.error("listener for %s failed: %s", kind, error, exc_info=error)
