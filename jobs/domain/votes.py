"""Votes: emoji reactions on a take's card, counted exactly in Redis.

Keys (all under the store's prefix):

- `votes:<take>:up:<user>` / `votes:<take>:down:<user>`: the reaction names
  (skin tone kept, so two tones of one emoji are told apart) a person has on
  the take in that direction. A person counts +1 while their up set is not
  empty and −1 while their down set is not empty, however many emoji it holds.
- `votes:<take>`: the tally hash: `score`, and `e:<emoji>` = how many people
  have that (base) emoji on the take.
- `votes:dirty:<channel>`: takes whose card needs re-rendering;
  `votes:refresh:<channel>`: set while a card refresh is scheduled;
  `votes:edited:<channel>`: when the channel's cards were last edited.

Card edits are throttled per channel, leading and trailing: the first vote after
a quiet second is shown at once, the rest of a burst in one edit a second later.

One Lua script records a reaction, marks its event id seen and moves the tally,
so concurrent reactions and Slack's retries give the exact result.
"""

from __future__ import annotations

import json
import logging
import math
import time
from typing import Any

from jobs.domain.models import Take
from jobs.domain.store import RECORD_TTL_S, SEEN_TTL_S, Store

log = logging.getLogger(__name__)
REFRESH_INTERVAL_S = 1.0  # a channel's cards are edited at most once per interval
REFRESH_GUARD_MS = 30_000  # a lost refresh job stops blocking new ones after this long
DIRECTIONS = ("up", "down")

# KEYS: 1 seen-event key, 2 tally hash, 3 up set, 4 down set, 5 the take's voters (whose sets exist)
# ARGV: 1 reaction name, 2 base emoji, 3 direction to add ("up"/"down") or "" to remove from either,
#       4 "1" when KEYS[1] is to be checked, 5 seen ttl, 6 record ttl, 7 the user
# Returns 1 when the tally changed, 0 when it did not (repeat event, duplicate add, unknown removal).
_RECORD_LUA = """
if ARGV[4] == '1' then
  if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', tonumber(ARGV[5])) then return 0 end
end
local reaction, base = ARGV[1], ARGV[2]
local prefix = base .. '::'
local function has_base(key)
  for _, member in ipairs(redis.call('SMEMBERS', key)) do
    if member == base or string.sub(member, 1, #prefix) == prefix then return true end
  end
  return false
end
local sets = {{KEYS[3], 1, 'up'}, {KEYS[4], -1, 'down'}}
local changed = 0
for _, entry in ipairs(sets) do
  local key, weight, direction = entry[1], entry[2], entry[3]
  local adding = ARGV[3] == direction
  local removing = ARGV[3] == ''
  if adding or removing then
    local people_before = redis.call('SCARD', key)
    local base_before = has_base(key)
    local moved
    if adding then
      moved = redis.call('SADD', key, reaction)
      redis.call('SADD', KEYS[5], ARGV[7])
      redis.call('EXPIRE', KEYS[5], tonumber(ARGV[6]))
    else
      moved = redis.call('SREM', key, reaction)
    end
    if moved == 1 then
      changed = 1
      local people_after = redis.call('SCARD', key)
      local base_after = has_base(key)
      if people_before == 0 and people_after > 0 then
        redis.call('HINCRBY', KEYS[2], 'score', weight)
      elseif people_before > 0 and people_after == 0 then
        redis.call('HINCRBY', KEYS[2], 'score', -weight)
      end
      if base_after and not base_before then
        redis.call('HINCRBY', KEYS[2], 'e:' .. base, 1)
      elseif base_before and not base_after then
        if redis.call('HINCRBY', KEYS[2], 'e:' .. base, -1) <= 0 then redis.call('HDEL', KEYS[2], 'e:' .. base) end
      end
      if people_after > 0 then redis.call('EXPIRE', key, tonumber(ARGV[6])) end
    end
  end
end
if changed == 1 then redis.call('EXPIRE', KEYS[2], tonumber(ARGV[6])) end
return changed
"""

