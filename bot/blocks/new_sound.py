"""The *New sound…* form: the sound lines of a brief, for a take whose picture stays as it is."""

from __future__ import annotations

from typing import Any

from bot.blocks.common import Block
from bot.ids import SlackId
from jobs.domain.models import Take

FIELDS = {"sound": "Sound", "music": "Music", "dialogue": "Dialogue"}
PLACEHOLDERS = {"sound": "heavier rain on metal awnings, distant thunder", "music": "none, or: a sparse synth pad",
                "dialogue": "Mia: \"Not tonight.\""}


def new_sound_modal(take: Take) -> dict[str, Any]:
    blocks: list[Block] = [{"type": "context", "elements": [{"type": "mrkdwn", "text": (
        f"Take {take.label}'s picture stays frame for frame; a video-to-audio model makes a new sound for it, as a "
        "new take in the thread. The channel's sound bible still applies.")}]}]
    for field, label in FIELDS.items():
        blocks.append({
            "type": "input", "block_id": field, "optional": field != "sound",
            "label": {"type": "plain_text", "text": label},
            "element": {"type": "plain_text_input", "action_id": field, "multiline": field != "music",
                        "max_length": 500, "placeholder": {"type": "plain_text", "text": PLACEHOLDERS[field]}},
        })
    return {"type": "modal", "callback_id": SlackId.NEW_SOUND_MODAL, "private_metadata": take.id,
            "title": {"type": "plain_text", "text": f"New sound for {take.label}"[:24]},
            "submit": {"type": "plain_text", "text": "Make it"}, "close": {"type": "plain_text", "text": "Cancel"},
            "blocks": blocks}


def sound_lines(values: dict[str, dict[str, dict[str, Any]]]) -> str:
    """The form's answers as a brief's labelled lines (`Sound: …`, `Music: …`, `Dialogue: …`)."""
    lines = []
    for field, label in FIELDS.items():
        value = str(((values.get(field) or {}).get(field) or {}).get("value") or "").strip()
        if value:
            lines.append(f"{label}: {' '.join(value.split())}")
    return "\n".join(lines)
