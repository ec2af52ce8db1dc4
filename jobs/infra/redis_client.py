"""The one way Dailies connects to Redis, so every process has the same timeouts and reconnects alike.

Three shapes, all from settings: a plain `redis://` URL, a TLS `rediss://` URL (with `REDIS_TLS_CA` for a
private CA), or a primary behind Sentinel (`REDIS_SENTINELS` + `REDIS_SENTINEL_MASTER`), where each new
connection asks the sentinels which server is the primary now, so a failover is followed by reconnecting.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, TypeAlias
from urllib.parse import urlsplit, urlunsplit

from redis import Redis
from redis.backoff import ExponentialBackoff
from redis.client import Pipeline
from redis.connection import Connection, SSLConnection
from redis.exceptions import RedisError
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelManagedConnection

from jobs.infra.settings import Settings

CONNECT_TIMEOUT_S = 3.0
# rq's blocking dequeue waits up to its own timeout on this connection, so reads may take longer than that.
SOCKET_TIMEOUT_S = 10.0
HEALTH_CHECK_INTERVAL_S = 30
REPLICA_COUNT_TTL_S = 5.0

# Dailies reads bytes (no decode_responses) everywhere.
RedisClient: TypeAlias = "Redis[bytes]"
RedisPipeline: TypeAlias = "Pipeline[bytes]"


def _options(settings: Settings, timeout_s: float | None) -> dict[str, Any]:
    options: dict[str, Any] = {
        "socket_connect_timeout": timeout_s or CONNECT_TIMEOUT_S,
        "socket_timeout": timeout_s or SOCKET_TIMEOUT_S,
        "health_check_interval": HEALTH_CHECK_INTERVAL_S,
        # A failover or restart drops connections: retry with back-off (Sentinel's pool finds the new primary).
        # A quick check (`timeout_s`) answers at once instead.
        "retry": Retry(ExponentialBackoff(cap=2.0, base=0.1),
                       retries=0 if timeout_s else 8 if settings.redis_sentinels else 5),
    }
    if settings.redis_password is not None:
        options["password"] = settings.redis_password.get_secret_value()
    if settings.redis_tls_ca is not None:
        options["ssl_ca_certs"] = str(settings.redis_tls_ca)
    return options


class ClosingSentinelConnection(SentinelManagedConnection):
    """redis-py's Sentinel connection, closed when a read is interrupted, as its plain connection is.

    Its own keeps the socket when anything but a socket error interrupts a read: rq's SIGTERM handler raises out of
    a blocking BLPOP, the connection goes back to the pool with the BLPOP still pending on the server, and the
    next command on it (rq registering the worker's death) waits minutes for that reply — a stop that never ends."""

    def read_response(self, disable_decoding: bool = False, *, disconnect_on_error: bool | None = True,
                      push_request: bool | None = False) -> Any:
        # types-redis describes redis 4, before `push_request`
        return super().read_response(disable_decoding=disable_decoding,  # type: ignore[call-arg]
                                     disconnect_on_error=bool(disconnect_on_error), push_request=push_request)


class ClosingSentinelSSLConnection(ClosingSentinelConnection, SSLConnection):
    pass


def connect(settings: Settings, *, timeout_s: float | None = None) -> RedisClient:
    """A client for the configured Redis that retries a dropped connection with back-off (a Redis restart or
    failover). `timeout_s` shortens both timeouts, for a quick reachability check."""
    options = _options(settings, timeout_s)
    if not settings.redis_sentinels:
        return Redis.from_url(settings.redis_url, **options)
    url_options = Redis.from_url(settings.redis_url).connection_pool.connection_kwargs
    node = {"db": url_options.get("db", 0), **options}
    tls = settings.redis_url.startswith("rediss://")
    if tls:
        node["ssl"] = True
    if "password" not in node and url_options.get("password"):
        node["password"] = url_options["password"]
    sentinel_options = {"socket_connect_timeout": options["socket_connect_timeout"],
                        "socket_timeout": options["socket_connect_timeout"]}
    if settings.redis_sentinel_password is not None:
        sentinel_options["password"] = settings.redis_sentinel_password.get_secret_value()
    sentinel = Sentinel(settings.sentinel_addresses, sentinel_kwargs=sentinel_options, **node)
    assert settings.redis_sentinel_master  # Settings refuses sentinels without a master name
    return sentinel.master_for(settings.redis_sentinel_master, redis_class=Redis,
                               connection_class=ClosingSentinelSSLConnection if tls else ClosingSentinelConnection,
                               **node)


def describe(settings: Settings) -> str:
    """Where Redis is, for a log line or doctor: never a password."""
    if settings.redis_sentinels:
        return (f"the primary {settings.redis_sentinel_master!r} of the sentinels at "
                f"{', '.join(settings.redis_sentinels)}")
    return redact_url(settings.redis_url)


def redact_url(url: str) -> str:
    """A URL safe to print: any password replaced."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparseable URL)"
    if parts.password:
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        user = f"{parts.username}:" if parts.username else ":"
        return urlunsplit((parts.scheme, f"{user}***@{host}", parts.path, parts.query, parts.fragment))
    return url


@dataclass
class ReplicaAck:
    """Makes a write wait until `wanted` replicas have it (Redis WAIT), so a failover right after cannot lose it.

    It waits only for replicas that are connected (asked every few seconds): right after a failover the new
    primary has none yet, and waiting for one that is not there would stall every write for the timeout."""

    wanted: int
    timeout_ms: int
    last_acked: int = 0  # replicas that had the last durable write when it returned
    _connected: int = 0
    _asked_at: float = field(default=-1e9)

    @classmethod
    def from_settings(cls, settings: Settings) -> ReplicaAck | None:
        wanted = settings.replicas_to_wait_for
        return cls(wanted, settings.redis_wait_timeout_ms) if wanted else None

    def connected_replicas(self, client: RedisClient) -> int:
        now = time.monotonic()
        if now - self._asked_at > REPLICA_COUNT_TTL_S:
            self._asked_at = now
            try:
                self._connected = int(client.info("replication").get("connected_slaves", 0))
            except RedisError:
                self._connected = 0
        return self._connected

    def pipeline(self, client: RedisClient) -> RedisPipeline:
        """A transaction whose EXEC is followed, on the same connection, by WAIT: WAIT covers only the writes of
        the connection that sends it, so it cannot be sent separately through the pool."""
        return DurablePipeline(client.connection_pool, client.response_callbacks, True, None, ack=self,
                               client=client)


class DurablePipeline(Pipeline):  # type: ignore[type-arg]  # redis-py's Pipeline is generic only in the stubs
    def __init__(self, *args: Any, ack: ReplicaAck, client: RedisClient) -> None:
        super().__init__(*args)
        self.ack = ack
        self.primary = client

    def _execute_transaction(self, connection: Connection, commands: Any, raise_on_error: bool) -> list[Any]:
        # A private method of redis-py's Pipeline that types-redis does not describe.
        results: list[Any] = super()._execute_transaction(connection, commands, raise_on_error)  # type: ignore[misc]
        replicas = min(self.ack.wanted, self.ack.connected_replicas(self.primary))
        if replicas > 0:
            connection.send_command("WAIT", replicas, self.ack.timeout_ms)
            self.ack.last_acked = int(connection.read_response())
        return results
