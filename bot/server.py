"""The production HTTP entry point: a WSGI app for gunicorn serving /slack/events."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.app import build_app
from jobs.settings import get_settings

StartResponse = Callable[..., Any]


def create_wsgi_app() -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    handler = SlackRequestHandler(build_app(get_settings()))

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
    from gunicorn.app.base import BaseApplication

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
