"""Money and limits: a channel's daily budget and a person's hourly job limit, enforced atomically in Redis.

Amounts are kept as integer micro-dollars so sums never drift. Per channel and
UTC day, a hash holds `spent` (posted takes, at their actual cost), `reserved`
(estimates of takes accepted but not finished) and per-model spend and counts.

- `check_and_reserve` runs one Lua script: it reads today's spent + reserved
  and the person's takes in the last hour, refuses what goes over, and
  otherwise reserves the estimate and counts the takes, all in one step, so
  two requests at once can never both slip under the cap.
- `settle_take` charges a posted take once (its reservation is released and
  its actual cost recorded per channel, person and model).
- `release_take` gives back the reservation of a take that failed or was
  cancelled: those are never charged.
- A refused request is held (`approvals.hold_for_approval`), not queued; a lead
  presses *Approve* and `approve_pending` records it and reserves its estimate past the cap.

Units and keys are in `spend`, the report in `spend_report`.
"""

from __future__ import annotations

import contextlib
import logging
import time

import redis
from pydantic import BaseModel

from jobs.domain.approvals import PendingRequest, hold_for_approval, pending_key
from jobs.domain.brief import BriefError
from jobs.domain.models import Request, Take
from jobs.domain.spend import (
    DAY_TTL_S,
    channel_day_key,
    daily_cap_usd,
    money,
    to_micro,
    to_usd,
    today,
    user_day_key,
)
from jobs.domain.store import Store
from jobs.infra.settings import Settings

log = logging.getLogger(__name__)

HOUR_S = 3600
RESERVATION_TTL_S = 3 * 24 * 3600

_RESERVE = """
local estimate = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
local limit = tonumber(ARGV[5])
local force = ARGV[6] == '1'
local n = tonumber(ARGV[11])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
local jobs = redis.call('ZCARD', KEYS[2])
local spent = tonumber(redis.call('HGET', KEYS[1], 'spent') or '0')
local reserved = tonumber(redis.call('HGET', KEYS[1], 'reserved') or '0')
if redis.call('EXISTS', KEYS[3]) == 1 then
  return {3, spent, reserved, jobs, 0}
end
if not force then
  if estimate > 0 and spent + reserved + estimate > cap then
    return {1, spent, reserved, jobs, 0}
  end
  if jobs + n > limit then
    local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    local oldest = 0
    if first[2] then oldest = tonumber(first[2]) end
    return {2, spent, reserved, jobs, oldest}
  end
end
local fields = {'day', ARGV[7], 'channel', ARGV[8], 'user', ARGV[9]}
for i = 0, n - 1 do
  local id = ARGV[12 + 2 * i]
  fields[#fields + 1] = 't:' .. id
  fields[#fields + 1] = ARGV[13 + 2 * i]
  redis.call('ZADD', KEYS[2], now, id)
end
redis.call('HSET', KEYS[3], unpack(fields))
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[10]))
redis.call('PEXPIRE', KEYS[2], window)
redis.call('HINCRBY', KEYS[1], 'reserved', estimate)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[12 + 2 * n]))
return {0, spent, reserved + estimate, jobs + n, 0}
"""

_SETTLE = """
if not redis.call('SET', KEYS[4], '1', 'NX', 'EX', tonumber(ARGV[5])) then
  return 0
end
local field = 't:' .. ARGV[1]
local held = tonumber(redis.call('HGET', KEYS[1], field) or '0')
if held > 0 then
  redis.call('HDEL', KEYS[1], field)
  redis.call('HINCRBY', KEYS[2], 'reserved', 0 - held)
end
local cost = tonumber(ARGV[2])
for _, key in ipairs({KEYS[2], KEYS[3]}) do
  redis.call('HINCRBY', key, 'spent', cost)
  redis.call('HINCRBY', key, 'model:' .. ARGV[3], cost)
  redis.call('HINCRBY', key, 'takes:' .. ARGV[3], 1)
  redis.call('EXPIRE', key, tonumber(ARGV[4]))
end
return 1
"""

_RELEASE = """
if redis.call('EXISTS', KEYS[3]) == 1 then
  return 0
end
local field = 't:' .. ARGV[1]
local held = redis.call('HGET', KEYS[1], field)
if not held then
  return 0
end
redis.call('HDEL', KEYS[1], field)
held = tonumber(held)
if held > 0 then
  redis.call('HINCRBY', KEYS[2], 'reserved', 0 - held)
end
return 1
"""



# -- errors -----------------------------------------------------------------------------------


