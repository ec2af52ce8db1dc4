"""Per-channel settings a lead can change, kept as JSON under `channel:<id>:settings`; unset fields fall back
to the environment defaults."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from jobs.domain.store import Store
from jobs.infra.settings import Settings

DEFAULT_UP_EMOJI = ["+1", "fire", "heart"]
DEFAULT_DOWN_EMOJI = ["-1"]
DEFAULT_HERO_EMOJI = "headphones"
DEFAULT_CANCEL_EMOJI = "x"


SOUND_BIBLE_MAX_CHARS = 500


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
    # The campaign's sonic identity, set by a lead: standing sound direction for every brief in the channel.
    sound_bible: str | None = Field(default=None, max_length=SOUND_BIBLE_MAX_CHARS)
    # Fair review: the level every take is heard at in the thread. None: the delivery target's; "native": off.
    preview_loudness: float | Literal["native"] | None = None
    reel_at: str | None = None  # "18:00": the day's reel is posted daily at this time…
    reel_zone: str | None = None  # …in this time zone (the lead's who set it, from Slack)


def listening_level_lufs(channel: ChannelSettings, target_lufs: float) -> float | None:
    """The loudness every take of the channel is heard at in its thread (None: as rendered)."""
    if channel.preview_loudness == "native":
        return None
    return channel.preview_loudness if channel.preview_loudness is not None else target_lufs


def _key(store: Store, channel: str) -> str:
    return store.key("channel", channel, "settings")


def get_channel_settings(store: Store, channel: str) -> ChannelSettings | None:
    return store.read_record(_key(store, channel), ChannelSettings)


def load_channel_settings(store: Store, channel: str) -> ChannelSettings:
    """The channel's saved settings, or the defaults for a channel nobody has set up."""
    return get_channel_settings(store, channel) or ChannelSettings()


def _reel_index(store: Store) -> str:
    return store.key("channels", "with_reel")


def channels_with_reel(store: Store) -> list[str]:
    return sorted(member.decode() for member in store.redis.smembers(_reel_index(store)))


def _bible_index(store: Store) -> str:
    return store.key("channels", "with_sound_bible")


def save_channel_settings(store: Store, channel: str, settings: ChannelSettings) -> None:
    store.write_record(_key(store, channel), settings, ttl_s=None)
    # App Home lists the bibles of a person's channels from this index
    if settings.sound_bible:
        store.redis.sadd(_bible_index(store), channel)
    else:
        store.redis.srem(_bible_index(store), channel)
    if settings.reel_at:  # the recovery sweep arms each of these channels' next daily reel
        store.redis.sadd(_reel_index(store), channel)
    else:
        store.redis.srem(_reel_index(store), channel)


def sound_bibles(store: Store) -> dict[str, str]:
    """Every channel's sound bible in this workspace, by channel id."""
    found = {}
    for raw in store.redis.smembers(_bible_index(store)):
        channel = raw.decode() if isinstance(raw, bytes) else str(raw)
        bible = load_channel_settings(store, channel).sound_bible
        if bible:
            found[channel] = bible
    return found


class Defaults(BaseModel):
    """What a brief gets for each flag it leaves out: the channel's setting, else the deployment's."""

    model: str
    duration_s: int
    aspect: str
    resolution: str
    target: str
    takes: int


def effective_defaults(settings: Settings, channel: ChannelSettings) -> Defaults:
    return Defaults(
        model=channel.model or settings.model,
        duration_s=channel.duration_s or settings.default_duration_s,
        aspect=channel.aspect or settings.default_aspect,
        resolution=channel.resolution or settings.default_resolution,
        target=channel.target or settings.default_target,
        takes=channel.takes or settings.default_takes,
    )
