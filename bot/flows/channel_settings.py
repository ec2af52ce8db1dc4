"""`@dailies set up-emoji=+1,star down-emoji=-1 hero=headphones cancel=x model=previz duration=8 …` (leads only)."""

from __future__ import annotations

import logging
import re

from pydantic import ValidationError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.deps import Deps
from bot.slack.access import lead_in
from bot.slack.payloads import MessageEvent
from bot.slack.reply import reply
from bot.slack.text import escaped
from jobs.audio.preview import MAX_LEVEL_LUFS, MIN_LEVEL_LUFS
from jobs.audio.targets import UnknownTarget, target_key
from jobs.domain.brief import ASPECTS, MAX_DURATION_S, MAX_TAKES, RESOLUTIONS
from jobs.domain.channels import (
    SOUND_BIBLE_MAX_CHARS,
    ChannelSettings,
    load_channel_settings,
    save_channel_settings,
)
from jobs.domain.providers import UnknownModel, normalise_model_key
from jobs.domain.reel import ReelError, reel_time
from jobs.infra.settings import Settings
from jobs.infra.text import count_invisible, quoted, removed_note, strip_invisible

log = logging.getLogger(__name__)
# key=value, the value quoted when it has spaces (Slack may turn "…" into “…”).
_PAIR_RE = re.compile(r'([a-z][a-z-]*)=("[^"]*"|“[^”]*”|[^\s"“”]+)')
_EMOJI_RE = re.compile(r"^[a-z0-9_+'-]{1,64}$")
KEYS = {
    "up-emoji": "up_emoji", "up": "up_emoji", "down-emoji": "down_emoji", "down": "down_emoji",
    "hero": "hero_emoji", "hero-emoji": "hero_emoji", "cancel": "cancel_emoji", "cancel-emoji": "cancel_emoji",
    "model": "model", "duration": "duration_s", "aspect": "aspect", "resolution": "resolution",
    "target": "target", "takes": "takes", "budget": "daily_budget_usd", "sound-bible": "sound_bible",
    "preview-loudness": "preview_loudness", "reel": "reel_at",
}
HOW = ("Write it as `@dailies set up-emoji=+1,fire down-emoji=-1 hero=headphones cancel=x model=previz "
       "duration=8 aspect=16:9 resolution=720p target=social takes=4 budget=50`, or "
       '`@dailies set sound-bible="warm analog textures, no trap drums"` (`sound-bible=none` clears it), or '
       "`@dailies set preview-loudness=native` (hear takes as rendered; `=-16` another level, `=target` the "
       "delivery target's), or `@dailies set reel=18:00` (the day's reel daily, in your time zone; `reel=off`).")


class SettingError(ValueError):
    pass


def _emoji(value: str) -> str:
    name = value.strip().strip(":").split("::", 1)[0].lower()
    if not _EMOJI_RE.match(name):
        raise SettingError(f"{quoted(value)} is not an emoji name (write it without colons, e.g. `fire`).")
    return name


def _listening_level(value: str) -> float | str | None:
    """`native` (hear takes as rendered), `target` (the delivery target's level), or a level in LUFS."""
    word = value.strip().lower().replace("−", "-").removesuffix("lufs").strip()
    if word in ("native", "off"):
        return "native"
    if word in ("target", "default", "on"):
        return None
    try:
        level = float(word)
    except ValueError:
        level = float("nan")
    if not MIN_LEVEL_LUFS <= level <= MAX_LEVEL_LUFS:
        raise SettingError(f"`preview-loudness` is `native`, `target`, or a level from {MIN_LEVEL_LUFS:g} to "
                           f"{MAX_LEVEL_LUFS:g} LUFS (e.g. `preview-loudness=-16`).")
    return level


def setting_pairs(text: str) -> list[tuple[str, str]] | None:
    """The `key=value` pairs of `text`, or None when anything else is in it (then it is a brief)."""
    pairs = _PAIR_RE.findall(text)
    if not pairs or _PAIR_RE.sub("", text).strip():
        return None
    return pairs


