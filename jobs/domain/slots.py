"""Render slots: how many renders a provider key has in flight across the whole deployment.

A slot is a lease in a Redis sorted set (`<prefix>:slots:<provider>`, score = when it runs out), renewed by
every status check of the render that holds it, so a worker that dies holding one gives it back when its lease
runs out (`lease_s`, at most a minute by default) — nothing is rendered twice, the take is resumed by the
recovery sweep. Takes that find no free slot wait (`<prefix>:slot-wait:<provider>`), served in turns across groups
— a workspace's channel — the group holding fewest slots first, oldest first within a group, so a flood in one
channel or workspace never keeps another's takes waiting behind it; a waiter that stopped asking (its take failed
or was cancelled) drops out after `WAITER_TTL_S`. One Lua script decides, so two workers never both take the
last slot.
"""

from __future__ import annotations

import time

from pydantic import BaseModel

from jobs.infra.redis_client import RedisClient

WAITER_TTL_S = 120

_ACQUIRE = """
local held, wait, groups, alive_prefix = KEYS[1], KEYS[2], KEYS[3], ARGV[1]
local take, group, now, lease, cap, waiter_ttl = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]),
    tonumber(ARGV[6]), tonumber(ARGV[7])
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', held, '-inf', now)) do redis.call('HDEL', groups, gone) end
redis.call('ZREMRANGEBYSCORE', held, '-inf', now)
if redis.call('ZSCORE', held, take) then
  redis.call('ZADD', held, now + lease, take)
  return {1, 0}
end
redis.call('HSET', groups, take, group)
if not redis.call('ZSCORE', wait, take) then redis.call('ZADD', wait, now, take) end
redis.call('SET', alive_prefix .. take, '1', 'EX', waiter_ttl)
local holding = {}
for _, other in ipairs(redis.call('ZRANGE', held, 0, -1)) do
  local g = redis.call('HGET', groups, other) or ''
  holding[g] = (holding[g] or 0) + 1
end
-- Turns go round the groups (workspace and channel): a group holding fewer slots goes first, so one group's
-- flood waits behind everyone else's first takes, not the other way round. Within a group, oldest first.
local waiting, mine_before, found = {}, 0, false
for _, other in ipairs(redis.call('ZRANGE', wait, 0, -1)) do
  if other == take then
    found = true
  elseif redis.call('EXISTS', alive_prefix .. other) == 0 then
    redis.call('ZREM', wait, other)
    redis.call('HDEL', groups, other)
  else
    local g = redis.call('HGET', groups, other) or ''
    if g == group then
      if not found then mine_before = mine_before + 1 end
    else
      waiting[g] = (waiting[g] or 0) + 1
    end
  end
end
local turn = (holding[group] or 0) + mine_before
local ahead = mine_before
for g, count in pairs(waiting) do
  ahead = ahead + math.min(count, math.max(0, turn - (holding[g] or 0)))
end
local free = cap - redis.call('ZCARD', held)
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

    def __init__(self, client: RedisClient, base_prefix: str, provider: str, capacity: int, lease_s: float) -> None:
        self.client = client
        self.held = f"{base_prefix}:slots:{provider}"
        self.wait = f"{base_prefix}:slot-wait:{provider}"
        self.alive = f"{base_prefix}:slot-waiting:{provider}:"
        self.groups = f"{base_prefix}:slot-group:{provider}"
        self.capacity = capacity
        self.lease_s = lease_s
        self._acquire = client.register_script(_ACQUIRE)

    def acquire(self, take_id: str, group: str = "") -> SlotAnswer:
        """A slot for `take_id` of `group` (its workspace and channel), or how many are served before it."""
        granted, ahead = self._acquire(
            keys=[self.held, self.wait, self.groups],
            args=[self.alive, take_id, group, time.time(), self.lease_s, self.capacity, WAITER_TTL_S])
        return SlotAnswer(granted=bool(int(granted)), ahead=int(ahead))

    def renew(self, take_id: str) -> None:
        """The render is still in flight: keep (or, resumed after its lease ran out, take back) its slot."""
        self.client.zadd(self.held, {take_id: time.time() + self.lease_s})

    def release(self, take_id: str) -> None:
        with self.client.pipeline(transaction=True) as pipe:
            pipe.zrem(self.held, take_id)
            pipe.zrem(self.wait, take_id)
            pipe.delete(self.alive + take_id)
            pipe.hdel(self.groups, take_id)
            pipe.execute()

    def in_use(self) -> int:
        self.client.zremrangebyscore(self.held, "-inf", time.time())
        return int(self.client.zcard(self.held))
