"""Parse a brief written the way creatives write shot notes into a `Brief`.

Labelled lines (`Sound:`, `SFX:`, `Ambience:`, `Music:`, `Dialogue:`) carry sound
direction; quoted speech anywhere becomes dialogue; flags (`x4 8s 16:9 720p
--model kling --seed 7 --no text --target social --silent`) trail a line.
Every problem raises `BriefError` with a message that says how to write it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import get_args

from adapters.base import Aspect, Resolution
from jobs.domain.models import Brief, DialogueLine
from jobs.infra.text import quoted

MAX_BRIEF_CHARS = 3000
MAX_TAKES = 24
MAX_DURATION_S = 60
ASPECTS: tuple[str, ...] = get_args(Aspect)
RESOLUTIONS: tuple[str, ...] = get_args(Resolution)
VALUE_FLAGS = ("--model", "--seed", "--no", "--target")
SWITCH_FLAGS = ("--silent", "--no-ref")
KNOWN_FLAGS = VALUE_FLAGS + SWITCH_FLAGS
HOW_TO = (
    "Write the picture as free text, then optional lines `Sound: …`, `Music: …` (or `Music: none`), "
    '`Dialogue: NAME: "line"`, and flags like `x4 8s 16:9 720p --model previz --seed 7 --no text --target social`.'
)

_LABELS = {
    "sound": "sound",
    "sfx": "sound",
    "ambience": "sound",
    "ambiance": "sound",
    "ambient": "sound",
    "music": "music",
    "dialogue": "dialogue",
    "dialog": "dialogue",
}
_LABEL_RE = re.compile(r"^\s*(sound|sfx|ambience|ambiance|ambient|music|dialogue|dialog)\s*:\s*(.*)$", re.I)
_QUOTE_RE = re.compile(r"[\"“”]([^\"“”]{1,500})[\"“”]")
_SPEAKER_RE = re.compile(r"^\s*([A-Za-z][\w .'-]{0,40}?)\s*:\s*(.+)$")
_TAKES_RE = re.compile(r"^[xX×](\d{1,6})$")
_DURATION_RE = re.compile(r"^(\d{1,4}(?:\.\d+)?)s$", re.I)
# Any shape written as N:M (21:9, 2.39:1, 16:10, 5:7): one rule. Those no model makes are refused when the brief is
# resolved, naming the shapes the chosen model does make — never dropped.
_RATIO = r"\d{1,2}(?:\.\d{1,2})?:\d{1,2}(?:\.\d{1,2})?"
_OTHER_ASPECT_RE = re.compile(rf"^{_RATIO}$")
# Shapes people write alone at the end of a picture line ("… in 21:9"); other N:M tokens are flags only beside
# another flag, so a time of day ("… at 6:45") stays words.
_CINEMA_ASPECTS = {"4:3", "3:4", "21:9", "9:21", "3:2", "2:3", "4:5", "5:4", "2:1", "1:2"}
_SHORT_FLAG_RE = re.compile(rf"^(?:[xX×]\d{{1,6}}|\d{{1,4}}(?:\.\d+)?s|{_RATIO}|\d{{3,4}}p|[248]k)$", re.I)
_MUSIC_OFF = {"none", "no", "off", "no music", "silence", "-"}


class BriefError(ValueError):
    """The brief cannot be run as written. `str()` is the reply to post."""

    def __init__(self, problem: str, *, hint: str = HOW_TO) -> None:
        super().__init__(problem)
        self.problem = problem
        self.hint = hint

    @property
    def reply(self) -> str:
        return f"{self.problem}\n{self.hint}"


def parse_brief(text: str, *, refining: bool = False) -> Brief:
    """Parse decoded brief text (Slack markup already turned into plain text).

    `refining`: the text refines a thread's last brief, so flags alone (`x6 --seed 9`) are enough.
    """
    if len(text) > MAX_BRIEF_CHARS:
        raise BriefError(
            f"This brief is {len(text):,} characters; the limit is {MAX_BRIEF_CHARS:,}.",
            hint="Shorten it to the picture, the sound lines and the flags; detail beyond that is not used by the models.",
        )
    brief = Brief()
    picture_parts: list[str] = []
    flag_tokens: list[str] = []
    for raw_line in text.replace("\r", "").split("\n"):
        line = raw_line.strip()
        if not line:
            continue
        labelled = _LABEL_RE.match(line)
        if labelled:
            _apply_label(brief, _LABELS[labelled.group(1).lower()], labelled.group(2).strip())
            continue
        words, flags = _split_flags(line)
        flag_tokens.extend(flags)
        if words:
            picture_parts.append(words)
    brief.picture = " ".join(picture_parts).strip()
    for spoken in _QUOTE_RE.findall(brief.picture):
        brief.dialogue.append(DialogueLine(line=spoken.strip()))
    _apply_flags(brief, flag_tokens)
    _check_conflicts(brief)
    if not brief.picture and not brief.has_sound_direction and not (refining and flag_tokens):
        raise BriefError("The brief is empty: there is nothing to render.", hint=HOW_TO)
    return brief


def _apply_label(brief: Brief, label: str, value: str) -> None:
    if label == "sound":
        if value:
            brief.sound.append(value)
    elif label == "music":
        if value.lower().strip(" .") in _MUSIC_OFF:
            brief.music, brief.music_off = None, True
        elif value:
            brief.music, brief.music_off = value, False
    elif label == "dialogue" and value:
        speaker_match = _SPEAKER_RE.match(value)
        speaker, spoken = (speaker_match.group(1), speaker_match.group(2)) if speaker_match else (None, value)
        quoted = _QUOTE_RE.findall(spoken)
        for line in quoted or [spoken.strip().strip("\"“”")]:
            if line.strip():
                brief.dialogue.append(DialogueLine(speaker=speaker, line=line.strip()))


def _split_flags(line: str) -> tuple[str, list[str]]:
    """Split one line into its words and its trailing flags.

    Everything from the first `--flag` on is flags; short flags (`x4`, `8s`,
    `16:9`, `720p`) count only in the run just before that point (or at the
    end of the line), so "shot on 35mm in the 1990s at dusk" stays words.
    """
    tokens = line.split()
    dash_at = next((i for i, tok in enumerate(tokens) if tok.startswith("--") and len(tok) > 2), len(tokens))
    start = dash_at
    while start > 0 and _SHORT_FLAG_RE.match(tokens[start - 1]):
        start -= 1
    flags = tokens[start:]
    if start > 0 and flags and all(_ambiguous_ratio(tok) for tok in flags):
        return line.strip(), []  # "… at 6:45": words, not a shape
    return " ".join(tokens[:start]), flags


def _ambiguous_ratio(token: str) -> bool:
    cinema = token in ASPECTS or token in _CINEMA_ASPECTS or re.match(r"^\d\.\d{1,2}:1$", token)
    return bool(_OTHER_ASPECT_RE.match(token)) and not cinema


def _apply_flags(brief: Brief, tokens: list[str]) -> None:
    seen: dict[str, str] = {}

    def once(name: str, value: str) -> None:
        if name in seen and seen[name] != value:
            raise BriefError(
                f"Conflicting {name}: {quoted(seen[name])} and {quoted(value)}. Give it once.",
            )
        seen[name] = value

    i = 0
    while i < len(tokens):
        token = tokens[i]
        lower = token.lower()
        if lower.startswith("--"):
            if lower not in KNOWN_FLAGS:
                raise BriefError(
                    f"Unknown flag {quoted(token)}. Known flags: {', '.join(KNOWN_FLAGS)}, plus xN, Ns, "
                    f"{'|'.join(ASPECTS)}, {'|'.join(RESOLUTIONS)}."
                )
            if lower in SWITCH_FLAGS:
                if lower == "--silent":
                    brief.silent = True
                else:
                    brief.no_ref = True
                i += 1
                continue
            value_tokens: list[str] = []
            i += 1
            if lower == "--no":
                while i < len(tokens) and not tokens[i].startswith("--"):
                    value_tokens.append(tokens[i])
                    i += 1
            elif i < len(tokens) and not tokens[i].startswith("--"):
                value_tokens.append(tokens[i])
                i += 1
            value = " ".join(value_tokens).strip()
            if not value:
                raise BriefError(f"{quoted(token)} needs a value, e.g. {_example(lower)}.")
            once(lower, value)
            _apply_value_flag(brief, lower, value)
            continue
        _apply_short_flag(brief, token, once)
        i += 1


def _example(flag: str) -> str:
    return {
        "--model": "`--model previz`",
        "--seed": "`--seed 7`",
        "--no": "`--no text, logos`",
        "--target": "`--target social`",
    }.get(flag, quoted(f"{flag} VALUE"))


def _apply_value_flag(brief: Brief, flag: str, value: str) -> None:
    if flag == "--model":
        brief.model = value.lower()
    elif flag == "--seed":
        if not re.fullmatch(r"\d{1,10}", value) or int(value) > 2**31 - 1:
            raise BriefError(f"`--seed {value}` is not a seed: use a whole number from 0 to 2147483647.")
        brief.seed = int(value)
    elif flag == "--no":
        brief.negative = value.strip(" ,")
    elif flag == "--target":
        brief.target = value.lower()


def _apply_short_flag(brief: Brief, token: str, once: Callable[[str, str], None]) -> None:
    if match := _TAKES_RE.match(token):
        count = int(match.group(1))
        if not 1 <= count <= MAX_TAKES:
            raise BriefError(f"{quoted(token)} asks for {count} takes; one brief makes 1 to {MAX_TAKES} (`x4`).")
        once("takes", str(count))
        brief.takes = count
    elif match := _DURATION_RE.match(token):
        seconds = float(match.group(1))
        if seconds != int(seconds) or not 1 <= seconds <= MAX_DURATION_S:
            raise BriefError(
                f"{quoted(token)} is not a clip length Dailies can render: use whole seconds from 1 to "
                f"{MAX_DURATION_S} (`8s`); each model has its own range."
            )
        once("duration", str(int(seconds)))
        brief.duration_s = int(seconds)
    elif token in ASPECTS:
        once("aspect", token)
        brief.aspect = token  # type: ignore[assignment]
    elif token.lower() in RESOLUTIONS:
        once("resolution", token.lower())
        brief.resolution = token.lower()  # type: ignore[assignment]
    elif _OTHER_ASPECT_RE.match(token):
        # A shape no model makes (4:3, 21:9, 2.39:1): refused when the brief is resolved, naming the shapes
        # the chosen model can make.
        once("aspect", token)
        brief.asked_aspect = token
    else:
        raise BriefError(
            f"{quoted(token)} is not a size Dailies knows: aspect is {', '.join(ASPECTS)} and resolution "
            f"{' or '.join(RESOLUTIONS)}."
        )


def _check_conflicts(brief: Brief) -> None:
    if brief.silent and (brief.sound or brief.music or brief.dialogue):
        raise BriefError(
            "`--silent` conflicts with the sound direction in this brief (Sound/Music/Dialogue lines or quoted speech).",
            hint="Drop `--silent` to get the sound you describe, or drop the sound lines for a silent clip.",
        )
    if brief.silent and brief.target:
        raise BriefError(
            "`--silent` conflicts with `--target`: a silent clip has no loudness to deliver.",
            hint="Use one or the other.",
        )


def merge_briefs(previous: Brief, refinement: Brief) -> tuple[Brief, list[str]]:
    """Refine a thread's last brief: labelled lines replace, free text adds, flags override.

    Returns the merged brief and a list of plain-language changes for the status message.
    """
    merged = previous.model_copy(deep=True)
    changes: list[str] = []
    if refinement.picture:
        merged.revisions = [*previous.revisions, refinement.picture]
        changes.append(f"picture: + {refinement.picture}")
    if refinement.sound:
        merged.sound = list(refinement.sound)
        changes.append(f"sound: {'; '.join(refinement.sound)}")
    if refinement.music_off:
        merged.music, merged.music_off = None, True
        changes.append("music: none")
    elif refinement.music:
        merged.music, merged.music_off = refinement.music, False
        changes.append(f"music: {refinement.music}")
    if refinement.dialogue:
        merged.dialogue = list(refinement.dialogue)
        changes.append("dialogue: " + " / ".join(d.line for d in refinement.dialogue))
    for name in ("takes", "duration_s", "aspect", "resolution", "model", "seed", "negative", "target"):
        value = getattr(refinement, name)
        if value is not None and value != getattr(previous, name):
            setattr(merged, name, value)
            changes.append(f"{name}: {value}")
    if refinement.silent and not previous.silent:
        merged.silent = True
        merged.sound, merged.music, merged.dialogue = [], None, []
        changes.append("silent")
    return merged, changes
