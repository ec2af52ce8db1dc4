"""The Bolt app factory: one App, its dependencies injected into every listener's context."""

from __future__ import annotations

import logging

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot import actions, events, views
from bot.deps import Deps, build_deps
from bot.slack_client import make_web_client
from jobs.settings import Settings

log = logging.getLogger(__name__)


def build_app(settings: Settings, *, client: WebClient | None = None, deps: Deps | None = None) -> App:
    client = client or make_web_client(settings)
    deps = deps or build_deps(settings, client)
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
        request_verification_enabled=True,
        token_verification_enabled=True,
    )

    @app.middleware
    def inject_deps(context: BoltContext, next) -> None:  # noqa: ANN001 - Bolt's signature
        context["deps"] = deps
        next()

    events.register(app)
    actions.register(app)
    views.register(app)
    return app
