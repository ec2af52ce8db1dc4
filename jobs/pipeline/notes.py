"""After a timecoded note is kept: the take's card shows the count, and a take already with the sound team has
the note mirrored into its ticket's thread (once), listed on its ticket, and a new version of its turnover archive
(with the note as a marker) posted there once."""

from __future__ import annotations

from jobs.domain import tickets
from jobs.pipeline.runtime import Runtime
from jobs.pipeline.tickets import post_next_turnover


def note_added(rt: Runtime, take_id: str, note_ts: str) -> None:
    store = rt.store
    take = store.get_take(take_id)
    if take is None:
        return
    rt.notifier.card_changed(take)
    note = next((n for n in take.notes if n.ts == note_ts), None)
    ticket = tickets.ticket_for_take(store, take_id)
    if note is None or ticket is None or not ticket.queue_ts:
        return  # a ticket not yet posted lists every note when it is
    if store.first_time("note_mirror", f"{take_id}:{note_ts}"):
        rt.sound_desk().ticket_note(ticket, take, note)
    if ticket.package_file_ids and store.first_time("turnover", f"{take_id}:{note_ts}"):
        post_next_turnover(rt, ticket.id, "")  # the next version of the archive, with this marker
    rt.sound_desk().ticket_changed(ticket, take)
