"""The brief modal (`/dailies`, "Make takes from this"): fields for everything a mention's flags say.

The duration, aspect and resolution menus offer only what the chosen model makes; changing the model
(`dispatch_action`) rebuilds the view with `views.update`. Those three blocks carry the model in their
block id, so Slack shows the new choices instead of keeping the old ones.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, ValidationError

from bot.blocks.common import Block, context
from bot.ids import SlackId
from jobs.audio.targets import TARGETS
from jobs.domain.brief import MAX_TAKES
from jobs.domain.brief_form import BriefForm
from jobs.domain.providers import build_provider, missing_keys, picture_models
from jobs.infra.settings import Settings

CALLBACK_ID = SlackId.BRIEF_MODAL
MODEL_ACTION = SlackId.BRIEF_MODEL
DURATION_ACTION = SlackId.BRIEF_DURATION  # the prices in the model menu are per take of this length
TEXT_FIELDS = ("picture", "sound", "music", "dialogue", "negative")
FRAME_FILETYPES = ("png", "jpg", "jpeg", "webp")


class ModalPlace(BaseModel):
    """Where the round goes, carried in the view's private_metadata (Slack returns it untouched)."""

    channel: str | None = None  # None: the channel picker decides
    thread_ts: str | None = None  # a message's thread (the shortcut); None: a new thread
    reference_file_ids: list[str] = Field(default_factory=list, max_length=2)  # the message's images (the shortcut)


def place_of(private_metadata: str) -> ModalPlace:
    try:
        return ModalPlace.model_validate_json(private_metadata or "{}")
    except ValidationError:
        return ModalPlace()


def _text(text: str) -> dict[str, str | bool]:
    return {"type": "plain_text", "text": text[:75], "emoji": True}


def _option(label: str, value: str) -> dict[str, Any]:
    return {"text": _text(label), "value": value}


def _select(action_id: str, options: list[dict[str, Any]], chosen: str) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "static_select", "action_id": action_id, "options": options}
    initial = next((o for o in options if o["value"] == chosen), options[0] if options else None)
    if initial:
        element["initial_option"] = initial
    return element


def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False, hint: str = "",
           dispatch: bool = False) -> Block:
    block: Block = {"type": "input", "block_id": block_id, "label": _text(label), "element": element,
                    "optional": optional}
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint[:150]}
    if dispatch:
        block["dispatch_action"] = True
    return block


def _text_input(action_id: str, value: str, *, multiline: bool = False, placeholder: str = "",
                max_length: int = 3000) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": action_id, "multiline": multiline,
                               "max_length": max_length}
    if value:
        element["initial_value"] = value[:max_length]
    if placeholder:
        element["placeholder"] = _text(placeholder)
    return element


def model_options(settings: Settings, form: BriefForm) -> list[dict[str, Any]]:
    """Every model, with what one take of the chosen length costs and whether its keys are set."""
    options = []
    for key in picture_models(settings):
        provider = build_provider(key, settings)
        seconds = form.duration_s if form.duration_s in provider.capabilities.durations_s \
            else provider.capabilities.durations_s[0]
        price = provider.prices.estimate_usd(form.resolution, True, seconds)
        label = f"{provider.display_name} · {'free' if price == 0 else f'${price:.2f}'}/take ({seconds} s)"
        missing = missing_keys(key, settings)
        if missing:
            label += " · needs " + missing[0]
        options.append(_option(label, key))
    return options


def fit_to_model(form: BriefForm, settings: Settings) -> BriefForm:
    """The form with duration, aspect and resolution moved to what its model makes (nearest duration)."""
    caps = build_provider(form.model, settings).capabilities
    update: dict[str, object] = {}
    if form.duration_s not in caps.durations_s:
        update["duration_s"] = min(caps.durations_s, key=lambda d: (abs(d - form.duration_s), d))
    if form.aspect not in caps.aspects:
        update["aspect"] = caps.aspects[0]
    if form.resolution not in caps.resolutions:
        update["resolution"] = caps.resolutions[0]
    return form.model_copy(update=update)


