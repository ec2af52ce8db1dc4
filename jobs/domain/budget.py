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
- A refused request is held in Redis (`hold_for_approval`), not queued; a lead
  presses *Approve* (`bot.listeners.actions.approve`) and `approve_pending` records it
  and reserves its estimate past the cap.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from typing import Any

import redis
from pydantic import BaseModel, Field

from jobs.domain.brief import BriefError
from jobs.domain.channels import load_channel_settings
from jobs.domain.models import Request, Take
from jobs.infra.settings import Settings
from jobs.infra.store import RedisStore

log = logging.getLogger(__name__)

MICRO = 1_000_000
HOUR_S = 3600
DAY_TTL_S = 400 * 24 * 3600  # spend history kept a bit over a year
RESERVATION_TTL_S = 3 * 24 * 3600
PENDING_TTL_S = 24 * 3600

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


def to_micro(usd: float) -> int:
    return int(round(float(usd) * MICRO))


def to_usd(micro: int | float | str | bytes | None) -> float:
    return round(int(micro or 0) / MICRO, 4) if micro is not None else 0.0


def today(now: float | None = None) -> str:
    """Budgets run per UTC day."""
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() if now is None else now))


def money(usd: float) -> str:
    return f"${usd:,.2f}"


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


# -- keys -------------------------------------------------------------------------------------


def _is_redis(store: object) -> bool:
    """Spend is kept in Redis only: `dailies try` (a MemoryStore) renders for free."""
    return isinstance(store, RedisStore)


def _key(store: Any, *parts: str) -> str:
    return store.key(*parts)


DM_SCOPE = "dm"


def budget_scope(channel: str) -> str:
    """Whose budget a request in `channel` draws on: the channel's own, or the one all DMs share (so N people
    in N DMs cannot spend N budgets)."""
    return DM_SCOPE if channel.startswith("D") else channel


def channel_day_key(store: Any, channel: str, day: str) -> str:
    return _key(store, "spend", "channel", budget_scope(channel), day)


def user_day_key(store: Any, user: str, day: str) -> str:
    return _key(store, "spend", "user", user, day)


def _script(store: Any, name: str, source: str) -> Any:
    cache = store.__dict__.setdefault("_budget_scripts", {})
    if name not in cache:
        cache[name] = store.redis.register_script(source)
    return cache[name]


def daily_cap_usd(store: Any, settings: Settings, channel: str) -> float:
    if budget_scope(channel) == DM_SCOPE:
        dm_cap = settings.dm_daily_budget_usd
        return float(dm_cap if dm_cap is not None else settings.daily_budget_usd)
    override = load_channel_settings(store, channel).daily_budget_usd
    return float(override if override is not None else settings.daily_budget_usd)


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


def check_and_reserve(store: Any, settings: Settings, request: Request, takes: list[Take] | None = None, *,
                      force: bool = False, hold: bool = True, now: float | None = None) -> Reservation | None:
    """Reserve `request`'s estimate against its channel's budget and count its takes against the requester's
    hourly limit, atomically. Raises OverBudget / OverLimit (after holding the request for a lead's approval,
    when `hold` and `takes` are given) and reserves nothing when it goes over. No-op without Redis."""
    if not _is_redis(store):
        return None
    now = time.time() if now is None else now
    day = today(now)
    cap = daily_cap_usd(store, settings, request.channel)
    estimates = _take_estimates(request, takes)
    estimate = sum(micro for _, micro in estimates)
    args: list[Any] = [estimate, to_micro(cap), int(now * 1000), HOUR_S * 1000, settings.hourly_job_limit,
                       "1" if force else "0", day, request.channel, request.requester, RESERVATION_TTL_S,
                       len(estimates)]
    for take_id, micro in estimates:
        args += [take_id, micro]
    args.append(DAY_TTL_S)
    keys = [channel_day_key(store, request.channel, day), _key(store, "jobs", request.requester),
            _key(store, "resv", request.id), user_day_key(store, request.requester, day)]
    status, spent, reserved, jobs, oldest_ms = _script(store, "reserve", _RESERVE)(keys=keys, args=args)
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


