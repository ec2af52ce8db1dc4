"""Words from people, made safe to show back: no invisible or direction-changing characters, and a value
quoted as code can never close its own code span."""

from __future__ import annotations

import re

# Zero-width characters and bidirectional controls (RLO, LRI, …): they let a name or a brief display as
# something other than what it is.
INVISIBLE_RE = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
BACKTICK_LOOKALIKE = "\u02cb"  # ˋ: shows like a backtick, cannot end a code span


def strip_invisible(text: str) -> str:
    return INVISIBLE_RE.sub("", text)


def quoted(value: object, limit: int = 80) -> str:
    """`value` as an inline code span that no character inside it can break."""
    text = strip_invisible(str(value)).replace("`", BACKTICK_LOOKALIKE).replace("\n", " ")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"`{text}`"
