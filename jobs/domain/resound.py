"""Re-sound: a new sound for a posted take's picture, from a video-to-audio model, as a new take of its own.

`@dailies resound 1B Sound: heavier rain, no music` (labelled lines as in a brief; the channel's sound bible still
applies). The new take keeps the original's picture frame for frame, gets its own label (`1B·s1`), card, sound
check, votes and handoff, and is priced at the audio model's rate. A previz take re-sounds on previz (a new sound
bed, free); every other take on `DAILIES_RESOUND_MODEL` (fal's MMAudio v2 by default). The original is untouched.
"""

from __future__ import annotations

import secrets

from jobs.domain.brief import BriefError, parse_brief
from jobs.domain.budget import admit
from jobs.domain.intake import Accepted
from jobs.domain.models import TAKE_LABEL_RE, Take, TakeState
from jobs.domain.providers import build_provider, family_of
from jobs.domain.requests import build_request
from jobs.domain.store import Store
from jobs.infra.settings import Settings
from jobs.infra.text import quoted

HOW = ("Write it as `@dailies resound 1B Sound: heavier rain, no music`: a take of this thread, then `Sound:`, "
       "`Music:` or `Dialogue:` lines as in a brief.")


def looks_like_resound(rest: str) -> bool:
    """`resound 1B …` asks for a new sound; `resound the bells…` is a brief that starts with the word."""
    first = rest.split(maxsplit=1)[0] if rest.strip() else ""
    return bool(TAKE_LABEL_RE.match(first))


def resound_model(take: Take, settings: Settings) -> str:
    return "previz" if family_of(take.model) == "previz" else settings.resound_model


def resound_request(store: Store, settings: Settings, *, channel: str, thread_ts: str, rest: str, user: str,
                    source_ts: str) -> Accepted:
    """Record the new-sound take of the take `rest` names, in this thread; BriefError says why it cannot be."""
    label, direction = ([*rest.split(maxsplit=1), ""])[:2]
    by_label = {t.label.upper(): t for t in store.thread_takes(channel, thread_ts)}
    take = by_label.get(label.upper())
    if take is None:
        known = ", ".join(t.label for t in by_label.values() if t.state == TakeState.posted)
        raise BriefError(f"There is no take {quoted(label)} in this thread" + (f" (its takes are {known})." if known
                         else "."), hint=HOW)
    if take.state != TakeState.posted:
        raise BriefError(f"Take {take.label} is {take.state.value}: only a posted take can get a new sound.",
                         hint="Pick a posted take of this thread.")
    brief = parse_brief(direction) if direction.strip() else None
    if brief is None or not brief.has_sound_direction:
        raise BriefError(f"Nothing says what take {take.label} should sound like.", hint=HOW)
    parent = store.get_request(take.request_id)
    if parent is None:
        raise BriefError(f"Take {take.label}'s brief is no longer on record.", hint="Write the brief again.")
    model = resound_model(take, settings)
    provider = build_provider(model, settings)
    if not provider.capabilities.video_to_audio:
        raise BriefError(f"{provider.display_name} cannot give an existing picture a new sound.",
                         hint="Set DAILIES_RESOUND_MODEL to a video-to-audio model, e.g. `fal:fal-ai/mmaudio-v2`.")
    resolved = parent.resolved.model_copy(deep=True)
    resolved.brief = resolved.brief.model_copy(update={
        "sound": brief.sound, "music": brief.music, "music_off": brief.music_off, "dialogue": brief.dialogue,
        "negative": brief.negative, "silent": False})
    resolved.model, resolved.takes, resolved.references = model, 1, []
    resolved.seed = secrets.randbelow(2**31 - 1000)
    number = int(store.redis.incr(store.key("resound", take.id)))
    new_label = f"{take.label}·s{number}"
    request, takes = build_request(
        resolved, settings=settings, channel=channel, thread_ts=thread_ts, source_ts=source_ts, requester=user,
        round_number=take.round, changes=[f"a new sound for take {take.label}'s picture on {provider.display_name} "
                                          f"({new_label}); the original is unchanged"], parent_take_id=take.id)
    for new in takes:
        new.label, new.resound_of, new.picture_model = new_label, take.id, take.provider_model or take.model
        new.duration_s, new.aspect, new.resolution = take.duration_s, take.aspect, take.resolution
    admit(store, settings, request, takes)
    return Accepted(request=request, takes=takes)
