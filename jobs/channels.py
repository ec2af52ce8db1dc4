"""Per-channel settings a lead can change; unset fields fall back to the environment defaults."""

from __future__ import annotations

from pydantic import BaseModel, Field

from jobs.settings import Settings

DEFAULT_UP_EMOJI = ["+1", "fire", "heart"]
DEFAULT_DOWN_EMOJI = ["-1"]
DEFAULT_HERO_EMOJI = "headphones"
DEFAULT_CANCEL_EMOJI = "x"


class ChannelSettings(BaseModel):
    model: str | None = None
    duration_s: int | None = None
    aspect: str | None = None
    resolution: str | None = None
    target: str | None = None
    takes: int | None = None
    daily_budget_usd: float | None = None
    up_emoji: list[str] = Field(default_factory=lambda: list(DEFAULT_UP_EMOJI))
    down_emoji: list[str] = Field(default_factory=lambda: list(DEFAULT_DOWN_EMOJI))
    hero_emoji: str = DEFAULT_HERO_EMOJI
    cancel_emoji: str = DEFAULT_CANCEL_EMOJI
    sound_channel: str | None = None
    leads: list[str] = Field(default_factory=list)


def load_channel_settings(store: object, channel: str) -> ChannelSettings:
    """The channel's saved settings, or defaults (MemoryStore and fresh channels have none)."""
    if not hasattr(store, "redis"):
        return ChannelSettings()
    from jobs.channel_store import get_channel_settings

    return get_channel_settings(store, channel) or ChannelSettings()  # type: ignore[arg-type]


def effective_defaults(settings: Settings, channel: ChannelSettings) -> dict[str, object]:
    return {
        "model": channel.model or settings.model,
        "duration_s": channel.duration_s or settings.default_duration_s,
        "aspect": channel.aspect or settings.default_aspect,
        "resolution": channel.resolution or settings.default_resolution,
        "target": channel.target or settings.default_target,
        "takes": channel.takes or settings.default_takes,
    }
