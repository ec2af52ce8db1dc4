"""Sound tickets: a hero take handed to the sound team, its state machine, and its records in Redis.

A ticket (`SND-0001`, …) moves `queued → claimed → delivered`, or to `returned`
(with notes, by the sound team) or `cancelled` (by a lead). A lead flagging a
returned or cancelled take again reopens its ticket (`→ queued`). Every change
is appended to `history` with who and when; Slack mirrors it from there.

Keys (all under the store's prefix):

- `ticket:<id>`             the Ticket as JSON
- `ticket:counter`          INCR counter behind the ids
- `ticket:take:<take_id>`   the take's ticket id (set NX: one ticket per take, however often it is flagged)
- `ticket:msg:<ch>:<ts>`    the ticket whose queue message is (channel, ts): uploads in its thread are deliveries
- `tickets:open`            sorted set of open (queued/claimed) ticket ids, scored by creation time

What counts as a delivered mix (`judge_mix`): the sound check's verdict is not
`fail`, its integrated loudness is within the target's tolerance
(`DeliveryTarget.tolerance_lu`, e.g. −14 ± 1 LUFS for social) and its true peak
is at or under the target's ceiling (with 0.1 dB allowance for the meter).
Other warnings are reported but do not block delivery. A lead can accept a
failing mix anyway.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from jobs.audio.report import SoundReport
from jobs.audio.targets import get_target
from jobs.domain.models import Brief, Request, Take, TicketRef, now_s
from jobs.domain.stems import Stems
from jobs.domain.store import RECORD_TTL_S, Store

TICKET_ID_RE = re.compile(r"^SND-\d{4,9}$")
TRUE_PEAK_ALLOWANCE_DB = 0.1
HOLD_PREFIX = ".hold-"


class TicketState(StrEnum):
    queued = "queued"
    claimed = "claimed"
    delivered = "delivered"
    returned = "returned"
    cancelled = "cancelled"

    @property
    def open(self) -> bool:
        return self in (TicketState.queued, TicketState.claimed)


class TicketError(Exception):
    """A change the ticket's state does not allow. The sentence for the person who asked is `sentence(who)`:
    `who` writes a person (the one who holds the ticket, `holder`) the way the place it is shown does."""

    def __init__(self, text: str, holder: str | None = None) -> None:
        super().__init__(text.replace(HOLDER, holder or "someone"))
        self.text = text
        self.holder = holder

    def sentence(self, who: Callable[[str], str]) -> str:
        return self.text.replace(HOLDER, who(self.holder) if self.holder else "someone")


HOLDER = "{holder}"  # where the person holding a ticket goes in a TicketError's sentence


class TicketEvent(BaseModel):
    at: float = Field(default_factory=now_s)
    by: str
    action: str
    from_state: TicketState | None = None
    to_state: TicketState
    note: str | None = None

    @property
    def changes_state(self) -> bool:
        return self.from_state != self.to_state


class MixCheck(BaseModel):
    """One mix uploaded into the ticket's thread and what the sound check made of it."""

    file_id: str
    name: str
    by: str
    at: float = Field(default_factory=now_s)
    passed: bool | None = None
    reasons: list[str] = Field(default_factory=list)
    integrated_lufs: float | None = None
    true_peak_dbtp: float | None = None
    summary: str = ""
    verdict: str | None = None
    report: dict[str, Any] | None = None
    path: str | None = None
    error: str | None = None


