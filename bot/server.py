"""The production HTTP entry point: a WSGI app served by gunicorn's gevent workers at /slack/events.

Every request to /slack/events is read under a size cap and a deadline and its Slack signature checked on
the raw bytes before anything parses it: an unsigned request costs one short log line and a 401, however
big or deeply nested its body. gevent workers hold a slow client in a greenlet, not a thread, so a hundred
connections that trickle their bodies in cannot stop Slack's events being acknowledged within 3 s.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlencode

import gevent
import redis
from gevent import monkey
from gunicorn import glogging
from gunicorn.app.base import BaseApplication
from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.oauth import OAuthFlow
from slack_sdk.signature import SignatureVerifier

from bot.app import INSTALL_PATH, REDIRECT_PATH, build_app
from bot.deps import Deps, build_deps
from bot.observability import CONTENT_TYPE, metrics_text, readiness
from bot.slack.client import make_web_client
from bot.slack.installations import RedisOAuthStateStore
from jobs.infra.logs import bound
from jobs.infra.redis_client import connect
from jobs.infra.settings import Settings, get_settings
from jobs.pipeline import callbacks

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
EVENTS_PATH = "/slack/events"
TEAM_ID_RE = re.compile(r"^[TE][A-Z0-9]{2,20}$")
WEBHOOK_PATH_RE = re.compile(r"^/providers/(?P<provider>[^/]{1,40})/webhook/(?P<token>[^/]{1,100})$")
CALLBACK_DEBOUNCE_S = 2.0  # a provider that calls back twice in a row gets one status check
MAX_BODY_BYTES = 1024 * 1024  # Slack's events and interaction payloads are a few KB; a big modal well under this
BODY_DEADLINE_S = 5.0  # Slack gives up on a request after 3 s; a body still arriving after 5 s is not Slack's
WORKER_CONNECTIONS = 1000


def _respond(start_response: StartResponse, status: str, text: str = "") -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
    return [text.encode()]


def request_headers(environ: dict[str, Any]) -> dict[str, str | Sequence[str]]:
    """The request's headers as Bolt reads them (lower-case, dashes)."""
    return {key[5:].lower().replace("_", "-"): value for key, value in environ.items() if key.startswith("HTTP_")}


