"""What a channel or a person spent: today, the last 7 and 30 days, and by model (App Home, `dailies export
--spend`)."""

from __future__ import annotations

import json
import time

from pydantic import BaseModel, Field

from jobs.domain.spend import channel_day_key, daily_cap_usd, money, to_usd, today, user_day_key
from jobs.domain.store import Store
from jobs.infra.settings import Settings


class DaySpend(BaseModel):
    day: str
    spent_usd: float = 0.0
    reserved_usd: float = 0.0
    by_model: dict[str, float] = Field(default_factory=dict)
    takes_by_model: dict[str, int] = Field(default_factory=dict)


class SpendSummary(BaseModel):
    """What a channel or a person spent: today, the last 7 and 30 days, and by model."""

    subject: str
    kind: str  # "channel" or "user"
    today_usd: float = 0.0
    reserved_usd: float = 0.0
    cap_usd: float | None = None
    last_7_days_usd: float = 0.0
    last_30_days_usd: float = 0.0
    by_model: dict[str, float] = Field(default_factory=dict)
    takes_by_model: dict[str, int] = Field(default_factory=dict)
    days: list[DaySpend] = Field(default_factory=list)

    def lines(self) -> list[str]:
        """Plain mrkdwn lines (no user text) for App Home or a terminal."""
        today_line = f"Today: {money(self.today_usd)} spent"
        if self.reserved_usd:
            today_line += f" + {money(self.reserved_usd)} rendering"
        if self.cap_usd is not None:
            today_line += f" of a {money(self.cap_usd)} daily budget"
        out = [today_line, f"Last 7 days: {money(self.last_7_days_usd)} · last 30 days: "
                           f"{money(self.last_30_days_usd)}"]
        if self.by_model:
            out.append("By model (30 days): " + ", ".join(
                f"{model} {money(usd)} ({self.takes_by_model.get(model, 0)} takes)"
                for model, usd in sorted(self.by_model.items(), key=lambda kv: -kv[1])))
        return out


def _day_spend(day: str, raw: dict[bytes, bytes]) -> DaySpend:
    found = DaySpend(day=day)
    for field, value in raw.items():
        name, number = field.decode(), int(value)
        if name == "spent":
            found.spent_usd = to_usd(number)
        elif name == "reserved":
            found.reserved_usd = to_usd(max(0, number))
        elif name.startswith("model:"):
            found.by_model[name[6:]] = to_usd(number)
        elif name.startswith("takes:"):
            found.takes_by_model[name[6:]] = number
    return found


def spend_summary(store: Store, channel_or_user: str, *, settings: Settings | None = None, days: int = 30,
                  now: float | None = None) -> SpendSummary:
    """Spend of a channel (`C…`/`G…`/`D…`) or a person (`U…`/`W…`) from Redis. App Home and `dailies export
    --spend` show it. With `settings`, a channel's summary includes its daily cap."""
    is_user = channel_or_user[:1] in ("U", "W")
    summary = SpendSummary(subject=channel_or_user, kind="user" if is_user else "channel")
    now = time.time() if now is None else now
    names = [today(now - offset * 86400) for offset in range(days)]
    pipe = store.redis.pipeline(transaction=False)
    for day in names:
        pipe.hgetall(user_day_key(store, channel_or_user, day) if is_user
                     else channel_day_key(store, channel_or_user, day))
    for index, (day, raw) in enumerate(zip(names, pipe.execute(), strict=True)):
        found = _day_spend(day, raw or {})
        if index == 0:
            summary.today_usd, summary.reserved_usd = found.spent_usd, found.reserved_usd
        if index < 7:
            summary.last_7_days_usd += found.spent_usd
        summary.last_30_days_usd += found.spent_usd
        for model, usd in found.by_model.items():
            summary.by_model[model] = round(summary.by_model.get(model, 0.0) + usd, 4)
        for model, count in found.takes_by_model.items():
            summary.takes_by_model[model] = summary.takes_by_model.get(model, 0) + count
        if raw:
            summary.days.append(found)
    summary.last_7_days_usd = round(summary.last_7_days_usd, 4)
    summary.last_30_days_usd = round(summary.last_30_days_usd, 4)
    if settings is not None and not is_user:
        summary.cap_usd = daily_cap_usd(store, settings, channel_or_user)
    return summary


def summary_json(summary: SpendSummary) -> str:
    return json.dumps(summary.model_dump(mode="json"), indent=2)
