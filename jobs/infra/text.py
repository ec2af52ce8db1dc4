"""Words from people, made safe to show back: no invisible or direction-changing characters, and a value
quoted as code can never close its own code span."""

from __future__ import annotations

import re

# Characters a person cannot see but a model reads, or that make text display as other than it is: zero-width
# characters and bidirectional controls (RLO, LRI, …), Unicode tag characters (U+E0000–U+E007F: whole hidden
# sentences), blank "letters" (Hangul fillers, the braille blank, Khmer inherent vowels), the combining grapheme
# joiner and variation selectors.
INVISIBLE_RE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u2069\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f\U000e0100-\U000e01ef]"
)
BACKTICK_LOOKALIKE = "\u02cb"  # ˋ: shows like a backtick, cannot end a code span


def strip_invisible(text: str) -> str:
    return INVISIBLE_RE.sub("", text)


def count_invisible(text: str) -> int:
    return len(INVISIBLE_RE.findall(text))


def removed_note(count: int, where: str) -> str | None:
    """The sentence that says invisible characters were taken out of `where` (None when there were none)."""
    if not count:
        return None
    return f"{count} invisible character{'s' if count != 1 else ''} (text a person cannot see) removed from {where}."


def quoted(value: object, limit: int = 80) -> str:
    """`value` as an inline code span that no character inside it can break."""
    text = strip_invisible(str(value)).replace("`", BACKTICK_LOOKALIKE).replace("\n", " ")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"`{text}`"
