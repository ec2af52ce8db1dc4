"""The brief as a form (the `/dailies` modal and the "Make takes from this" shortcut).

A form is written out as the same text a mention carries (`to_text`), so a round made from the modal is
parsed, refined, budgeted and recorded exactly as one made from `@dailies`; a message's text is read back
into a form (`from_text`) to pre-fill the modal. `problems` checks a form with what is at hand (no Slack,
no provider) and names the field each problem belongs to, for Slack's `response_action: errors`.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from jobs.domain.brief import MAX_TAKES, BriefError, parse_brief
from jobs.domain.channels import ChannelSettings, effective_defaults
from jobs.domain.models import ReferenceImage
from jobs.domain.providers import UnknownModel, build_provider, missing_keys, normalise_model_key
from jobs.domain.requests import FramesRefused, resolve_brief
from jobs.infra.settings import Settings

_FLAG_START_RE = re.compile(r"(?<!\S)--(?:model|seed|no|target|silent)\b")


class BriefForm(BaseModel):
    picture: str = ""
    sound: str = ""
    music: str = ""
    dialogue: str = ""  # one line each, `NAME: "line"` or just the line
    model: str = "previz"
    takes: int = Field(default=2, ge=1, le=MAX_TAKES)
    duration_s: int = 6
    aspect: str = "16:9"
    resolution: str = "720p"
    seed: int | None = None
    negative: str = ""
    target: str = "social"

    def to_text(self) -> str:
        """The brief in the syntax of a mention (labelled lines, then one line of flags)."""
        lines = [_one_line(self.picture)]
        if self.sound.strip():
            lines.append("Sound: " + _one_line(self.sound))
        if self.music.strip():
            lines.append("Music: " + _one_line(self.music))
        for spoken in self.dialogue.splitlines():
            if spoken.strip():
                lines.append("Dialogue: " + _one_line(spoken))
        flags = [f"x{self.takes}", f"{self.duration_s}s", self.aspect, self.resolution, f"--model {self.model}",
                 f"--target {self.target}"]
        if self.seed is not None:
            flags.append(f"--seed {self.seed}")
        if self.negative.strip():
            flags.append("--no " + _one_line(self.negative))  # last: `--no` takes the rest of the line
        return "\n".join([*lines, " ".join(flags)])


def _one_line(text: str) -> str:
    """Form text as it fits on one line of a brief: newlines folded, and no `--flag` smuggled in."""
    flat = " ".join(text.split())
    return _FLAG_START_RE.sub(lambda m: m.group(0).lstrip("-"), flat)


def defaults_form(settings: Settings, channel: ChannelSettings) -> BriefForm:
    defaults = effective_defaults(settings, channel)
    return BriefForm(model=defaults.model, takes=defaults.takes, duration_s=defaults.duration_s,
                     aspect=defaults.aspect, resolution=defaults.resolution, target=defaults.target)


def from_text(text: str, base: BriefForm) -> BriefForm:
    """`base` with what `text` says (labelled lines, quoted dialogue, flags); unreadable text goes to picture."""
    try:
        brief = parse_brief(text)
    except BriefError:
        return base.model_copy(update={"picture": text.strip()[:3000]})
    dialogue = "\n".join(f'{d.speaker}: "{d.line}"' if d.speaker else f'"{d.line}"' for d in brief.dialogue)
    update: dict[str, object] = {
        "picture": brief.picture_text(), "sound": ", ".join(brief.sound), "music": brief.music or "",
        "dialogue": dialogue, "negative": brief.negative or "",
    }
    for field in ("takes", "duration_s", "aspect", "resolution", "model", "seed", "target"):
        value = getattr(brief, field)
        if value is not None:
            update[field] = value
    return base.model_copy(update=update)


def problems(form: BriefForm, settings: Settings, channel: ChannelSettings,
             references: list[ReferenceImage] | None = None) -> dict[str, str]:
    """Field name → what is wrong with it and what to do instead; empty when the brief can run (from
    `references`, the reference frames attached in the form)."""
    found: dict[str, str] = {}
    if not form.picture.strip():
        found["picture"] = "Describe the picture: what the camera sees (the sound has its own fields)."
    try:
        model = normalise_model_key(form.model, settings)
    except UnknownModel as error:
        return {**found, "model": str(error)}
    provider = build_provider(model, settings)
    missing = missing_keys(model, settings)
    if missing:
        found["model"] = (f"{provider.display_name} needs {' and '.join(missing)}, which this workspace has not "
                          "set: pick another model, or ask the operator.")
    caps = provider.capabilities
    if form.duration_s not in caps.durations_s:
        found["duration_s"] = f"{provider.display_name} makes {', '.join(map(str, caps.durations_s))} s clips."
    if form.aspect not in caps.aspects:
        found["aspect"] = f"{provider.display_name} makes {', '.join(caps.aspects)}."
    if form.resolution not in caps.resolutions:
        found["resolution"] = f"{provider.display_name} makes {', '.join(caps.resolutions)}."
    allowed = caps.durations_by_resolution.get(form.resolution)
    if allowed and form.duration_s not in allowed and "duration_s" not in found:
        found["duration_s"] = (f"{provider.display_name} makes {form.resolution} only at "
                               f"{', '.join(map(str, allowed))} s.")
    if found:
        return found
    try:
        resolve_brief(parse_brief(form.to_text()), settings, channel, references)
    except FramesRefused as error:
        found["frames"] = error.short
    except BriefError as error:
        found["picture"] = error.problem
    return found
