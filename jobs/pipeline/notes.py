"""After a timecoded note is kept: the take's card shows the count, and a take already with the sound team has
the note mirrored into its ticket's thread (once) and listed on its ticket."""

from __future__ import annotations

from jobs.domain import tickets
from jobs.infra.store import RedisStore
from jobs.pipeline.runtime import Runtime


def note_added(rt: Runtime, take_id: str, note_ts: str) -> None:
    store = rt.store
    if not isinstance(store, RedisStore):
        return
    take = store.get_take(take_id)
    if take is None:
        return
    rt.notifier.card_changed(take)
    note = next((n for n in take.notes if n.ts == note_ts), None)
    ticket = tickets.ticket_for_take(store, take_id)
    if note is None or ticket is None or not ticket.queue_ts:
        return  # a ticket not yet posted lists every note when it is
    if store.first_time("note_mirror", f"{take_id}:{note_ts}"):
        rt.notifier.ticket_note(ticket, take, note)
    rt.notifier.ticket_changed(ticket, take)
