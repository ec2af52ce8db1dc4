"""Timecoded notes on a take: `note 1B 0:03 the whistle is harsh` (or `1B 3.5s …`) in the take's thread.

A note is kept on the take itself (`Take.notes`), so the card, a sound ticket and `dailies export` read the
same list. Adding the same Slack message twice keeps one note (`TakeNote.ts` is the message's ts).
"""

from __future__ import annotations

import re

from jobs.domain.models import TAKE_LABEL_RE, Take, TakeNote
from jobs.domain.store import Store

MAX_NOTES_PER_TAKE = 100
MAX_NOTE_CHARS = 1000
# 0:03 · 1:02.5 · 1:00:04 · 3.5s · 3s · 3sec (one word: the note text starts after it)
_CLOCK_RE = re.compile(r"^(?:(\d{1,2}):)?(\d{1,3}):([0-5]\d(?:\.\d{1,3})?)$")
_SECONDS_RE = re.compile(r"^(\d{1,5}(?:\.\d{1,3})?)(?:s|sec|secs|seconds?)$", re.IGNORECASE)
HOW = ("Write it as `@dailies note 1B 0:03 the whistle is harsh` (or `1B 3.5s …`) in the take's thread: the take's "
       "label, a time into the take, then the note.")


class NoteError(ValueError):
    """A note that cannot be kept; the message says why and what to write instead."""


def looks_like_note(rest: str) -> bool:
    """`note <label> …`: anything else after the word `note` is a brief that happens to start with it."""
    first = rest.split(maxsplit=1)[0] if rest.split() else ""
    return bool(TAKE_LABEL_RE.match(first))


def parse_timecode(text: str) -> float | None:
    """Seconds into the take for `0:03`, `1:02.5`, `1:00:04`, `3.5s` or `3sec`; None when it is none of them."""
    clock = _CLOCK_RE.match(text)
    if clock:
        hours, minutes, seconds = clock.groups()
        return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    plain = _SECONDS_RE.match(text)
    return float(plain.group(1)) if plain else None


def timecode(at_s: float) -> str:
    """`0:03`, `0:03.5`, `1:02.25`: minutes and seconds, with a fraction only when there is one."""
    minutes, seconds = divmod(round(at_s, 2), 60)
    whole = f"{int(minutes)}:{int(seconds):02d}"
    fraction = f"{seconds - int(seconds):.2f}"[1:].rstrip("0").rstrip(".")
    return whole + fraction


def parse_note(rest: str) -> tuple[str, float, str]:
    """(label, seconds, text) of `1B 0:03 the whistle is harsh`."""
    parts = rest.split(maxsplit=2)
    if len(parts) < 2:
        raise NoteError(f"A note needs a take, a time and what you heard. {HOW}")
    label = parts[0].upper()
    at_s = parse_timecode(parts[1])
    if at_s is None:
        raise NoteError(f"`{parts[1][:20]}` is not a time into the take. {HOW}")
    text = parts[2].strip() if len(parts) > 2 else ""
    if not text:
        raise NoteError(f"The note on take {label} at {timecode(at_s)} has no words. {HOW}")
    if len(text) > MAX_NOTE_CHARS:
        raise NoteError(f"Keep a note under {MAX_NOTE_CHARS} characters (this one has {len(text)}); split it into "
                        "notes at their own times.")
    return label, at_s, text


def take_length_s(take: Take) -> float:
    """The take's real length when its file was measured, else the length asked of the model."""
    if take.sound is not None:
        measured = take.sound.video_duration_s or take.sound.duration_s
        if measured:
            return float(measured)
    return float(take.duration_s)


def find_take(store: Store, channel: str, thread_ts: str, label: str) -> Take:
    takes = store.thread_takes(channel, thread_ts)
    for take in takes:
        if take.label.upper() == label:
            return take
    if not takes:
        raise NoteError(f"There are no takes in this thread, so there is no take {label} to note. {HOW}")
    labels = ", ".join(t.label for t in takes[:30])
    raise NoteError(f"There is no take {label} in this thread (its takes are {labels}). {HOW}")


def add_note(store: Store, take: Take, note: TakeNote) -> Take:
    """Keep `note` on `take`; refused past the take's end, before it is posted, or when it already has enough."""
    if not take.message_ts:
        raise NoteError(f"Take {take.label} has not been posted yet. Note it once its card is in the thread.")
    length_s = take_length_s(take)
    if note.at_s > length_s:
        raise NoteError(f"Take {take.label} is {length_s:.1f} s long, so {timecode(note.at_s)} is past its end. "
                        f"Give a time from 0:00 to {timecode(length_s)}.")
    if len(take.notes) >= MAX_NOTES_PER_TAKE:
        raise NoteError(f"Take {take.label} already has {MAX_NOTES_PER_TAKE} notes; put the rest in its sound "
                        "ticket's thread.")

    def append(t: Take) -> None:
        if all(existing.ts != note.ts for existing in t.notes):
            t.notes.append(note)
            t.notes.sort(key=lambda n: (n.at_s, n.added_at))

    updated = store.update_take(take.id, append)
    if updated is None:
        raise NoteError(f"Take {take.label} is no longer on record.")
    return updated