def read_body(environ: dict[str, Any]) -> bytes | str:
    """The request body, or the HTTP status to refuse it with: no length, too big, or too slow."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        length = -1
    if length < 0:
        return "411 Length Required"
    if length > MAX_BODY_BYTES:
        return "413 Payload Too Large"
    stream = environ["wsgi.input"]
    if not monkey.is_module_patched("socket"):
        body = stream.read(length)  # a plain threaded server (tests, `dailies socket` has no HTTP at all)
    else:
        try:
            # Under gevent the read yields to other requests; the timeout bounds a body that trickles in.
            with gevent.Timeout(BODY_DEADLINE_S):
                body = stream.read(length)
        except gevent.Timeout:
            return "408 Request Timeout"
    return body if len(body) == length else "400 Bad Request"


class DailiesRequestHandler:
    """Bolt's request handling for /slack/events, hardened at the door (see the module docstring)."""

    def __init__(self, app: App, signing_secret: str) -> None:
        self.app = app
        self.verifier = SignatureVerifier(signing_secret)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return _respond(start_response, "405 Method Not Allowed", "Slack sends POST requests here.\n")
        body = read_body(environ)
        peer = environ.get("REMOTE_ADDR", "?")
        if isinstance(body, str):
            log.info("refused a request from %s: %s (Content-Length %s)", peer, body,
                     str(environ.get("CONTENT_LENGTH"))[:20])
            return _respond(start_response, body)
        timestamp = str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", ""))
        signature = str(environ.get("HTTP_X_SLACK_SIGNATURE", ""))
        # slack_sdk's verifier raises on a missing or non-numeric timestamp: refuse those before it reads them.
        if not timestamp.isdigit() or len(timestamp) > 12 or not signature.startswith("v0=") or \
                not self.verifier.is_valid(body, timestamp, signature):
            log.info("refused an unsigned or stale request from %s (%d bytes)", peer, len(body))
            return _respond(start_response, "401 Unauthorized")
        response = self.dispatch(body.decode("utf-8", errors="replace"), environ)
        headers = [(name, value) for name, values in response.headers.items() for value in values]
        start_response(f"{response.status} {HTTPStatus(response.status).phrase}", headers)
        return [(response.body or "").encode()]

    def dispatch(self, body: str, environ: dict[str, Any]) -> BoltResponse:
        headers = request_headers(environ)
        headers["content-type"] = environ.get("CONTENT_TYPE", "")
        try:
            request = BoltRequest(body=body, query=environ.get("QUERY_STRING", ""), headers=headers)
        except (TypeError, AttributeError, KeyError, ValueError, RecursionError) as error:
            # Signed, yet Bolt cannot read it (a field of the wrong type): acknowledge and drop, never a 500.
            log.warning("dropped a signed payload Bolt could not read (%s)", type(error).__name__)
            return BoltResponse(status=200, body="")
        if isinstance(request.body, dict) and request.body.get("type") == "event_callback" and \
                not isinstance(request.body.get("event"), dict):
            log.warning("dropped a signed event_callback whose event is not an object (%s)",
                        type(request.body.get("event")).__name__)
            return BoltResponse(status=200, body="")
        if isinstance(request.body, dict) and request.body.get("type") == "app_rate_limited":
            log.warning("Slack is rate-limiting this app's events (team %s, minute %s): events were dropped by "
                        "Slack; see https://api.slack.com/apis/events-api#rate_limiting",
                        str(request.body.get("team_id"))[:20], str(request.body.get("minute_rate_limited"))[:20])
            return BoltResponse(status=200, body="")
        with bound(team=request.context.team_id, channel=request.context.channel_id):  # listeners inherit these
            response = self.app.dispatch(request)
        if response.status == 404:
            # Bolt has no listener for it (an event or action Dailies does not use). Slack treats anything but
            # 2xx as a failure and turns off event delivery for apps that keep failing: acknowledge it.
            return BoltResponse(status=200, body="")
        return response


