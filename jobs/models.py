"""Pydantic models for everything Dailies keeps in Redis, and the brief it parses."""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

Aspect = Literal["16:9", "9:16", "1:1"]
Resolution = Literal["720p", "1080p"]


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
    resolution: Resolution | None = None
    model: str | None = None
    seed: int | None = None
    negative: str | None = None
    target: str | None = None
    silent: bool = False

    @property
    def has_sound_direction(self) -> bool:
        return bool(self.sound or self.music or self.music_off or self.dialogue)

    def picture_text(self) -> str:
        return " ".join(part for part in [self.picture, *self.revisions] if part).strip()


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


class SoundFinding(BaseModel):
    code: str
    severity: Literal["info", "warn", "fail"]
    message: str
    short: str = ""  # a few words for the one-line verdict on the take card
    value: float | None = None  # the measured number the finding is about
    limit: float | None = None  # the threshold or target it was judged against


class SoundReport(BaseModel):
    """What the sound check measured. Extra measurements are allowed so the check can grow."""

    model_config = {"extra": "allow"}

    integrated_lufs: float | None = None
    true_peak_dbtp: float | None = None
    loudness_range_lu: float | None = None  # reported, never judged (meaningless on short clips)
    max_momentary_lufs: float | None = None
    max_short_term_lufs: float | None = None
    sample_peak_dbfs: float | None = None
    duration_s: float | None = None  # the audio's length
    video_duration_s: float | None = None
    sample_rate_hz: int | None = None
    channels: int | None = None
    channel_layout: str | None = None
    audio_codec: str | None = None
    channel_lufs: dict[str, float | None] = Field(default_factory=dict)  # LFE excluded from the programme
    lr_correlation: float | None = None
    mono_fold_loss_lu: float | None = None
    phone_loss_lu: float | None = None
    dc_offset: float | None = None  # largest |mean| over the channels
    clipped_runs: int = 0
    silence_runs_s: list[tuple[float, float]] = Field(default_factory=list)
    dropouts_s: list[tuple[float, float]] = Field(default_factory=list)
    hf_energy_db: float | None = None
    has_audio: bool = True
    target: str = "social"
    target_integrated_lufs: float | None = None
    target_true_peak_dbtp: float | None = None
    findings: list[SoundFinding] = Field(default_factory=list)
    verdict: Literal["pass", "warn", "fail"] = "pass"
    summary: str = ""


class TicketRef(BaseModel):
    id: str
    status: str
    claimed_by: str | None = None
    due_at: float | None = None
    lead: str | None = None
    delivered_at: float | None = None


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
    state: TakeState = TakeState.queued
    provider_job_id: str | None = None
    provider_status: str | None = None
    progress: float | None = None
    result_url: str | None = None
    submitted_at: float | None = None
    polls: int = 0
    next_step_at: float | None = None  # when the next scheduled poll is due
    poll_chain: str | None = None  # the one live poll chain; polls from any other stop
    file_path: str | None = None
    waveform_path: str | None = None
    sound: SoundReport | None = None
    file_id: str | None = None
    waveform_file_id: str | None = None
    message_ts: str | None = None
    cost_usd: float = 0.0
    estimate_usd: float = 0.0
    votes: dict[str, int] = Field(default_factory=dict)
    score: int = 0
    ticket: TicketRef | None = None
    error: str | None = None
    error_kind: str | None = None
    created_at: float = Field(default_factory=now_s)
    updated_at: float = Field(default_factory=now_s)


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
    parent_take_id: str | None = None
    created_at: float = Field(default_factory=now_s)
    finished_at: float | None = None