class LimitError(BriefError):
    """A request refused by a limit, held in Redis (`pending_id`) until a lead of its channel approves it."""

    def __init__(self, problem: str, hint: str, *, pending_id: str | None = None) -> None:
        super().__init__(problem, hint=hint)
        self.pending_id = pending_id


class OverBudget(LimitError):
    def __init__(self, *, spent_usd: float, reserved_usd: float, estimate_usd: float, cap_usd: float,
                 pending_id: str | None = None) -> None:
        self.spent_usd, self.reserved_usd = spent_usd, reserved_usd
        self.estimate_usd, self.cap_usd = estimate_usd, cap_usd
        in_flight = f" + {money(reserved_usd)} rendering" if reserved_usd else ""
        problem = (f"This would go over the channel's daily budget. Spent today: {money(spent_usd)}{in_flight}; "
                   f"this request: est. {money(estimate_usd)}; daily cap: {money(cap_usd)}.")
        hint = ("A lead can approve it with the button below; nothing runs until then. "
                "The budget resets at 00:00 UTC.")
        super().__init__(problem, hint, pending_id=pending_id)


class OverLimit(LimitError):
    def __init__(self, *, jobs: int, requested: int, limit: int, retry_in_s: float,
                 pending_id: str | None = None) -> None:
        self.jobs, self.requested, self.limit, self.retry_in_s = jobs, requested, limit, retry_in_s
        minutes = max(1, int(retry_in_s // 60) + 1)
        problem = (f"You have started {jobs} take(s) in the last hour and this request adds {requested}; "
                   f"the limit is {limit} takes per person per hour.")
        hint = (f"Try again in about {minutes} minute(s), ask for fewer takes, or ask a lead to approve it "
                "with the button below.")
        super().__init__(problem, hint, pending_id=pending_id)


# -- reserve at intake --------------------------------------------------------------------------


class Reservation(BaseModel):
    spent_usd: float
    reserved_usd: float
    estimate_usd: float
    cap_usd: float
    jobs_last_hour: int
    job_limit: int


def _take_estimates(request: Request, takes: list[Take] | None) -> list[tuple[str, int]]:
    if takes:
        return [(t.id, to_micro(t.estimate_usd)) for t in takes]
    ids = request.take_ids or [request.id]
    each = to_micro(request.estimate_usd) // max(1, len(ids))
    return [(take_id, each) for take_id in ids]


def check_and_reserve(store: Store, settings: Settings, request: Request, takes: list[Take] | None = None, *,
                      force: bool = False, hold: bool = True, now: float | None = None) -> Reservation | None:
    """Reserve `request`'s estimate against its channel's budget and count its takes against the requester's
    hourly limit, atomically. Raises OverBudget / OverLimit (after holding the request for a lead's approval,
    when `hold` and `takes` are given) and reserves nothing when it goes over."""
    now = time.time() if now is None else now
    day = today(now)
    cap = daily_cap_usd(store, settings, request.channel)
    estimates = _take_estimates(request, takes)
    estimate = sum(micro for _, micro in estimates)
    args: list[int | str] = [estimate, to_micro(cap), int(now * 1000), HOUR_S * 1000, settings.hourly_job_limit,
                       "1" if force else "0", day, request.channel, request.requester, RESERVATION_TTL_S,
                       len(estimates)]
    for take_id, micro in estimates:
        args += [take_id, micro]
    args.append(DAY_TTL_S)
    keys = [channel_day_key(store, request.channel, day), store.key("jobs", request.requester),
            store.key("resv", request.id), user_day_key(store, request.requester, day)]
    status, spent, reserved, jobs, oldest_ms = store.script(_RESERVE)(keys=keys, args=args)
    result = Reservation(spent_usd=to_usd(spent), reserved_usd=to_usd(reserved), estimate_usd=to_usd(estimate),
                         cap_usd=cap, jobs_last_hour=int(jobs), job_limit=settings.hourly_job_limit)
    if status in (0, 3):
        return result
    pending_id = hold_for_approval(store, request, takes, reason="budget" if status == 1 else "limit") \
        if hold and takes else None
    if status == 1:
        log.info("refused request %s in %s: over budget (spent %s + reserved %s + est. %s > cap %s)",
                 request.id, request.channel, spent, reserved, estimate, to_micro(cap))
        raise OverBudget(spent_usd=result.spent_usd, reserved_usd=result.reserved_usd,
                         estimate_usd=result.estimate_usd, cap_usd=cap, pending_id=pending_id)
    retry_in = max(0.0, (int(oldest_ms) / 1000 + HOUR_S) - now) if oldest_ms else HOUR_S
    log.info("refused request %s by %s: hourly job limit (%s + %s > %s)", request.id, request.requester, jobs,
             len(estimates), settings.hourly_job_limit)
    raise OverLimit(jobs=int(jobs), requested=len(estimates), limit=settings.hourly_job_limit,
                    retry_in_s=retry_in, pending_id=pending_id)


def admit(store: Store, settings: Settings, request: Request, takes: list[Take], *, force: bool = False) -> None:
    """Reserve, then record the request and its takes; a failed record gives the reservation back."""
    check_and_reserve(store, settings, request, takes, force=force)
    try:
        store.record_new_request(request, takes)
    except Exception:
        with contextlib.suppress(redis.RedisError):
            release_request(store, request)
        raise


# -- settle when posted, release when failed ----------------------------------------------------


def _reservation_day(store: Store, request_id: str) -> str | None:
    day = store.redis.hget(store.key("resv", request_id), "day")
    return day.decode() if day else None


def settle_take(store: Store, take: Take) -> bool:
    """Charge a posted take at its actual cost, exactly once. True when this call charged it."""
    day = _reservation_day(store, take.request_id) or today()
    keys = [store.key("resv", take.request_id), channel_day_key(store, take.channel, day),
            user_day_key(store, take.requester, day), store.key("charged", take.id)]
    args = [take.id, to_micro(take.cost_usd), take.model, DAY_TTL_S, RESERVATION_TTL_S * 10]
    charged = bool(store.script(_SETTLE)(keys=keys, args=args))
    if charged:
        log.info("charged take %s in %s: %s on %s", take.id, take.channel, money(take.cost_usd), take.model)
    return charged


def release_take(store: Store, take: Take) -> bool:
    """Give back a failed or cancelled take's reservation; it is never charged. True when released now."""
    day = _reservation_day(store, take.request_id)
    if day is None:
        return False
    keys = [store.key("resv", take.request_id), channel_day_key(store, take.channel, day),
            store.key("charged", take.id)]
    return bool(store.script(_RELEASE)(keys=keys, args=[take.id]))


def release_request(store: Store, request: Request) -> None:
    """Give back every reservation of a request that was never recorded."""
    day = _reservation_day(store, request.id)
    if day is None:
        return
    for take_id in request.take_ids:
        keys = [store.key("resv", request.id), channel_day_key(store, request.channel, day),
                store.key("charged", take_id)]
        store.script(_RELEASE)(keys=keys, args=[take_id])


# -- work that is not a take (the turnover's stems) ----------------------------------------------


def room_for(store: Store, settings: Settings, channel: str, cost_usd: float) -> str | None:
    """None when the channel's budget has room today for `cost_usd` more, else the sentence saying it has not."""
    spent_raw, reserved_raw = store.redis.hmget(channel_day_key(store, channel, today()), ["spent", "reserved"])
    spent, reserved, cap = to_usd(spent_raw), to_usd(reserved_raw), daily_cap_usd(store, settings, channel)
    if spent + reserved + cost_usd <= cap:
        return None
    return (f"the channel's daily budget has no room for it (spent {money(spent)}, {money(reserved)} rendering, "
            f"est. {money(cost_usd)}, cap {money(cap)})")


def charge_once(store: Store, *, charge_id: str, channel: str, user: str, model: str, cost_usd: float) -> bool:
    """Charge finished work that had no reservation, at its actual cost, exactly once. True when charged now."""
    day = today()
    keys = [store.key("resv", charge_id), channel_day_key(store, channel, day), user_day_key(store, user, day),
            store.key("charged", charge_id)]
    args = [charge_id, to_micro(cost_usd), model, DAY_TTL_S, RESERVATION_TTL_S * 10]
    charged = bool(store.script(_SETTLE)(keys=keys, args=args))
    if charged:
        log.info("charged %s in %s: %s on %s", charge_id, channel, money(cost_usd), model)
    return charged


# -- a lead's approval ---------------------------------------------------------------------------


def approve_pending(store: Store, settings: Settings, pending_id: str, lead: str) -> PendingRequest | None:
    """Claim a held request (once, however many leads press at once), reserve past the cap and record it.
    Returns None when it was already approved or has expired. The caller enqueues `start_request`."""
    raw = store.redis.getdel(pending_key(store, pending_id))
    if not raw:
        return None
    pending = PendingRequest.model_validate_json(raw)
    admit(store, settings, pending.request, pending.takes, force=True)
    log.info("request %s in %s approved by %s (%s, est. %s)", pending.request.id, pending.request.channel, lead,
             pending.reason, money(pending.request.estimate_usd))
    return pending