def parse_settings(text: str, current: ChannelSettings, settings: Settings) -> tuple[ChannelSettings, list[str]]:
    values = current.model_dump()
    changed = []
    for key, value in setting_pairs(text) or []:
        field = KEYS.get(key)
        if field is None:
            raise SettingError(f"{quoted(key)} is not a channel setting. Settings: {', '.join(sorted(set(KEYS)))}.")
        if field in ("up_emoji", "down_emoji"):
            values[field] = list(dict.fromkeys(_emoji(v) for v in value.split(",") if v.strip()))
            if not values[field]:
                raise SettingError(f"{quoted(key)} needs at least one emoji.")
        elif field in ("hero_emoji", "cancel_emoji"):
            values[field] = _emoji(value)
        elif field == "model":
            values[field] = normalise_model_key(value, settings)
        elif field == "target":
            values[field] = target_key(value)
        elif field == "aspect":
            if value not in ASPECTS:
                raise SettingError(f"aspect is one of {', '.join(ASPECTS)}.")
            values[field] = value
        elif field == "resolution":
            if value.lower() not in RESOLUTIONS:
                raise SettingError(f"resolution is one of {', '.join(RESOLUTIONS)}.")
            values[field] = value.lower()
        elif field in ("duration_s", "takes"):
            limit = MAX_DURATION_S if field == "duration_s" else MAX_TAKES
            number = int(value.rstrip("s")) if value.rstrip("s").isdigit() else 0
            if not 1 <= number <= limit:
                raise SettingError(f"{quoted(key)} is a whole number from 1 to {limit}.")
            values[field] = number
        elif field == "sound_bible":
            words = " ".join(strip_invisible(value.strip('"“”')).split())
            if len(words) > SOUND_BIBLE_MAX_CHARS:
                raise SettingError(f"the sound bible is {len(words)} characters; keep it under "
                                   f"{SOUND_BIBLE_MAX_CHARS} (the models read the brief's own lines first).")
            values[field] = None if words.lower() in ("", "none", "off", "-") else words
            changed.append("sound-bible cleared" if values[field] is None else "sound-bible")
            continue
        elif field == "reel_at":
            values[field] = None if value.lower() in ("off", "none", "-") else reel_time(value)
        elif field == "preview_loudness":
            values[field] = _listening_level(value)
        elif field == "daily_budget_usd":
            try:
                amount = float(value.lstrip("$"))
            except ValueError:
                amount = -1.0
            if not 0 <= amount <= 1_000_000:
                raise SettingError("`budget` is a daily amount in US dollars, e.g. `budget=50`.")
            values[field] = amount
        changed.append(f"{key}={value}")
    used = {values["hero_emoji"], values["cancel_emoji"]}
    if len(used) < 2 or used & set(values["up_emoji"] + values["down_emoji"]) or \
            set(values["up_emoji"]) & set(values["down_emoji"]):
        raise SettingError("the up, down, hero and cancel emoji must all be different.")
    try:
        return ChannelSettings.model_validate(values), changed
    except ValidationError as error:
        raise SettingError(str(error.errors()[0].get("msg"))) from None


def time_zone_of(client: WebClient, user: str) -> str | None:
    """The person's time zone as Slack has it (`users.info` → `tz`, an IANA name); None when Slack does not say."""
    try:
        tz = (client.users_info(user=user).get("user") or {}).get("tz")
    except SlackApiError as error:
        log.warning("no time zone for %s: %s", user, error.response.get("error"))
        return None
    return tz if isinstance(tz, str) and tz else None


def heard_at(channel: ChannelSettings) -> str:
    if channel.preview_loudness == "native":
        return "as rendered"
    if channel.preview_loudness is None:
        return "at the delivery target's loudness"
    return f"at {channel.preview_loudness:g} LUFS"


def handle_set(deps: Deps, client: WebClient, message: MessageEvent, rest: str) -> bool:
    if setting_pairs(rest) is None:
        return False  # "set in a neon alley…" is a brief
    channel, user, thread_ts = message.channel, message.user or "", message.thread
    current = load_channel_settings(deps.store, channel)
    if not lead_in(deps, user, channel, client):
        reply(client, "Only a lead can change this channel's Dailies settings; nothing changed.", channel=channel,
              only_to=user)
        return True
    try:
        updated, changed = parse_settings(rest, current, deps.settings)
    except (SettingError, UnknownModel, UnknownTarget, ReelError) as error:
        reply(client, f":warning: Settings not changed: {escaped(str(error), 1500)}\n{HOW}", channel=channel,
              thread_ts=thread_ts)
        return True
    if updated.reel_at and updated.reel_at != current.reel_at:
        updated.reel_zone = time_zone_of(client, user)
    save_channel_settings(deps.store, channel, updated)
    log.info("channel %s settings changed by %s: %s", channel, user, " ".join(changed))
    summary = (f"up {' '.join(f':{e}:' for e in updated.up_emoji)} · down "
               f"{' '.join(f':{e}:' for e in updated.down_emoji)} · hero :{updated.hero_emoji}: · "
               f"cancel :{updated.cancel_emoji}: · takes heard {heard_at(updated)}")
    if updated.reel_at:
        summary += f" · the day's reel daily at {updated.reel_at} ({updated.reel_zone or 'UTC'})"
    if updated.sound_bible:
        summary += f"\n:scroll: Sound bible, added to every brief here: {escaped(updated.sound_bible, 600)}"
    removed = removed_note(count_invisible(message.text or ""), "what you wrote")
    reply(client, f":gear: Channel settings saved ({escaped(' '.join(changed), 1000)}). {summary}"
          + (f"\n:broom: {escaped(removed)}" if removed else ""), channel=channel, thread_ts=thread_ts)
    return True
