"""`@dailies note 1B 0:03 the whistle is harsh` in a take's thread: a note at a moment of the take."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.deps import Deps
from bot.slack.payloads import MessageEvent
from bot.slack.reply import reply
from bot.slack.text import escaped
from jobs.domain.models import TakeNote
from jobs.domain.notes import NoteError, add_note, find_take, looks_like_note, parse_note, timecode


def handle_note(deps: Deps, client: WebClient, message: MessageEvent, rest: str) -> bool:
    if not looks_like_note(rest):
        return False  # "note the light…": a brief that starts with the word
    channel, thread_ts = message.channel, message.thread
    try:
        label, at_s, text = parse_note(rest)
        take = find_take(deps.store, channel, thread_ts, label)
        take = add_note(deps.store, take, TakeNote(at_s=at_s, text=text, by=message.user or "", ts=message.ts))
    except NoteError as problem:
        reply(client, f":memo: Note not kept: {escaped(str(problem), 1500)}", channel=channel, thread_ts=thread_ts)
        return True
    count = len(take.notes)
    where = " It is mirrored into its sound ticket's thread." if take.ticket else " It goes to the sound team with the take."
    reply(client, f":memo: Noted on take {take.label} at {timecode(at_s)} ({count} note{'s' if count != 1 else ''} "
                  f"on {take.label}).{where}", channel=channel, thread_ts=thread_ts)
    deps.enqueue("note_added", take.id, message.ts)
    return True
