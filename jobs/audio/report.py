"""What the sound check reports: findings and measurements, with units in their names."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Severity = Literal["info", "warn", "fail"]
Verdict = Literal["pass", "warn", "fail"]


class SoundFinding(BaseModel):
    code: str
    severity: Severity
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
    verdict: Verdict = "pass"
    summary: str = ""
