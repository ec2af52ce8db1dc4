"""Per-channel settings in Redis, as JSON of `ChannelSettings` under `channel:<id>:settings`."""

from __future__ import annotations

from jobs.channels import ChannelSettings
from jobs.store import RedisStore


def _key(store: RedisStore, channel: str) -> str:
    return store.key("channel", channel, "settings")


def get_channel_settings(store: RedisStore, channel: str) -> ChannelSettings | None:
    raw = store.redis.get(_key(store, channel))
    return ChannelSettings.model_validate_json(raw) if raw else None


def save_channel_settings(store: RedisStore, channel: str, settings: ChannelSettings) -> None:
    store.redis.set(_key(store, channel), settings.model_dump_json())
