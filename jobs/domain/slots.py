"""Render slots: how many renders a provider key has in flight across the whole deployment.

A slot is a lease in a Redis sorted set (`<prefix>:slots:<provider>`, score = when it runs out), renewed by
every status check of the render that holds it, so a worker that dies holding one gives it back when its lease
runs out (`lease_s`, at most a minute by default) — nothing is rendered twice, the take is resumed by the
recovery sweep. Takes that find no free slot wait in order of asking (`<prefix>:slot-wait:<provider>`); a waiter
that stopped asking (its take failed or was cancelled) drops out after `WAITER_TTL_S`. One Lua script decides,
so two workers never both take the last slot.
"""

from __future__ import annotations

import time

import redis
from pydantic import BaseModel

WAITER_TTL_S = 120

_ACQUIRE = """
local held, wait, alive_prefix = KEYS[1], KEYS[2], ARGV[1]
local take, now, lease, cap, waiter_ttl = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]),
    tonumber(ARGV[6])
redis.call('ZREMRANGEBYSCORE', held, '-inf', now)
if redis.call('ZSCORE', held, take) then
  redis.call('ZADD', held, now + lease, take)
  return {1, 0}
end
if not redis.call('ZSCORE', wait, take) then redis.call('ZADD', wait, now, take) end
redis.call('SET', alive_prefix .. take, '1', 'EX', waiter_ttl)
local free = cap - redis.call('ZCARD', held)
local ahead = 0
for _, other in ipairs(redis.call('ZRANGE', wait, 0, -1)) do
  if other == take then break end
  if redis.call('EXISTS', alive_prefix .. other) == 0 then
    redis.call('ZREM', wait, other)
  else
    ahead = ahead + 1
  end
end
if ahead < free then
  redis.call('ZADD', held, now + lease, take)
  redis.call('ZREM', wait, take)
  redis.call('DEL', alive_prefix .. take)
  return {1, 0}
end
return {0, ahead}
"""


class SlotAnswer(BaseModel):
    granted: bool
    ahead: int  # takes waiting before this one (0 when granted)


class RenderSlots:
    """The slots of one provider key (a provider family: `fal`, `kling`, …) for the whole deployment."""

    def __init__(self, client: redis.Redis, base_prefix: str, provider: str, capacity: int, lease_s: float) -> None:
        self.client = client
        self.held = f"{base_prefix}:slots:{provider}"
        self.wait = f"{base_prefix}:slot-wait:{provider}"
        self.alive = f"{base_prefix}:slot-waiting:{provider}:"
        self.capacity = capacity
        self.lease_s = lease_s

    def acquire(self, take_id: str) -> SlotAnswer:
        granted, ahead = self.client.eval(_ACQUIRE, 2, self.held, self.wait, self.alive, take_id, time.time(),
                                          self.lease_s, self.capacity, WAITER_TTL_S)
        return SlotAnswer(granted=bool(int(granted)), ahead=int(ahead))

    def renew(self, take_id: str) -> None:
        """The render is still in flight: keep (or, resumed after its lease ran out, take back) its slot."""
        self.client.zadd(self.held, {take_id: time.time() + self.lease_s})

    def release(self, take_id: str) -> None:
        with self.client.pipeline(transaction=True) as pipe:
            pipe.zrem(self.held, take_id)
            pipe.zrem(self.wait, take_id)
            pipe.delete(self.alive + take_id)
            pipe.execute()

    def in_use(self) -> int:
        self.client.zremrangebyscore(self.held, "-inf", time.time())
        return int(self.client.zcard(self.held))
