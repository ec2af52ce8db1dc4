"""All state in Redis as JSON of pydantic models, under one key prefix.

`dailies try` runs the same store on an in-process Redis (fakeredis), so a local run takes the code paths
of the deployment (budgets, locks, indexes) with no server and nothing shared.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol, TypeVar, cast

import fakeredis
import redis
from pydantic import BaseModel
from redis.commands.core import Script

from jobs.domain.models import Request, Take
from jobs.infra.redis_client import RedisClient, RedisPipeline, ReplicaAck, connect
from jobs.infra.settings import Settings

M = TypeVar("M", bound=BaseModel)
SEEN_TTL_S = 3 * 24 * 3600
RECORD_TTL_S = 90 * 24 * 3600
WORKSPACES_KEY = "workspaces"  # under the base prefix: the workspaces Dailies is installed in (OAuth installs)


def workspace_prefix(base: str, team: str | None) -> str:
    """Every record of a workspace lives under its own prefix, so two workspaces never see each other's takes,
    tickets, settings or spend. The single-token deployment (no team) keeps the base prefix."""
    return f"{base}:ws:{team}" if team else base


def installed_workspaces(client: RedisClient, base: str) -> list[str]:
    return sorted(member.decode() for member in client.smembers(f"{base}:{WORKSPACES_KEY}"))


class StoreUnavailable(Exception):
    """Redis could not be reached."""


class Store(Protocol):
    """What the domain and the pipeline need of a store. `Store` is the one implementation: on the
    deployment's Redis, or (`in_memory_store`, for `dailies try`) on an in-process Redis."""

    prefix: str
    redis: RedisClient

    def key(self, *parts: str) -> str: ...
    def pipeline(self) -> RedisPipeline: ...
    def ping(self) -> None: ...
    def script(self, source: str) -> Script: ...
    def read_record(self, key: str, model: type[M]) -> M | None: ...
    def write_record(self, key: str, value: BaseModel, ttl_s: int | None = RECORD_TTL_S) -> None: ...
    def update_record(self, key: str, model: type[M], mutate: Callable[[M], None]) -> M | None: ...
    def get_request(self, request_id: str) -> Request | None: ...
    def save_request(self, request: Request) -> None: ...
    def update_request(self, request_id: str, mutate: Callable[[Request], None]) -> Request | None: ...
    def get_take(self, take_id: str) -> Take | None: ...
    def save_take(self, take: Take) -> None: ...
    def update_take(self, take_id: str, mutate: Callable[[Take], None]) -> Take | None: ...
    def takes_for(self, request: Request) -> list[Take]: ...
    def record_new_request(self, request: Request, takes: list[Take]) -> None: ...
    def thread_requests(self, channel: str, thread_ts: str) -> list[Request]: ...
    def thread_takes(self, channel: str, thread_ts: str) -> list[Take]: ...
    def channel_takes(self, channel: str) -> list[Take]: ...
    def recent_channel_takes(self, channel: str, since: float) -> list[Take]: ...
    def user_requests(self, user: str, limit: int = 20) -> list[Request]: ...
    def next_round(self, channel: str, thread_ts: str) -> int: ...
    def active_take_ids(self) -> list[str]: ...
    def mark_inactive(self, take_id: str) -> None: ...
    def index_card(self, channel: str, message_ts: str, take_id: str) -> None: ...
    def take_for_card(self, channel: str, message_ts: str) -> Take | None: ...
    def index_status(self, channel: str, message_ts: str, request_id: str) -> None: ...
    def request_for_status(self, channel: str, message_ts: str) -> Request | None: ...
    def first_time(self, kind: str, ident: str, ttl_s: int = SEEN_TTL_S) -> bool: ...
    def held(self, name: str, ttl_s: float) -> AbstractContextManager[bool]: ...
    def try_lock(self, name: str, ttl_s: float) -> bool: ...
    def unlock(self, name: str) -> None: ...
    def lock_ttl_s(self, name: str) -> float: ...
    def count_attempt(self, name: str, ttl_s: int = 24 * 3600) -> int: ...