def admit(store: Any, settings: Settings, request: Request, takes: list[Take], *, force: bool = False) -> None:
    """Reserve, then record the request and its takes; a failed record gives the reservation back."""
    check_and_reserve(store, settings, request, takes, force=force)
    try:
        store.record_new_request(request, takes)
    except Exception:
        with contextlib.suppress(redis.RedisError):
            release_request(store, request)
        raise


# -- settle when posted, release when failed ----------------------------------------------------


def _reservation_day(store: Any, request_id: str) -> str | None:
    day = store.redis.hget(_key(store, "resv", request_id), "day")
    return day.decode() if day else None


def settle_take(store: Any, take: Take) -> bool:
    """Charge a posted take at its actual cost, exactly once. True when this call charged it."""
    if not _is_redis(store):
        return False
    day = _reservation_day(store, take.request_id) or today()
    keys = [_key(store, "resv", take.request_id), channel_day_key(store, take.channel, day),
            user_day_key(store, take.requester, day), _key(store, "charged", take.id)]
    args = [take.id, to_micro(take.cost_usd), take.model, DAY_TTL_S, RESERVATION_TTL_S * 10]
    charged = bool(_script(store, "settle", _SETTLE)(keys=keys, args=args))
    if charged:
        log.info("charged take %s in %s: %s on %s", take.id, take.channel, money(take.cost_usd), take.model)
    return charged


def release_take(store: Any, take: Take) -> bool:
    """Give back a failed or cancelled take's reservation; it is never charged. True when released now."""
    if not _is_redis(store):
        return False
    day = _reservation_day(store, take.request_id)
    if day is None:
        return False
    keys = [_key(store, "resv", take.request_id), channel_day_key(store, take.channel, day),
            _key(store, "charged", take.id)]
    return bool(_script(store, "release", _RELEASE)(keys=keys, args=[take.id]))


def release_request(store: Any, request: Request) -> None:
    """Give back every reservation of a request that was never recorded."""
    if not _is_redis(store):
        return
    day = _reservation_day(store, request.id)
    if day is None:
        return
    for take_id in request.take_ids:
        keys = [_key(store, "resv", request.id), channel_day_key(store, request.channel, day),
                _key(store, "charged", take_id)]
        _script(store, "release", _RELEASE)(keys=keys, args=[take_id])


# -- requests waiting for a lead ----------------------------------------------------------------


class PendingRequest(BaseModel):
    request: Request
    takes: list[Take]
    reason: str
    held_at: float = Field(default_factory=time.time)


def pending_key(store: Any, pending_id: str) -> str:
    return _key(store, "pending", pending_id)


def hold_for_approval(store: Any, request: Request, takes: list[Take] | None, *, reason: str) -> str | None:
    """Keep a refused request in Redis (not queued) so a lead can approve it; returns its id."""
    if not takes or not _is_redis(store):
        return None
    pending = PendingRequest(request=request, takes=takes, reason=reason)
    store.redis.set(pending_key(store, request.id), pending.model_dump_json(), ex=PENDING_TTL_S)
    return request.id


def get_pending(store: Any, pending_id: str) -> PendingRequest | None:
    if not _is_redis(store) or not pending_id or len(pending_id) > 64:
        return None
    raw = store.redis.get(pending_key(store, pending_id))
    return PendingRequest.model_validate_json(raw) if raw else None


def approve_pending(store: Any, settings: Settings, pending_id: str, lead: str) -> PendingRequest | None:
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


# -- reporting ---------------------------------------------------------------------------------


class DaySpend(BaseModel):
    day: str
    spent_usd: float = 0.0
    reserved_usd: float = 0.0
    by_model: dict[str, float] = Field(default_factory=dict)
    takes_by_model: dict[str, int] = Field(default_factory=dict)


