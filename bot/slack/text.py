"""Slack text in and out: decode event markup, escape user words for mrkdwn, cut to Slack's limits."""

from __future__ import annotations

import re

from jobs.infra.text import quoted, strip_invisible

_MENTION_RE = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_CHANNEL_RE = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL_RE = re.compile(r"<!([a-z]+)(?:\^[^|>]*)?(?:\|([^>]*))?>")
_LINK_RE = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")

SECTION_TEXT_MAX = 3000


def decode_event_text(text: str, bot_user_id: str | None = None) -> str:
    """Turn Slack's wire markup into the plain text a person typed."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text)
    text = _MENTION_RE.sub(lambda m: "@" + (m.group(2) or m.group(1)), text)
    text = _CHANNEL_RE.sub(lambda m: "#" + (m.group(2) or m.group(1)), text)
    text = _SPECIAL_RE.sub(lambda m: "@" + (m.group(2) or m.group(1)).lstrip("@"), text)
    text = _LINK_RE.sub(lambda m: m.group(2) or m.group(1), text)
    # Entities last, so "&lt;" typed by a person stays the character "<" and never becomes markup.
    return strip_invisible(text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")).strip()


def escape(text: str) -> str:
    """Escape user words for mrkdwn: exactly &, < and >, as Slack documents; invisible and bidi characters
    are dropped so nothing displays as other than it is."""
    return strip_invisible(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int) -> str:
    """Cut already-escaped text to `limit` characters with an ellipsis, never inside an `&…;` escape."""
    if len(text) <= limit:
        return text
    cut_at = max(0, limit - 1)
    amp = text.rfind("&", max(0, cut_at - 5), cut_at)
    if amp != -1 and ";" not in text[amp:cut_at]:
        cut_at = amp
    return text[:cut_at] + "…"


def escaped(text: str, limit: int = SECTION_TEXT_MAX) -> str:
    return cut(escape(text), limit)


def mention(user_id: str) -> str:
    """A person, as Slack shows them (only a well-formed user id becomes markup)."""
    return f"<@{user_id}>" if re.fullmatch(r"[UW][A-Z0-9]{2,20}", user_id) else escape(user_id)


def code(value: object, limit: int = 80) -> str:
    """A person's value (a file name, a label) as an inline code span in mrkdwn: escaped, and no character
    inside can close the span."""
    return escape(quoted(value, limit))