# KEYS: 1 dirty set, 2 refresh-pending flag. Returns the dirty take ids and clears both.
_POP_DIRTY_LUA = """
local ids = redis.call('SMEMBERS', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2])
return ids
"""


def base_emoji(name: str) -> str:
    """`+1::skin-tone-3` counts as `+1`."""
    return name.split("::", 1)[0]


def direction_of(emoji: str, up: list[str], down: list[str]) -> str | None:
    base = base_emoji(emoji)
    if base in up:
        return "up"
    if base in down:
        return "down"
    return None


def take_id_for_card(store: Store, channel: str, message_ts: str) -> str | None:
    """The take whose card is this message, with one GET (reactions on anything else stop here)."""
    found = store.redis.get(store.key("card", channel, message_ts))
    return found.decode() if isinstance(found, bytes) else found


def _tally_key(store: Store, take_id: str) -> str:
    return store.key("votes", take_id)


def _set_key(store: Store, take_id: str, direction: str, user: str) -> str:
    return store.key("votes", take_id, direction, user)


def record_reaction(
    store: Store,
    take_id: str,
    user: str,
    reaction: str,
    *,
    direction: str | None,
    added: bool,
    event_id: str | None = None,
) -> bool:
    """Apply one reaction event to a take's tally; True when the tally changed.

    `direction` is the set the emoji belongs to when added ("up"/"down"); a removal
    takes the reaction out of whichever set holds it, so a channel changing its
    emoji sets never leaves a vote behind.
    """
    if added and direction not in DIRECTIONS:
        return False
    script = store.script(_RECORD_LUA)
    seen_key = store.key("seen", "event", event_id) if event_id else store.key("seen", "event", "-")
    keys = [seen_key, _tally_key(store, take_id), _set_key(store, take_id, "up", user),
            _set_key(store, take_id, "down", user), _voters_key(store, take_id)]
    args = [reaction, base_emoji(reaction), direction if added else "", "1" if event_id else "0",
            SEEN_TTL_S, RECORD_TTL_S, user]
    return bool(script(keys=keys, args=args))


def _voters_key(store: Store, take_id: str) -> str:
    return store.key("votes", take_id, "voters")


# KEYS: 1 tally hash, 2 voters set. ARGV: 1 key prefix of the per-person sets ("<prefix>:votes:<take>:"),
# 2 record ttl, 3 a JSON list of [user, direction, reaction] as Slack shows them now.
# Replaces every person's sets and the tally with exactly that record, in one step.
_RECONCILE_LUA = """
local prefix = ARGV[1]
for _, user in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  redis.call('DEL', prefix .. 'up:' .. user, prefix .. 'down:' .. user)
end
redis.call('DEL', KEYS[1], KEYS[2])
local ttl = tonumber(ARGV[2])
local people = {}
local bases = {}
for _, entry in ipairs(cjson.decode(ARGV[3])) do
  local user, direction, reaction = entry[1], entry[2], entry[3]
  local key = prefix .. direction .. ':' .. user
  redis.call('SADD', key, reaction)
  redis.call('EXPIRE', key, ttl)
  redis.call('SADD', KEYS[2], user)
  people[direction .. ':' .. user] = (direction == 'up') and 1 or -1
  local base = string.match(reaction, '^(.-)::') or reaction
  bases[base .. '\0' .. user] = base
end
local score = 0
for _, weight in pairs(people) do score = score + weight end
redis.call('HSET', KEYS[1], 'score', score)
local counts = {}
for _, base in pairs(bases) do counts[base] = (counts[base] or 0) + 1 end
for base, count in pairs(counts) do redis.call('HSET', KEYS[1], 'e:' .. base, count) end
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
return score
"""