class Ticket(BaseModel):
    id: str
    take_id: str
    request_id: str
    take_label: str
    model: str
    duration_s: int
    channel: str
    thread_ts: str
    card_ts: str | None = None
    requester: str
    lead: str
    target: str
    brief: Brief
    state: TicketState = TicketState.queued
    created_at: float = Field(default_factory=now_s)
    updated_at: float = Field(default_factory=now_s)
    due_at: float
    claimed_by: str | None = None
    claimed_at: float | None = None
    delivered_by: str | None = None
    delivered_at: float | None = None
    accepted_by: str | None = None
    returned_by: str | None = None
    notes: str | None = None
    queue_channel: str
    queue_ts: str | None = None
    permalink: str | None = None
    report: SoundReport | None = None
    sound_bible: str | None = None  # the channel's standing sound direction the take was made with
    package_file_ids: list[str] = Field(default_factory=list)
    mixes: list[MixCheck] = Field(default_factory=list)
    final_file_id: str | None = None
    final_posted: bool = False
    mirrored: int = 0
    history: list[TicketEvent] = Field(default_factory=list)
    turnover_version: int = 1  # the newest turnover archive posted (a later note or the stems make the next)
    stems: Stems | None = None

    @property
    def overdue(self) -> bool:
        return self.state.open and time.time() > self.due_at

    def mix(self, file_id: str) -> MixCheck | None:
        return next((m for m in self.mixes if m.file_id == file_id), None)

    @property
    def last_mix(self) -> MixCheck | None:
        return self.mixes[-1] if self.mixes else None

    def ref(self) -> TicketRef:
        return TicketRef(id=self.id, status=self.state.value, claimed_by=self.claimed_by, due_at=self.due_at,
                         lead=self.lead, delivered_at=self.delivered_at)


# keys -----------------------------------------------------------------------------------------------
def ticket_key(store: Store, ticket_id: str) -> str:
    return store.key("ticket", ticket_id)


def _take_key(store: Store, take_id: str) -> str:
    return store.key("ticket", "take", take_id)


def state_key(store: Store, state: TicketState) -> str:
    """The tickets in one state (score: created), which `/metrics` counts."""
    return store.key("ticket", "state", state.value)


def index_state(store: Store, ticket: Ticket) -> None:
    with store.redis.pipeline(transaction=True) as pipe:
        for state in TicketState:
            if state == ticket.state:
                pipe.zadd(state_key(store, state), {ticket.id: ticket.created_at})
            else:
                pipe.zrem(state_key(store, state), ticket.id)
        pipe.execute()


def _open_key(store: Store) -> str:
    return store.key("tickets", "open")


def _message_key(store: Store, channel: str, ts: str) -> str:
    return store.key("ticket", "msg", channel, ts)


# reading ----------------------------------------------------------------------------------------------
def valid_ticket_id(value: object) -> bool:
    return isinstance(value, str) and bool(TICKET_ID_RE.match(value))


def get_ticket(store: Store, ticket_id: str) -> Ticket | None:
    if not valid_ticket_id(ticket_id):
        return None
    raw = store.redis.get(ticket_key(store, ticket_id))
    return Ticket.model_validate_json(raw) if raw else None


def index_message(store: Store, channel: str, ts: str, ticket_id: str) -> None:
    store.redis.set(_message_key(store, channel, ts), ticket_id, ex=RECORD_TTL_S)


def ticket_for_message(store: Store, channel: str, ts: str) -> Ticket | None:
    ticket_id = store.redis.get(_message_key(store, channel, ts))
    return get_ticket(store, ticket_id.decode()) if ticket_id else None


def ticket_for_take(store: Store, take_id: str) -> Ticket | None:
    """The take's ticket, read from its index (set the moment the ticket is created, before it is posted)."""
    ticket_id = store.redis.get(_take_key(store, take_id))
    return get_ticket(store, ticket_id.decode() if isinstance(ticket_id, bytes) else ticket_id) if ticket_id else None


def open_tickets(store: Store) -> list[Ticket]:
    """Open tickets, oldest first."""
    ids = store.redis.zrange(_open_key(store), 0, -1)
    found = [get_ticket(store, i.decode()) for i in ids]
    return [t for t in found if t is not None and t.state.open]


# writing ----------------------------------------------------------------------------------------------
_CREATE_LUA = """
local existing = redis.call('GET', KEYS[1])
if existing then return {0, existing} end
local n = redis.call('INCR', KEYS[2])
local id = string.format('SND-%04d', n)
local body = string.gsub(ARGV[1], ARGV[2], id)
redis.call('SET', ARGV[3] .. id, body, 'EX', ARGV[4])
redis.call('SET', KEYS[1], id, 'EX', ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[5], id)
return {1, id}
"""