class SpendSummary(BaseModel):
    """What a channel or a person spent: today, the last 7 and 30 days, and by model."""

    subject: str
    kind: str  # "channel" or "user"
    today_usd: float = 0.0
    reserved_usd: float = 0.0
    cap_usd: float | None = None
    last_7_days_usd: float = 0.0
    last_30_days_usd: float = 0.0
    by_model: dict[str, float] = Field(default_factory=dict)
    takes_by_model: dict[str, int] = Field(default_factory=dict)
    days: list[DaySpend] = Field(default_factory=list)

    def lines(self) -> list[str]:
        """Plain mrkdwn lines (no user text) for App Home or a terminal."""
        today_line = f"Today: {money(self.today_usd)} spent"
        if self.reserved_usd:
            today_line += f" + {money(self.reserved_usd)} rendering"
        if self.cap_usd is not None:
            today_line += f" of a {money(self.cap_usd)} daily budget"
        out = [today_line, f"Last 7 days: {money(self.last_7_days_usd)} · last 30 days: "
                           f"{money(self.last_30_days_usd)}"]
        if self.by_model:
            out.append("By model (30 days): " + ", ".join(
                f"{model} {money(usd)} ({self.takes_by_model.get(model, 0)} takes)"
                for model, usd in sorted(self.by_model.items(), key=lambda kv: -kv[1])))
        return out


def _day_spend(day: str, raw: dict[bytes, bytes]) -> DaySpend:
    found = DaySpend(day=day)
    for field, value in raw.items():
        name, number = field.decode(), int(value)
        if name == "spent":
            found.spent_usd = to_usd(number)
        elif name == "reserved":
            found.reserved_usd = to_usd(max(0, number))
        elif name.startswith("model:"):
            found.by_model[name[6:]] = to_usd(number)
        elif name.startswith("takes:"):
            found.takes_by_model[name[6:]] = number
    return found


def spend_summary(store: Any, channel_or_user: str, *, settings: Settings | None = None, days: int = 30,
                  now: float | None = None) -> SpendSummary:
    """Spend of a channel (`C…`/`G…`/`D…`) or a person (`U…`/`W…`) from Redis. App Home and `dailies export
    --spend` show it. With `settings`, a channel's summary includes its daily cap."""
    is_user = channel_or_user[:1] in ("U", "W")
    summary = SpendSummary(subject=channel_or_user, kind="user" if is_user else "channel")
    if not _is_redis(store):
        return summary
    now = time.time() if now is None else now
    names = [today(now - offset * 86400) for offset in range(days)]
    pipe = store.redis.pipeline(transaction=False)
    for day in names:
        pipe.hgetall(user_day_key(store, channel_or_user, day) if is_user
                     else channel_day_key(store, channel_or_user, day))
    for index, (day, raw) in enumerate(zip(names, pipe.execute(), strict=True)):
        found = _day_spend(day, raw or {})
        if index == 0:
            summary.today_usd, summary.reserved_usd = found.spent_usd, found.reserved_usd
        if index < 7:
            summary.last_7_days_usd += found.spent_usd
        summary.last_30_days_usd += found.spent_usd
        for model, usd in found.by_model.items():
            summary.by_model[model] = round(summary.by_model.get(model, 0.0) + usd, 4)
        for model, count in found.takes_by_model.items():
            summary.takes_by_model[model] = summary.takes_by_model.get(model, 0) + count
        if raw:
            summary.days.append(found)
    summary.last_7_days_usd = round(summary.last_7_days_usd, 4)
    summary.last_30_days_usd = round(summary.last_30_days_usd, 4)
    if settings is not None and not is_user:
        summary.cap_usd = daily_cap_usd(store, settings, channel_or_user)
    return summary


def summary_json(summary: SpendSummary) -> str:
    return json.dumps(summary.model_dump(mode="json"), indent=2)