def reconcile(store: Store, take_id: str, reactions: dict[str, list[str]], up: list[str],
              down: list[str]) -> int:
    """Make a take's votes exactly what Slack shows: `reactions` is its record (reaction name → the people
    who have it, bots already left out). Events can arrive and run in any order; Slack's record is the truth.
    Returns the score."""
    entries: list[list[str]] = []
    for name, users in sorted(reactions.items()):
        direction = direction_of(name, up, down)
        if direction is None:
            continue
        entries.extend([user, direction, name] for user in sorted(set(users)))
    script = store.script(_RECONCILE_LUA)
    prefix = store.key("votes", take_id, "")
    return int(script(keys=[_tally_key(store, take_id), _voters_key(store, take_id)],
                      args=[prefix, RECORD_TTL_S, json.dumps(entries)]))


def tally(store: Store, take_id: str) -> tuple[int, dict[str, int]]:
    """(score, emoji → number of people) for a take, straight from the tally hash."""
    return _parse_tally(store.redis.hgetall(_tally_key(store, take_id)))


def _parse_tally(raw: dict[Any, Any]) -> tuple[int, dict[str, int]]:
    score = 0
    votes: dict[str, int] = {}
    for field, value in raw.items():
        name = field.decode() if isinstance(field, bytes) else field
        count = int(value)
        if name == "score":
            score = count
        elif name.startswith("e:") and count > 0:
            votes[name[2:]] = count
    return score, votes


def tallies(store: Store, take_ids: list[str]) -> dict[str, tuple[int, dict[str, int]]]:
    pipe = store.redis.pipeline(transaction=False)
    for take_id in take_ids:
        pipe.hgetall(_tally_key(store, take_id))
    return {take_id: _parse_tally(raw) for take_id, raw in zip(take_ids, pipe.execute(), strict=True)}


def sync_take(store: Store, take_id: str) -> Take | None:
    """Copy the tally onto the Take record (so export and the card show it).

    The tally is read inside the record's WATCHed update, so whichever writer
    commits last wrote a tally read after every reaction before it.
    """

    def apply(take: Take) -> None:
        take.score, take.votes = tally(store, take_id)

    return store.update_take(take_id, apply)


def mark_dirty(store: Store, channel: str, take_id: str) -> bool:
    """Note a card needs re-rendering; True when the caller must schedule the refresh (none is pending)."""
    pipe = store.redis.pipeline(transaction=True)
    pipe.sadd(store.key("votes", "dirty", channel), take_id)
    pipe.expire(store.key("votes", "dirty", channel), RECORD_TTL_S)
    pipe.set(store.key("votes", "refresh", channel), "1", nx=True, px=REFRESH_GUARD_MS)
    return bool(pipe.execute()[-1])


def refresh_delay_s(store: Store, channel: str, now: float | None = None) -> float:
    """How long the next card refresh of `channel` must wait so edits stay a second apart (0: now)."""
    now = time.time() if now is None else now
    raw = store.redis.get(store.key("votes", "edited", channel))
    due = (float(raw) if raw else 0.0) + REFRESH_INTERVAL_S
    if due <= now:
        return 0.0
    # rq's scheduler keeps whole seconds (it truncates the time), so aim past the next whole second.
    return math.ceil(due) - now + 0.001


def pop_dirty(store: Store, channel: str) -> list[str]:
    script = store.script(_POP_DIRTY_LUA)
    ids = script(keys=[store.key("votes", "dirty", channel), store.key("votes", "refresh", channel)])
    return sorted(i.decode() if isinstance(i, bytes) else i for i in ids)


def ranking(store: Store, channel: str, thread_ts: str) -> list[Take]:
    """The thread's posted takes, best first: score (descending), then earliest (round, then letter)."""
    takes = [t for t in store.thread_takes(channel, thread_ts) if t.message_ts]
    counted = tallies(store, [t.id for t in takes])
    for take in takes:
        take.score, take.votes = counted[take.id]
    return sorted(takes, key=lambda t: (-t.score, t.round, t.index, t.created_at))
