"""The one way Dailies connects to Redis, so every process has the same timeouts and reconnects alike."""

from __future__ import annotations

from redis import Redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

CONNECT_TIMEOUT_S = 3.0
# rq's blocking dequeue waits up to its own timeout on this connection, so reads may take longer than that.
SOCKET_TIMEOUT_S = 10.0
HEALTH_CHECK_INTERVAL_S = 30


def connect(url: str, *, timeout_s: float | None = None) -> Redis:
    """A client for `url` that retries a dropped connection with back-off (a Redis restart or failover).
    `timeout_s` shortens both timeouts, for a quick reachability check."""
    return Redis.from_url(
        url,
        socket_connect_timeout=timeout_s or CONNECT_TIMEOUT_S,
        socket_timeout=timeout_s or SOCKET_TIMEOUT_S,
        health_check_interval=HEALTH_CHECK_INTERVAL_S,
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.1), retries=5),
    )
