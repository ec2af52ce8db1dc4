"""Money as integer micro-dollars, per UTC day, and where a channel's or a person's spend is kept.

A request in a DM draws on one budget all DMs share, so N people in N DMs cannot spend N budgets.
"""

from __future__ import annotations

import time

from jobs.domain.channels import load_channel_settings
from jobs.domain.store import Store
from jobs.infra.settings import Settings

MICRO = 1_000_000
DAY_TTL_S = 400 * 24 * 3600  # spend history kept a bit over a year
DM_SCOPE = "dm"


def to_micro(usd: float) -> int:
    return int(round(float(usd) * MICRO))


def to_usd(micro: int | float | str | bytes | None) -> float:
    return round(int(micro or 0) / MICRO, 4) if micro is not None else 0.0


def today(now: float | None = None) -> str:
    """Budgets run per UTC day."""
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() if now is None else now))


def money(usd: float) -> str:
    return f"${usd:,.2f}"


def budget_scope(channel: str) -> str:
    """Whose budget a request in `channel` draws on: the channel's own, or the one all DMs share (so N people
    in N DMs cannot spend N budgets)."""
    return DM_SCOPE if channel.startswith("D") else channel


def channel_day_key(store: Store, channel: str, day: str) -> str:
    return store.key("spend", "channel", budget_scope(channel), day)


def user_day_key(store: Store, user: str, day: str) -> str:
    return store.key("spend", "user", user, day)


def daily_cap_usd(store: Store, settings: Settings, channel: str) -> float:
    if budget_scope(channel) == DM_SCOPE:
        dm_cap = settings.dm_daily_budget_usd
        return float(dm_cap if dm_cap is not None else settings.daily_budget_usd)
    override = load_channel_settings(store, channel).daily_budget_usd
    return float(override if override is not None else settings.daily_budget_usd)
