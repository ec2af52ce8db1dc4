"""Turn a parsed brief into a request and its takes, refusing what cannot run before anything is queued."""

from __future__ import annotations

import secrets
import string
import uuid

from adapters.base import Provider, RenderSpec
from jobs.audio.targets import UnknownTarget, target_key
from jobs.domain.brief import BriefError, merge_briefs
from jobs.domain.channels import ChannelSettings, effective_defaults
from jobs.domain.models import Brief, ReferenceImage, Request, ResolvedBrief, Take
from jobs.domain.providers import UnknownModel, build_provider, known_models, normalise_model_key
from jobs.domain.references import nearest_aspect
from jobs.infra.settings import Settings
from jobs.infra.text import quoted

LETTERS = string.ascii_uppercase


def take_label(round_number: int, index: int) -> str:
    return f"{round_number}{LETTERS[index]}" if index < 26 else f"{round_number}{LETTERS[index // 26 - 1]}{LETTERS[index % 26]}"


def resolve_brief(brief: Brief, settings: Settings, channel: ChannelSettings,
                  references: list[ReferenceImage] | None = None) -> ResolvedBrief:
    """Fill every flag from the brief or the defaults and check the model can do it (from `references` too)."""
    references = references or []
    defaults = effective_defaults(settings, channel)
    try:
        model = normalise_model_key(brief.model or defaults.model, settings)
    except UnknownModel as error:
        raise BriefError(str(error), hint="Pick one with `--model previz` (or leave it out for the channel default).") from None
    try:
        target = target_key(brief.target or defaults.target)
    except UnknownTarget as error:
        raise BriefError(str(error), hint="Example: `--target social`.") from None
    provider = build_provider(model, settings)
    if brief.asked_aspect:
        shapes = ", ".join(provider.capabilities.aspects)
        raise BriefError(f"{provider.display_name} cannot make the aspect {quoted(brief.asked_aspect)}: it makes "
                         f"{shapes}.", hint=f"Write one of {shapes} (e.g. `{provider.capabilities.aspects[0]}`), "
                                            "or leave the shape out for the channel's default.")
    # A frame sets the shape unless the brief says one: the nearest the model makes.
    framed = nearest_aspect(references[0], provider.capabilities.aspects) if references else None
    resolved = ResolvedBrief(
        brief=brief,
        takes=brief.takes or defaults.takes,
        duration_s=brief.duration_s or defaults.duration_s,
        aspect=brief.aspect or framed or defaults.aspect,
        resolution=brief.resolution or defaults.resolution,
        model=model,
        seed=brief.seed if brief.seed is not None else secrets.randbelow(2**31 - 1000),
        target=target,
        sound_bible=channel.sound_bible,
        references=references,
    )
    spec = RenderSpec(
        picture=brief.picture_text(), duration_s=resolved.duration_s, aspect=resolved.aspect,
        resolution=resolved.resolution, audio=not brief.silent,
    )
    check_frames(provider, references, settings)
    problems = provider.capabilities.problems(spec)
    if problems:
        raise BriefError(
            f"{provider.display_name} cannot make " + " or ".join(problems) + ".",
            hint="Change the flag, or pick another model with `--model` (e.g. `--model previz`).",
        )
    if len(spec.picture) > provider.capabilities.max_prompt_chars:
        raise BriefError(
            f"The picture text is {len(spec.picture)} characters; {provider.display_name} takes at most "
            f"{provider.capabilities.max_prompt_chars}.",
            hint="Shorten the description.",
        )
    return resolved


def models_that_can(settings: Settings, frames: int) -> list[str]:
    """The model keys that render from `frames` reference frames (1: a first frame; 2: first and last)."""
    found = []
    for key in known_models(settings):
        capabilities = build_provider(key, settings).capabilities
        if capabilities.first_frame and (frames < 2 or capabilities.last_frame):
            found.append(key)
    return found


class FramesRefused(BriefError):
    """The model cannot take the brief's reference frames; `short` says so in a form field's 150 characters."""

    def __init__(self, problem: str, *, short: str, hint: str) -> None:
        super().__init__(problem, hint=hint)
        self.short = short


def check_frames(provider: Provider, references: list[ReferenceImage], settings: Settings) -> None:
    """Refuse reference frames the model cannot take, naming the models that can."""
    capabilities = provider.capabilities
    if not references or (capabilities.first_frame and (len(references) < 2 or capabilities.last_frame)):
        return
    able = models_that_can(settings, len(references))
    listed = ", ".join(f"`{key}`" for key in able)
    if len(references) >= 2:
        problem = (f"{provider.display_name} cannot end a take on a given last frame, and two images were "
                   f"attached (first and last frame). Models that can: {listed}.")
    else:
        problem = (f"{provider.display_name} makes video from text only, and an image was attached as the "
                   f"reference frame. Models that can start from it: {listed}.")
    cannot = "end on a last frame" if len(references) >= 2 and capabilities.first_frame else "start from an image"
    raise FramesRefused(problem + " Nothing was queued.",
                        short=f"{provider.display_name} cannot {cannot}; models that can: {', '.join(able)}.",
                        hint="Pick one of those with `--model`, attach one image instead of two, or leave the "
                             "frame out (in a thread, `--no-ref` drops the one the rounds carry).")


def refine(previous: Request | None, brief: Brief) -> tuple[Brief, list[str]]:
    """In a thread, a new mention refines the last brief; elsewhere it stands alone."""
    if previous is None:
        return brief, []
    return merge_briefs(previous.resolved.brief, brief)


def build_request(
    resolved: ResolvedBrief,
    *,
    settings: Settings,
    channel: str,
    thread_ts: str,
    source_ts: str,
    requester: str,
    round_number: int,
    changes: list[str] | None = None,
    parent_take_id: str | None = None,
) -> tuple[Request, list[Take]]:
    request_id = uuid.uuid4().hex[:16]
    provider = build_provider(resolved.model, settings)
    per_take = provider.prices.estimate_usd(resolved.resolution, not resolved.brief.silent, resolved.duration_s)
    takes = [
        Take(
            id=f"{request_id}-{index}",
            request_id=request_id,
            label=take_label(round_number, index),
            index=index,
            round=round_number,
            channel=channel,
            thread_ts=thread_ts,
            requester=requester,
            model=resolved.model,
            seed=(resolved.seed + index) % (2**31 - 1),
            duration_s=resolved.duration_s,
            aspect=resolved.aspect,
            resolution=resolved.resolution,
            target=resolved.target,
            silent=resolved.brief.silent,
            reference_frames=len(resolved.references),
            estimate_usd=per_take,
        )
        for index in range(resolved.takes)
    ]
    request = Request(
        id=request_id,
        channel=channel,
        thread_ts=thread_ts,
        source_ts=source_ts,
        requester=requester,
        round=round_number,
        resolved=resolved,
        take_ids=[t.id for t in takes],
        estimate_usd=round(per_take * len(takes), 4),
        changes=changes or [],
        parent_take_id=parent_take_id,
    )
    return request, takes
