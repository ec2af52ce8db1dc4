"""Pydantic models for everything Dailies keeps in Redis, and the brief it parses."""

from __future__ import annotations

import re
import time
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from adapters.base import Aspect, Resolution
from jobs.audio.report import SoundReport


def now_s() -> float:
    return time.time()


class DialogueLine(BaseModel):
    speaker: str | None = None
    line: str


class Brief(BaseModel):
    """A parsed brief. Flags left as None take the channel's (or the model's) default."""

    picture: str = ""
    revisions: list[str] = Field(default_factory=list)
    sound: list[str] = Field(default_factory=list)
    music: str | None = None
    music_off: bool = False
    dialogue: list[DialogueLine] = Field(default_factory=list)
    takes: int | None = None
    duration_s: int | None = None
    aspect: Aspect | None = None
    asked_aspect: str | None = None  # a shape no model makes, kept only to be refused by name
    resolution: Resolution | None = None
    model: str | None = None
    seed: int | None = None
    negative: str | None = None
    target: str | None = None
    silent: bool = False
    no_ref: bool = False  # `--no-ref`: a refinement that drops the thread's reference frame

    @property
    def has_sound_direction(self) -> bool:
        return bool(self.sound or self.music or self.music_off or self.dialogue)

    def picture_text(self) -> str:
        return " ".join(part for part in [self.picture, *self.revisions] if part).strip()


class ReferenceImage(BaseModel):
    """A reference frame attached to a brief, as Slack describes the file (`files.info`)."""

    file_id: str
    name: str
    mimetype: str
    size_bytes: int
    width_px: int | None = None
    height_px: int | None = None
    role: Literal["first_frame", "last_frame"] = "first_frame"


class ResolvedBrief(BaseModel):
    """A brief with every flag decided: what one request renders."""

    brief: Brief
    takes: int
    duration_s: int
    aspect: Aspect
    resolution: Resolution
    model: str
    seed: int
    target: str
    sound_bible: str | None = None  # the channel's standing sound direction when the brief was accepted
    references: list[ReferenceImage] = Field(default_factory=list)  # first frame, then last frame


class TakeState(StrEnum):
    queued = "queued"
    submitted = "submitted"
    generating = "generating"
    processing = "processing"
    posted = "posted"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (TakeState.posted, TakeState.failed, TakeState.cancelled)


class TicketRef(BaseModel):
    id: str
    status: str
    claimed_by: str | None = None
    due_at: float | None = None
    lead: str | None = None
    delivered_at: float | None = None


class TakeNote(BaseModel):
    """A note on a moment of a take, from its thread (`note 1B 0:03 …`)."""

    at_s: float
    text: str
    by: str
    ts: str  # the Slack message the note was written in
    added_at: float = Field(default_factory=now_s)


# A take's label as people write it: its round and letter (`1B`), and for a new sound of it, `·s` and a number.
TAKE_LABEL_RE = re.compile(r"^\d{1,3}[A-Za-z]{1,2}(?:·[sS]\d{1,2})?$")


class TakePreview(BaseModel):
    """The copy posted for listening: the take's sound moved to the channel's listening level (fair review)."""

    path: str | None  # the listening copy; None when the take is already at the level (heard as it is)
    native_lufs: float
    heard_lufs: float
    gain_db: float
    limited: bool = False  # a true-peak limiter caught the peaks the gain would have pushed over the ceiling


class Take(BaseModel):
    id: str
    request_id: str
    label: str
    index: int
    round: int
    channel: str
    thread_ts: str
    requester: str
    model: str
    seed: int
    duration_s: int
    aspect: Aspect
    resolution: Resolution
    target: str
    silent: bool = False
    reference_frames: int = 0  # 1: from a reference frame; 2: from a first to a last frame
    resound_of: str | None = None  # re-sound: the take whose picture this take keeps, with a new sound
    picture_model: str | None = None  # …and the model that made that picture (provenance)
    state: TakeState = TakeState.queued
    provider_job_id: str | None = None
    provider_status: str | None = None
    progress: float | None = None
    result_url: str | None = None
    submitted_at: float | None = None
    polls: int = 0
    next_step_at: float | None = None  # when the next scheduled poll is due
    poll_chain: str | None = None  # the one live poll chain; polls from any other stop
    # Provenance: the provider's model id, exactly what was sent to it (without the callback URL, a secret),
    # and when the provider said the render was done.
    provider_model: str | None = None
    sent: dict[str, Any] | None = None
    finished_at: float | None = None
    file_path: str | None = None
    waveform_path: str | None = None
    sound: SoundReport | None = None
    file_id: str | None = None  # the copy in the thread: the preview when there is one
    preview: TakePreview | None = None
    native_file_id: str | None = None  # the native file kept in Slack (not shared) when the thread has a preview
    waveform_file_id: str | None = None
    message_ts: str | None = None
    cost_usd: float = 0.0
    estimate_usd: float = 0.0
    votes: dict[str, int] = Field(default_factory=dict)
    score: int = 0
    ticket: TicketRef | None = None
    notes: list[TakeNote] = Field(default_factory=list)
    error: str | None = None
    error_kind: str | None = None
    created_at: float = Field(default_factory=now_s)
    updated_at: float = Field(default_factory=now_s)

    @property
    def thread_copy_is_native(self) -> bool:
        return self.preview is None or self.preview.path is None

    @property
    def native_copy_id(self) -> str | None:
        """Slack's copy of the native file: the one in the thread, unless the thread has a matched preview."""
        return self.file_id if self.thread_copy_is_native else self.native_file_id


class RequestState(StrEnum):
    queued = "queued"
    rendering = "rendering"
    done = "done"
    cancelled = "cancelled"


class Request(BaseModel):
    id: str
    channel: str
    thread_ts: str
    source_ts: str
    requester: str
    round: int
    resolved: ResolvedBrief
    take_ids: list[str] = Field(default_factory=list)
    state: RequestState = RequestState.queued
    status_ts: str | None = None
    status_edited_at: float = 0.0
    estimate_usd: float = 0.0
    changes: list[str] = Field(default_factory=list)
    notices: list[str] = Field(default_factory=list)  # said once on the status message (e.g. what was cleaned)
    parent_take_id: str | None = None
    contact_sheet_file_id: str | None = None  # the round's contact sheet, once posted
    created_at: float = Field(default_factory=now_s)
    finished_at: float | None = None