def brief_modal(settings: Settings, form: BriefForm, place: ModalPlace, *, default_channel: str | None) -> dict:
    form = fit_to_model(form, settings)
    provider = build_provider(form.model, settings)
    caps = provider.capabilities
    per_model = form.model.replace(":", "_").replace("/", "_")
    blocks: list[Block] = [
        _input("picture", "Picture", _text_input("value", form.picture, multiline=True,
               placeholder="What the camera sees: subject, place, light, movement")),
        _input("sound", "Sound", _text_input("value", form.sound, multiline=True,
               placeholder="rain drumming on metal awnings, distant traffic hiss"), optional=True),
        _input("music", "Music", _text_input("value", form.music, placeholder="sparse melancholic synth pad"),
               optional=True, hint="Leave empty for none asked; write `none` for no music at all."),
        _input("dialogue", "Dialogue", _text_input("value", form.dialogue, multiline=True,
               placeholder='WOMAN: "Not tonight."'), optional=True, hint="One spoken line per line."),
        _input("model", "Model", _select(MODEL_ACTION, model_options(settings, form), form.model), dispatch=True),
        _input("takes", "Takes", {"type": "number_input", "action_id": "value", "is_decimal_allowed": False,
                                  "min_value": "1", "max_value": str(MAX_TAKES), "initial_value": str(form.takes)}),
        _input(f"duration_s:{per_model}", "Seconds", _select(
            DURATION_ACTION, [_option(f"{d} s", str(d)) for d in caps.durations_s], str(form.duration_s)),
            dispatch=True),
        _input(f"aspect:{per_model}", "Aspect", _select("value", [_option(a, a) for a in caps.aspects], form.aspect)),
        _input(f"resolution:{per_model}", "Resolution", _select(
            "value", [_option(r, r) for r in caps.resolutions], form.resolution),
            hint=_resolution_hint(caps.durations_by_resolution)),
        _input("seed", "Seed", {"type": "number_input", "action_id": "value", "is_decimal_allowed": False,
                                "min_value": "0", **({"initial_value": str(form.seed)} if form.seed is not None
                                                     else {})},
               optional=True, hint="The same seed and brief give a close variation; empty for a new one."),
        _input("negative", "Avoid", _text_input("value", form.negative, placeholder="text, logos, watermarks",
                                                  max_length=500), optional=True),
        _input("target", "Delivery target", _select(
            "value", [_option(t.label[:60], key) for key, t in TARGETS.items()], form.target)),
        _input("frames", "Reference frames", {"type": "file_input", "action_id": "value", "max_files": 2,
                                              "filetypes": list(FRAME_FILETYPES)}, optional=True,
               hint="One PNG, JPEG or WebP still to start from, or two: the first and the last frame."),
    ]
    if place.reference_file_ids:
        which = ("two images are the first and last frames" if len(place.reference_file_ids) > 1
                 else "image is the reference frame")
        blocks.append(context(f":frame_with_picture: The message's {which}; attach others above to use those "
                              "instead."))
    if place.thread_ts is None:
        picker: dict[str, Any] = {"type": "conversations_select", "action_id": "value",
                                  "filter": {"include": ["public", "private", "im"],
                                             "exclude_bot_users": True}}
        if default_channel:
            picker["initial_conversation"] = default_channel
        blocks.append(_input("channel", "Post in", picker, hint="The round starts a new thread there."))
    else:
        blocks.append(context("The round is posted in the thread of the message you picked."))
    return {
        "type": "modal", "callback_id": CALLBACK_ID, "private_metadata": place.model_dump_json(),
        "title": _text("Make takes"), "submit": _text("Render"), "close": _text("Cancel"), "blocks": blocks,
    }


def _resolution_hint(durations_by_resolution: dict[str, list[int]]) -> str:
    return "; ".join(f"{res} only at {', '.join(map(str, secs))} s" for res, secs in durations_by_resolution.items())


def form_from_state(values: dict[str, dict[str, dict[str, Any]]]) -> tuple[dict[str, Any], str | None]:
    """The form's raw fields and the picked channel from a view's state (block id → action id → value)."""
    raw: dict[str, Any] = {}
    channel = None
    for block_id, actions in values.items():
        name = block_id.split(":", 1)[0]
        for element in actions.values():
            kind = element.get("type")
            if kind == "file_input":
                files = element.get("files") or []
                raw[name] = [f["id"] for f in files if isinstance(f, dict) and isinstance(f.get("id"), str)][:3]
            elif kind == "conversations_select":
                picked = element.get("selected_conversation")
                channel = picked if isinstance(picked, str) and picked else None
            elif kind == "static_select":
                option = element.get("selected_option")
                raw[name] = option.get("value") if isinstance(option, dict) else None
            else:
                raw[name] = element.get("value")
    return raw, channel


def form_of(raw: dict[str, Any]) -> tuple[BriefForm | None, dict[str, str]]:
    """A BriefForm from raw fields, or the field errors that stop one being made."""
    values: dict[str, Any] = {name: (raw.get(name) or "") for name in TEXT_FIELDS}
    if any(not isinstance(value, str) for value in values.values()):
        return None, {name: "Write text here." for name, value in values.items() if not isinstance(value, str)}
    errors: dict[str, str] = {}
    for name in ("model", "aspect", "resolution", "target"):
        if raw.get(name):
            values[name] = raw[name]
    for name in ("takes", "duration_s", "seed"):
        text = str(raw.get(name) or "").strip()
        if not text:
            continue
        try:
            values[name] = int(text)
        except ValueError:
            errors[name] = "Write a whole number."
    if "takes" in values and not 1 <= values["takes"] <= MAX_TAKES:
        errors["takes"] = f"Between 1 and {MAX_TAKES} takes in one round."
    if errors:
        return None, errors
    try:
        return BriefForm.model_validate(values), {}
    except ValidationError as error:
        for problem in error.errors():
            field = str(problem["loc"][0]) if problem.get("loc") else "picture"
            errors[field] = f"Between 1 and {MAX_TAKES}." if field == "takes" else str(problem.get("msg"))
        return None, errors


def error_blocks(values: dict[str, dict[str, dict[str, Any]]], errors: dict[str, str]) -> dict[str, str]:
    """Field errors keyed by the block ids the submitted view has (per-model blocks carry the model in theirs)."""
    ids = {block_id.split(":", 1)[0]: block_id for block_id in values}
    return {ids.get(field, ids.get("picture", "picture")): message[:150] for field, message in errors.items()}

