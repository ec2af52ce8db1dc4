"""The one way Dailies builds a Slack Web API client: pointed at SLACK_API_URL, retrying 429/5xx/timeouts.

- 429: waits the `Retry-After` Slack sends, then tries again (up to 5 times).
- 500/502/503/504 and connection errors: exponential back-off with jitter (up to 3 retries).
- Timeouts: retried the same way, except for the two calls whose retry could post twice and which the
  take pipeline retries itself with a duplicate check (a take's card, `files.completeUploadExternal`).
"""

from __future__ import annotations

from http.client import RemoteDisconnected
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from jobs.infra.settings import Settings

RETRIED_STATUSES = (500, 502, 503, 504)
CARD_EVENT_TYPE = b"dailies_take"


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


def retry_handlers() -> list[RetryHandler]:
    return [
        ConnectionErrorRetryHandler(max_retry_count=3, error_types=[URLError, ConnectionError, RemoteDisconnected]),
        TimeoutRetryHandler(max_retry_count=3),
        RateLimitErrorRetryHandler(max_retry_count=5),
        ServerErrorRetryHandler(max_retry_count=3),
    ]


def make_web_client(settings: Settings, *, timeout_s: float = 30, **kwargs: Any) -> WebClient:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    client = WebClient(token=token, base_url=settings.slack_api_url, timeout=timeout_s, **kwargs)
    client.retry_handlers = retry_handlers()
    return client