def create_ticket(store: Store, take: Take, request: Request, *, lead: str, queue_channel: str,
                  sla_hours: float) -> tuple[Ticket, bool]:
    """The take's ticket and whether this call created it. Atomic: two flags at once make one ticket."""
    placeholder = "SNDPENDING" + uuid.uuid4().hex
    now = time.time()
    draft = Ticket(
        id=placeholder, take_id=take.id, request_id=take.request_id, take_label=take.label, model=take.model,
        duration_s=take.duration_s, channel=take.channel, thread_ts=take.thread_ts, card_ts=take.message_ts,
        requester=take.requester, lead=lead, target=take.target, brief=request.resolved.brief,
        created_at=now, updated_at=now, due_at=now + sla_hours * 3600, queue_channel=queue_channel,
        report=take.sound, sound_bible=request.resolved.sound_bible,
        history=[TicketEvent(at=now, by=lead, action="created", from_state=None, to_state=TicketState.queued)],
    )
    created, ticket_id = store.script(_CREATE_LUA)(
        keys=[_take_key(store, take.id), store.key("ticket", "counter"), _open_key(store)],
        args=[draft.model_dump_json(), placeholder, store.key("ticket", ""), RECORD_TTL_S, now],
    )
    ticket_id = ticket_id.decode() if isinstance(ticket_id, bytes) else str(ticket_id)
    ticket = get_ticket(store, ticket_id)
    if ticket is None:  # the record expired under its index: start afresh under the same id
        draft.id = ticket_id
        store.redis.set(ticket_key(store, ticket_id), draft.model_dump_json(), ex=RECORD_TTL_S)
        store.redis.zadd(_open_key(store), {ticket_id: now})
        index_state(store, draft)
        return draft, True
    if int(created):
        index_state(store, ticket)
    return ticket, bool(int(created))


def update_ticket(store: Store, ticket_id: str, mutate: Callable[[Ticket], None]) -> Ticket | None:
    """Read-modify-write under WATCH; an exception raised by `mutate` leaves the record untouched."""
    if not valid_ticket_id(ticket_id):
        return None
    ticket = store.update_record(ticket_key(store, ticket_id), Ticket, mutate)
    if ticket is not None:
        if ticket.state.open:
            store.redis.zadd(_open_key(store), {ticket.id: ticket.created_at})
        else:
            store.redis.zrem(_open_key(store), ticket.id)
        index_state(store, ticket)
    return ticket


# the state machine ------------------------------------------------------------------------------------
TRANSITIONS: dict[str, tuple[frozenset[TicketState], TicketState]] = {
    "claim": (frozenset({TicketState.queued}), TicketState.claimed),
    "take_over": (frozenset({TicketState.claimed}), TicketState.claimed),
    "deliver": (frozenset({TicketState.claimed}), TicketState.delivered),
    "accept": (frozenset({TicketState.claimed}), TicketState.delivered),
    "return": (frozenset({TicketState.queued, TicketState.claimed}), TicketState.returned),
    "cancel": (frozenset({TicketState.queued, TicketState.claimed, TicketState.returned}), TicketState.cancelled),
    "reopen": (frozenset({TicketState.returned, TicketState.cancelled}), TicketState.queued),
}


def acts_on_claimed(ticket: Ticket, user: str) -> bool:
    """Whether `user` may deliver or return `ticket` as its sound designer: anyone while nobody holds it, only
    its claimant once it is claimed (leads are decided by the caller)."""
    return ticket.state != TicketState.claimed or ticket.claimed_by in (None, user)


def _refusal(ticket: Ticket, action: str) -> str:
    who = f" by {HOLDER}" if ticket.claimed_by and ticket.state == TicketState.claimed else ""
    where = f"{ticket.id} is {ticket.state.value}{who}"
    if action == "claim" and ticket.state == TicketState.claimed:
        return f"{where} already."
    if action in ("deliver", "accept") and ticket.state == TicketState.queued:
        return f"{where}: claim it first, then deliver."
    if not ticket.state.open and action != "reopen":
        return f"{where}: there is nothing left to {action}."
    return f"{where}: it cannot be {action}ed now." if action != "reopen" else f"{where}: it is not closed."


