"""The production HTTP entry point: a WSGI app for gunicorn serving /slack/events."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from gunicorn.app.base import BaseApplication
from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_sdk.signature import SignatureVerifier

from bot.app import build_app
from jobs.infra.settings import Settings, get_settings

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]


class DailiesRequestHandler(SlackRequestHandler):
    """Bolt's WSGI handler, hardened: a signed payload Bolt cannot even parse (a field of the wrong type)
    is acknowledged and dropped instead of answering 500; an unsigned one is still refused with 401."""

    def __init__(self, app: App, signing_secret: str) -> None:
        super().__init__(app)
        self.verifier = SignatureVerifier(signing_secret)

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        body, headers = request.get_body(), request.get_headers()  # the body can be read only once
        try:
            bolt_request = BoltRequest(body=body, query=request.query_string, headers=headers)
        except (TypeError, AttributeError, KeyError, ValueError) as error:
            flat = {k.lower(): v if isinstance(v, str) else next(iter(v), "") for k, v in headers.items()}
            if not self.verifier.is_valid_request(body, flat):
                return BoltResponse(status=401, body="")
            log.warning("dropped a signed payload Bolt could not read (%s: %s)", type(error).__name__, error)
            return BoltResponse(status=200, body="")
        return self.app.dispatch(bolt_request)


def request_handler(settings: Settings | None = None) -> DailiesRequestHandler:
    settings = settings or get_settings()
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    return DailiesRequestHandler(build_app(settings), secret)


def create_wsgi_app() -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    handler = request_handler()

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps({"ok": True}).encode()]
        if path != "/slack/events":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"Not found. Slack sends events, actions and commands to /slack/events.\n"]
        return handler(environ, start_response)

    return application


def run_gunicorn(*, host: str, port: int, workers: int) -> None:
    class DailiesServer(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", 8)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("timeout", 30)
            self.cfg.set("accesslog", None)

        def load(self) -> Callable[..., Any]:
            return create_wsgi_app()

    DailiesServer().run()
