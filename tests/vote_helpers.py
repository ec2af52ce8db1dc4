"""Helpers for the votes, rounds and cancel tests: reaction events, a posted round, a step-by-step worker."""

from __future__ import annotations

import uuid
from typing import Any

from bot.worker import make_worker
from jobs.domain.models import Request, Take
from jobs.domain.store import RedisStore
from tests.harness import BotEndpoint, Worker, mention, reaction_event, wait_for
from tests.standins.slack import SlackStandIn

CHANNEL = "C0ART"
CREATIVE = "U0CREATIVE"


def event_id() -> str:
    return f"Ev{uuid.uuid4().hex[:12].upper()}"


def thread_takes(store: RedisStore, thread_ts: str, channel: str = CHANNEL) -> list[Take]:
    return [t for r in store.thread_requests(channel, thread_ts) for t in store.takes_for(r)]


def thread_requests(store: RedisStore, thread_ts: str, channel: str = CHANNEL) -> list[Request]:
    return store.thread_requests(channel, thread_ts)


def send_brief(bot: BotEndpoint, store: RedisStore, text: str, *, thread_ts: str, ts: str | None = None,
               user: str = CREATIVE) -> Request:
    """Mention the bot (top level when `ts` is None, else a reply in the thread); wait for its request."""
    before = len(thread_requests(store, thread_ts))
    event = mention(text, ts=ts or thread_ts, thread_ts=thread_ts if ts else None, user=user)
    assert bot.event(event).status_code == 200
    requests = wait_for(lambda: (r := thread_requests(store, thread_ts)) and len(r) > before and r)
    request = requests[-1]
    wait_for(lambda: (r := store.get_request(request.id)) and r.status_ts)
    return store.get_request(request.id)


def posted_round(bot: BotEndpoint, worker: Worker, text: str, *, thread_ts: str) -> list[Take]:
    """A round rendered and posted in its own thread: its takes, with their card message ts."""
    request = send_brief(bot, worker.store, text, thread_ts=thread_ts)
    wait_for(worker.pending)
    worker.drain()
    takes = worker.store.takes_for(worker.store.get_request(request.id))
    assert all(t.message_ts for t in takes), [(t.state, t.error) for t in takes]
    return takes


def run_jobs(worker: Worker, count: int) -> None:
    """Run exactly `count` queued jobs (to stop a round part-way)."""
    make_worker(worker.runtime, worker.queue, simple=True).work(burst=True, max_jobs=count, logging_level="WARNING")


def card_updates(slack: SlackStandIn, ts: str) -> list[dict[str, Any]]:
    return [c.args for c in slack.calls_to("chat.update") if c.args.get("ts") == ts]


def cancel_round(bot: BotEndpoint, request: Request, *, user: str = CREATIVE) -> None:
    """❌ on the round's status message, as the requester."""
    assert request.status_ts, "the round has no status message yet"
    assert bot.event(reaction_event("x", user=user, ts=request.status_ts), event_id=event_id()).status_code == 200