class RedisStore:
    """Every record as JSON of a pydantic model, with the indexes the bot reads, under one prefix."""

    def __init__(self, client: RedisClient, prefix: str = "dailies", ack: ReplicaAck | None = None) -> None:
        self.redis = client
        self.prefix = prefix
        self.ack = ack  # behind Sentinel: records are on a replica before a write returns
        self._scripts: dict[str, Script] = {}

    @classmethod
    def open(cls, settings: Settings, team: str | None = None, client: RedisClient | None = None) -> RedisStore:
        """The store of the deployment (or of one workspace), on `client` or a new connection."""
        return cls(client if client is not None else connect(settings), workspace_prefix(settings.key_prefix, team),
                   ReplicaAck.from_settings(settings))

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def script(self, source: str) -> Script:
        """A Lua script registered once per store (redis-py sends EVALSHA and loads it again after a restart)."""
        if source not in self._scripts:
            self._scripts[source] = self.redis.register_script(source)
        return self._scripts[source]

    def for_workspace(self, base_prefix: str, team: str | None) -> RedisStore:
        return RedisStore(self.redis, workspace_prefix(base_prefix, team), self.ack)

    def pipeline(self) -> RedisPipeline:
        """A transaction; behind Sentinel it returns once a replica has it too."""
        return self.ack.pipeline(self.redis) if self.ack else self.redis.pipeline(transaction=True)

    def ping(self) -> None:
        try:
            self.redis.ping()
        except redis.RedisError as error:
            raise StoreUnavailable(str(error)) from None

    # generic JSON records -------------------------------------------------
    def read_record(self, key: str, model: type[M]) -> M | None:
        raw = self.redis.get(key)
        return model.model_validate_json(raw) if raw else None

    def write_record(self, key: str, value: BaseModel, ttl_s: int | None = RECORD_TTL_S) -> None:
        if self.ack is None:
            self.redis.set(key, value.model_dump_json(), ex=ttl_s)
            return
        with self.pipeline() as pipe:
            pipe.set(key, value.model_dump_json(), ex=ttl_s)
            pipe.execute()

    def update_record(self, key: str, model: type[M], mutate: Callable[[M], None]) -> M | None:
        """Read-modify-write under WATCH so concurrent workers never lose each other's changes."""
        with self.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = cast(bytes | None, pipe.get(key))  # after WATCH the pipeline answers at once
                    if not raw:
                        pipe.unwatch()
                        return None
                    record = model.model_validate_json(raw)
                    mutate(record)
                    if hasattr(record, "updated_at"):
                        record.updated_at = time.time()
                    pipe.multi()
                    pipe.set(key, record.model_dump_json(), ex=RECORD_TTL_S)
                    pipe.execute()
                    return record
                except redis.WatchError:
                    continue

    # requests and takes ---------------------------------------------------
    def get_request(self, request_id: str) -> Request | None:
        return self.read_record(self.key("req", request_id), Request)

    def save_request(self, request: Request) -> None:
        self.write_record(self.key("req", request.id), request)

    def update_request(self, request_id: str, mutate: Callable[[Request], None]) -> Request | None:
        return self.update_record(self.key("req", request_id), Request, mutate)

    def takes_for(self, request: Request) -> list[Take]:
        return [t for t in (self.get_take(tid) for tid in request.take_ids) if t is not None]

    def get_take(self, take_id: str) -> Take | None:
        return self.read_record(self.key("take", take_id), Take)

    def save_take(self, take: Take) -> None:
        take.updated_at = time.time()
        self.write_record(self.key("take", take.id), take)

    def update_take(self, take_id: str, mutate: Callable[[Take], None]) -> Take | None:
        return self.update_record(self.key("take", take_id), Take, mutate)

    def record_new_request(self, request: Request, takes: list[Take]) -> None:
        """Write a request, its takes and every index in one transaction: no half-written request."""
        pipe = self.pipeline()
        pipe.set(self.key("req", request.id), request.model_dump_json(), ex=RECORD_TTL_S)
        for take in takes:
            pipe.set(self.key("take", take.id), take.model_dump_json(), ex=RECORD_TTL_S)
            pipe.rpush(self.key("channel", request.channel, "takes"), take.id)
        pipe.rpush(self.key("thread", request.channel, request.thread_ts, "requests"), request.id)
        pipe.rpush(self.key("user", request.requester, "requests"), request.id)
        pipe.sadd(self.key("active"), *[t.id for t in takes])
        pipe.execute()

    def thread_requests(self, channel: str, thread_ts: str) -> list[Request]:
        ids = self.redis.lrange(self.key("thread", channel, thread_ts, "requests"), 0, -1)
        return [r for r in (self.get_request(i.decode()) for i in ids) if r is not None]

    def thread_takes(self, channel: str, thread_ts: str) -> list[Take]:
        """Every take of every round in the thread, round by round."""
        return [take for request in self.thread_requests(channel, thread_ts) for take in self.takes_for(request)]

    def channel_takes(self, channel: str) -> list[Take]:
        ids = self.redis.lrange(self.key("channel", channel, "takes"), 0, -1)
        return [t for t in (self.get_take(i.decode()) for i in ids) if t is not None]

    def recent_channel_takes(self, channel: str, since: float, page: int = 200) -> list[Take]:
        """The channel's takes made since `since`, read from the newest back (the index is in order made)."""
        key, end = self.key("channel", channel, "takes"), -1
        found: list[Take] = []
        while True:
            ids = self.redis.lrange(key, end - page + 1, end)
            if not ids:
                return found
            takes = [t for t in (self.get_take(i.decode()) for i in reversed(ids)) if t is not None]
            found += [t for t in takes if t.created_at >= since]
            if len(ids) < page or any(t.created_at < since for t in takes):
                return found
            end -= page

    def user_requests(self, user: str, limit: int = 20) -> list[Request]:
        ids = self.redis.lrange(self.key("user", user, "requests"), -limit, -1)
        return [r for r in (self.get_request(i.decode()) for i in reversed(ids)) if r is not None]

    def next_round(self, channel: str, thread_ts: str) -> int:
        return int(self.redis.incr(self.key("thread", channel, thread_ts, "round")))

    def active_take_ids(self) -> list[str]:
        return sorted(i.decode() for i in self.redis.smembers(self.key("active")))

    def mark_inactive(self, take_id: str) -> None:
        self.redis.srem(self.key("active"), take_id)

    # message indexes --------------------------------------------------------
    def index_card(self, channel: str, message_ts: str, take_id: str) -> None:
        self.redis.set(self.key("card", channel, message_ts), take_id, ex=RECORD_TTL_S)

    def take_for_card(self, channel: str, message_ts: str) -> Take | None:
        take_id = self.redis.get(self.key("card", channel, message_ts))
        return self.get_take(take_id.decode()) if take_id else None

    def index_status(self, channel: str, message_ts: str, request_id: str) -> None:
        self.redis.set(self.key("status", channel, message_ts), request_id, ex=RECORD_TTL_S)

    def request_for_status(self, channel: str, message_ts: str) -> Request | None:
        request_id = self.redis.get(self.key("status", channel, message_ts))
        return self.get_request(request_id.decode()) if request_id else None

    # delivery bookkeeping ---------------------------------------------------
    def first_time(self, kind: str, ident: str, ttl_s: int = SEEN_TTL_S) -> bool:
        """True the first time (kind, ident) is seen: Slack retries and twin events start nothing twice."""
        return bool(self.redis.set(self.key("seen", kind, ident), "1", nx=True, ex=ttl_s))

    @contextmanager
    def held(self, name: str, ttl_s: float) -> Iterator[bool]:
        """The lock `name` for a block of work, released after it: yields whether this process got it. It runs out
        after `ttl_s`, so a holder that dies mid-block never keeps it. (`try_lock` alone, never unlocked, is a
        guard that lets something happen at most once per `ttl_s`.)"""
        if not self.try_lock(name, ttl_s):
            yield False
            return
        try:
            yield True
        finally:
            self.unlock(name)

    def try_lock(self, name: str, ttl_s: float) -> bool:
        return bool(self.redis.set(self.key("lock", name), "1", nx=True, px=int(ttl_s * 1000)))

    def unlock(self, name: str) -> None:
        self.redis.delete(self.key("lock", name))

    def lock_ttl_s(self, name: str) -> float:
        remaining_ms = self.redis.pttl(self.key("lock", name))
        return remaining_ms / 1000 if remaining_ms and remaining_ms > 0 else 0.0

    def count_attempt(self, name: str, ttl_s: int = 24 * 3600) -> int:
        key = self.key("attempts", name)
        pipe = self.redis.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, ttl_s)
        return int(pipe.execute()[0])


def in_memory_store() -> RedisStore:
    """A store that lives in this process only (`dailies try`)."""
    return RedisStore(fakeredis.FakeRedis())