class ProviderWebhook:
    """/providers/<name>/webhook/<token>: a render finished, says someone. The body is read (under the same cap)
    and dropped; the take's status is checked against the provider's own API by a worker (see
    jobs/pipeline/callbacks.py). Unknown tokens get a 404 and one log line without the token."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def __call__(self, environ: dict[str, Any], start_response: StartResponse, provider: str,
                 token: str) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return _respond(start_response, "405 Method Not Allowed", "Providers POST their callbacks here.\n")
        body = read_body(environ)
        if isinstance(body, str):
            return _respond(start_response, body)
        outcome, take_id, team = callbacks.receive(lambda t: self.deps.for_team(t, None).store, provider, token)
        if outcome == callbacks.Outcome.unknown:
            log.info("refused a %s callback from %s: no such render", provider[:20], environ.get("REMOTE_ADDR", "?"))
            return _respond(start_response, "404 Not Found")
        deps = self.deps.for_team(team, None)
        if outcome == callbacks.Outcome.queued and take_id and \
                deps.store.try_lock(f"callback-check:{take_id}", CALLBACK_DEBOUNCE_S):
            deps.scheduler.enqueue("check_take", take_id, at_front=True)  # ahead of routine polls
            log.info("%s called back for take %s: status check queued", provider, take_id)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"ok": True}).encode()]


def request_handler(settings: Settings | None = None, deps: Deps | None = None) -> DailiesRequestHandler:
    settings = settings or get_settings()
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    return DailiesRequestHandler(build_app(settings, deps=deps, client=deps.client if deps else None), secret)


class DailiesWSGI:
    """The whole HTTP surface: Slack at /slack/events, provider callbacks, and /healthz."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.deps = build_deps(settings, make_web_client(settings, shared=connect(settings)))
        self.events = request_handler(settings, self.deps)
        self.webhook = ProviderWebhook(self.deps)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":  # liveness: the process answers, whatever Redis does
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps({"ok": True}).encode()]
        if path == "/readyz":
            ready = readiness(self.deps.store.redis)
            start_response("200 OK" if ready.ready else "503 Service Unavailable",
                           [("Content-Type", "application/json")])
            return [ready.body()]
        if path == "/metrics":
            return self.metrics(start_response)
        if path == EVENTS_PATH:
            return self.events(environ, start_response)
        if match := WEBHOOK_PATH_RE.match(path):
            return self.webhook(environ, start_response, match["provider"], match["token"])
        oauth = self.events.app.oauth_flow
        if oauth is not None and path in (INSTALL_PATH, REDIRECT_PATH) and environ.get("REQUEST_METHOD") == "GET":
            if path == INSTALL_PATH:
                return self.install_page(oauth, environ, start_response)
            return self.install(oauth, path, environ, start_response)
        return _respond(start_response, "404 Not Found",
                        "Not found. Slack sends events, actions and commands to /slack/events.\n")


    def metrics(self, start_response: StartResponse) -> Iterable[bytes]:
        try:
            text = metrics_text(self.settings, self.deps.store.redis)
        except redis.RedisError as error:
            log.warning("/metrics: Redis unavailable (%s)", error)
            return _respond(start_response, "503 Service Unavailable", "Redis is unavailable; no numbers to show.\n")
        start_response("200 OK", [("Content-Type", CONTENT_TYPE)])
        return [text]

    def install_page(self, oauth: OAuthFlow, environ: dict[str, Any],
                     start_response: StartResponse) -> Iterable[bytes]:
        """The "Add to Slack" page: each visit issues a state, so visits are bounded; `?team=` (to pick the
        workspace) goes into Slack's authorize URL, so only a well-formed workspace id is passed on."""
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        team = query.get("team", [None])[0]
        if team is not None and not TEAM_ID_RE.match(team):
            return _respond(start_response, "400 Bad Request",
                            "`team` is a Slack workspace id such as T0123ABCD; open /slack/install without it to "
                            "pick the workspace on Slack's page.\n")
        states = oauth.settings.state_store
        address = str(environ.get("REMOTE_ADDR", "?"))
        if isinstance(states, RedisOAuthStateStore) and not states.admit(address):
            log.warning("install page refused for %s: too many installs in progress", address)
            start_response("429 Too Many Requests", [("Content-Type", "text/plain; charset=utf-8"),
                                                     ("Retry-After", "60")])
            return [b"Too many installs are being started; try again in a minute.\n"]
        clean = {**environ, "QUERY_STRING": urlencode({"team": team}) if team else ""}
        return self.install(oauth, INSTALL_PATH, clean, start_response)

    @staticmethod
    def install(oauth: OAuthFlow, path: str, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Bolt's OAuth v2 flow: the "Add to Slack" page, then Slack's redirect back with the code."""
        request = BoltRequest(body="", query=environ.get("QUERY_STRING", ""), headers=request_headers(environ))
        response = oauth.handle_installation(request) if path == INSTALL_PATH else oauth.handle_callback(request)
        pairs = [(name, value) for name, values in response.headers.items() for value in values]
        start_response(f"{response.status} {HTTPStatus(response.status).phrase}", pairs)
        return [(response.body or "").encode()]


def create_wsgi_app() -> DailiesWSGI:
    return DailiesWSGI(get_settings())


class GunicornToRoot(glogging.Logger):
    """gunicorn's own lines go through the root logger, so they come out in DAILIES_LOG_FORMAT too."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            logger.handlers = []
            logger.propagate = True


def run_gunicorn(*, host: str, port: int, workers: int) -> None:
    class DailiesServer(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "gevent")
            self.cfg.set("worker_connections", WORKER_CONNECTIONS)
            self.cfg.set("timeout", 30)
            self.cfg.set("limit_request_line", 8190)
            self.cfg.set("limit_request_fields", 100)
            self.cfg.set("accesslog", None)
            self.cfg.set("logger_class", GunicornToRoot)

        def load(self) -> Callable[..., Any]:
            return create_wsgi_app()

    DailiesServer().run()
