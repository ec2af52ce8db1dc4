"""The one way Dailies builds a Slack Web API client: pointed at SLACK_API_URL, retrying 429/5xx/timeouts."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from jobs.settings import Settings


def make_web_client(settings: Settings, *, timeout_s: int = 30) -> WebClient:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    client = WebClient(token=token, base_url=settings.slack_api_url, timeout=timeout_s)
    client.retry_handlers = [
        ConnectionErrorRetryHandler(max_retry_count=3),
        RateLimitErrorRetryHandler(max_retry_count=5),
        ServerErrorRetryHandler(max_retry_count=3),
    ]
    return client