def apply(ticket: Ticket, action: str, by: str, *, note: str | None = None, at: float | None = None) -> None:
    """Move `ticket` by `action`, recording who and when; raise TicketError when its state does not allow it."""
    allowed, to_state = TRANSITIONS[action]
    if ticket.state not in allowed:
        raise TicketError(_refusal(ticket, action), holder=ticket.claimed_by)
    when = at or time.time()
    ticket.history.append(TicketEvent(at=when, by=by, action=action, from_state=ticket.state, to_state=to_state,
                                      note=note))
    ticket.state = to_state
    if action in ("claim", "take_over"):
        ticket.claimed_by, ticket.claimed_at = by, when
    elif action in ("deliver", "accept"):
        ticket.delivered_by, ticket.delivered_at = by, when
        if action == "accept":
            ticket.accepted_by = by
    elif action == "return":
        ticket.returned_by, ticket.notes = by, note
    elif action == "reopen":
        ticket.claimed_by = ticket.claimed_at = ticket.returned_by = None
        ticket.due_at = max(ticket.due_at, when + (ticket.due_at - ticket.created_at))


def transition(store: Store, ticket_id: str, action: str, by: str, *, note: str | None = None,
               extra: Callable[[Ticket], None] | None = None) -> Ticket:
    """Apply `action` to the stored ticket atomically; raises TicketError (unknown ticket or refused change)."""

    def change(ticket: Ticket) -> None:
        apply(ticket, action, by, note=note)
        if extra:
            extra(ticket)

    ticket = update_ticket(store, ticket_id, change)
    if ticket is None:
        raise TicketError(f"There is no sound ticket {ticket_id}.")
    return ticket


def note_event(store: Store, ticket_id: str, action: str, by: str, note: str | None = None) -> Ticket | None:
    """Record something that happened to a ticket without changing its state (e.g. a mix failing its check)."""

    def add(ticket: Ticket) -> None:
        ticket.history.append(TicketEvent(by=by, action=action, from_state=ticket.state, to_state=ticket.state,
                                          note=note))

    return update_ticket(store, ticket_id, add)


# judging a delivered mix ------------------------------------------------------------------------------
def judge_mix(report: SoundReport, target: str) -> list[str]:
    """Why a mix cannot be delivered against `target`; an empty list means it passes (see module doc)."""
    delivery = get_target(target)
    reasons: list[str] = []
    if not report.has_audio:
        return ["it has no audio track"]
    lufs, peak = report.integrated_lufs, report.true_peak_dbtp
    if lufs is None:
        reasons.append("its loudness could not be measured (silent or shorter than 0.4 s)")
    else:
        offset = lufs - delivery.integrated_lufs
        if abs(offset) > delivery.tolerance_lu:
            direction = "louder" if offset > 0 else "quieter"
            reasons.append(
                f"{lufs:.1f} LUFS is {abs(offset):.1f} LU {direction} than {delivery.key} "
                f"({delivery.integrated_lufs:g} LUFS ± {delivery.tolerance_lu:g} LU)"
            )
    if peak is not None and peak > delivery.true_peak_dbtp + TRUE_PEAK_ALLOWANCE_DB:
        reasons.append(f"true peak {peak:+.1f} dBTP is over the {delivery.true_peak_dbtp:g} dBTP ceiling")
    for finding in report.findings:
        if finding.severity == "fail" and not any(word in finding.code for word in ("loudness", "peak")):
            reasons.append(finding.message)
    if report.verdict == "fail" and not reasons:
        reasons.append(report.summary or "the sound check failed it")
    return reasons


# media the ticket needs --------------------------------------------------------------------------------
def hold_media(folder: Path, ticket_id: str) -> None:
    """Mark a take's folder as needed by a ticket: the media sweep leaves it until the hold is released."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{HOLD_PREFIX}{ticket_id}").touch()


def release_media(folder: Path, ticket_id: str) -> None:
    (folder / f"{HOLD_PREFIX}{ticket_id}").unlink(missing_ok=True)


def is_held(folder: Path) -> bool:
    return folder.is_dir() and any(folder.glob(f"{HOLD_PREFIX}*"))


def ticket_dir(media_dir: Path, ticket_id: str) -> Path:
    return Path(media_dir) / "tickets" / ticket_id
