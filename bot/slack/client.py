"""The one way Dailies builds a Slack Web API client: pointed at SLACK_API_URL, retrying 429/5xx/timeouts.

- 429: waits the `Retry-After` Slack sends, then tries again (up to 5 times).
- 500/502/503/504 and connection errors: exponential back-off with jitter (up to 3 retries).
- Timeouts: retried the same way, except for the two calls whose retry could post twice and which the
  take pipeline retries itself with a duplicate check (a take's card, `files.completeUploadExternal`).
- Given Redis, a 429 is shared: Slack limits each method per workspace, not per process, so when one
  process is told to wait, every worker and web process waits before its next call of that method
  instead of each finding out with a 429 of its own.
"""

from __future__ import annotations

import logging
import time
from http.client import RemoteDisconnected
from typing import Any
from urllib.error import URLError

import redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from jobs.domain.store import workspace_prefix
from jobs.infra.metrics import Metrics, RedisMetrics
from jobs.infra.redis_client import RedisClient
from jobs.infra.settings import Settings

log = logging.getLogger(__name__)
RETRIED_STATUSES = (500, 502, 503, 504)
CARD_EVENT_TYPE = b"dailies_take"
MAX_SHARED_WAIT_S = 60.0  # one call never waits longer than this on another process's 429


class SharedPause:
    """When Slack said to wait, per API method, kept in Redis for every process of this deployment."""

    def __init__(self, connection: RedisClient, prefix: str) -> None:
        self.redis = connection
        self.prefix = prefix

    def _key(self, method: str) -> str:
        return f"{self.prefix}:slack-pause:{method}"

    def record(self, method: str, retry_after_s: float) -> None:
        until_ms = int((time.time() + retry_after_s) * 1000)
        try:
            # Only ever extend a pause (a shorter, older answer must not shorten a newer one).
            current = self.redis.get(self._key(method))
            if current is None or int(current) < until_ms:
                self.redis.set(self._key(method), until_ms, px=max(1, int(retry_after_s * 1000)))
        except redis.RedisError:
            pass  # sharing is an optimisation: each process still honours its own Retry-After

    def wait(self, method: str) -> float:
        """Sleep until the method's shared pause is over; returns the seconds waited."""
        try:
            raw = self.redis.get(self._key(method))
        except redis.RedisError:
            return 0.0
        remaining = (int(raw) / 1000 - time.time()) if raw else 0.0
        if remaining <= 0:
            return 0.0
        waited = min(remaining, MAX_SHARED_WAIT_S)
        log.info("Slack asked this app to slow down on %s; waiting %.1f s", method, waited)
        time.sleep(waited)
        return waited


class SharedRateLimitRecorder(RetryHandler):
    """Writes each 429's Retry-After to the shared pause (and counts it), then lets slack_sdk's own handler
    retry."""

    def __init__(self, pause: SharedPause, metrics: Metrics | None = None) -> None:
        super().__init__(max_retry_count=100)  # it never retries itself; the count only gates _can_retry
        self.pause = pause
        self.metrics = metrics

    def _can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:
        if response is not None and response.status_code == 429:
            headers = {name.lower(): value for name, value in response.headers.items()}
            values = headers.get("retry-after") or ["1"]
            value = values[0] if isinstance(values, list) else values
            try:
                seconds = float(value)
            except ValueError:
                seconds = 1.0
            method = request.url.rsplit("/", 1)[-1]
            self.pause.record(method, seconds)
            if self.metrics is not None:
                self.metrics.count("slack_api_errors_total", {"method": method, "error": "ratelimited"})
        return False


class DailiesWebClient(WebClient):
    """slack_sdk's client that first waits out any pause another process was given for the same method."""

    shared_pause: SharedPause | None = None
    metrics: Metrics | None = None

    def api_call(self, api_method: str, **kwargs: Any) -> Any:  # noqa: ANN401 - slack_sdk's signature
        if self.shared_pause is not None:
            self.shared_pause.wait(api_method)
        try:
            return super().api_call(api_method, **kwargs)
        except SlackApiError as error:
            if self.metrics is not None:
                code = str(error.response.get("error") or error.response.status_code)
                self.metrics.count("slack_api_errors_total", {"method": api_method, "error": code})
            raise


class ServerErrorRetryHandler(RetryHandler):
    """Retries Slack's 5xx answers with back-off (slack_sdk's own handler covers only 500 and 503)."""

    def _can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:
        return response is not None and response.status_code in RETRIED_STATUSES


def _may_have_posted(request: HttpRequest) -> bool:
    """A timed-out call that may have gone through and that must not be repeated blindly."""
    if request.url.endswith("/files.completeUploadExternal"):
        return True
    return request.url.endswith("/chat.postMessage") and CARD_EVENT_TYPE in (request.data or b"")


class TimeoutRetryHandler(RetryHandler):
    """Retries calls that timed out (connecting or reading), with back-off."""

    def _can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:
        if error is None or response is not None:
            return False
        timed_out = isinstance(error, TimeoutError) or (
            isinstance(error, URLError) and isinstance(error.reason, TimeoutError))
        return timed_out and not _may_have_posted(request)


def retry_handlers(pause: SharedPause | None = None, metrics: Metrics | None = None) -> list[RetryHandler]:
    return [
        *([SharedRateLimitRecorder(pause, metrics)] if pause is not None else []),
        ConnectionErrorRetryHandler(max_retry_count=3, error_types=[URLError, ConnectionError, RemoteDisconnected]),
        TimeoutRetryHandler(max_retry_count=3),
        RateLimitErrorRetryHandler(max_retry_count=5),
        ServerErrorRetryHandler(max_retry_count=3),
    ]


def make_web_client(settings: Settings, *, timeout_s: int = 30, shared: RedisClient | None = None,
                    token: str | None = None, team: str | None = None, **kwargs: Any) -> WebClient:
    """The Web API client, with `SLACK_BOT_TOKEN` or a workspace's own `token` (`team`, an OAuth install); with
    `shared` (the deployment's Redis), Slack's 429s are honoured across processes, per workspace."""
    if token is None and settings.slack_bot_token:
        token = settings.slack_bot_token.get_secret_value()
    client = DailiesWebClient(token=token, base_url=settings.slack_api_url, timeout=timeout_s, **kwargs)
    pause = SharedPause(shared, workspace_prefix(settings.key_prefix, team)) if shared is not None else None
    client.shared_pause = pause
    client.metrics = RedisMetrics(shared, settings.key_prefix) if shared is not None else None
    client.retry_handlers = retry_handlers(pause, client.metrics)
    return client
