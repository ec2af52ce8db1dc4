"""The rules of an A/B compare: which takes of a thread can be compared, said plainly when they cannot."""

from __future__ import annotations

from jobs.domain.models import TAKE_LABEL_RE, Take, TakeState
from jobs.domain.store import Store

COMPARE_MIN_TAKES, COMPARE_MAX_TAKES = 2, 4
HOW = "Write it as `@dailies compare 1A 2C` (two to four takes of this thread)."


class ReviewError(ValueError):
    """A compare that cannot be made; the message says why and what to write instead."""


def looks_like_compare(rest: str) -> bool:
    """`compare 1A 2C` is a compare; `compare the two dancers…` is a brief that starts with the word."""
    words = rest.replace(",", " ").split()
    return bool(words) and all(TAKE_LABEL_RE.match(word) for word in words)


def compare_labels(rest: str) -> list[str]:
    labels = [word.upper().replace("·S", "·s") for word in rest.replace(",", " ").split()]
    unique = list(dict.fromkeys(labels))
    if len(unique) < COMPARE_MIN_TAKES:
        raise ReviewError(f"A compare needs at least {COMPARE_MIN_TAKES} different takes. {HOW}")
    if len(unique) > COMPARE_MAX_TAKES:
        raise ReviewError(f"A compare shows at most {COMPARE_MAX_TAKES} takes at once ({len(unique)} were named). "
                          f"{HOW}")
    return unique


def takes_to_compare(store: Store, channel: str, thread_ts: str, labels: list[str]) -> list[Take]:
    """The named takes of this thread, each posted with its sound; raises ReviewError naming every problem."""
    by_label = {take.label.upper(): take for take in store.thread_takes(channel, thread_ts)}
    if not by_label:
        raise ReviewError(f"There are no takes in this thread to compare. {HOW}")
    problems, found = [], []
    for label in labels:
        take = by_label.get(label.upper())
        if take is None:
            problems.append(f"there is no take {label} here")
        elif take.state != TakeState.posted:
            problems.append(f"take {take.label} is {take.state.value}, not posted")
        elif take.silent or (take.sound is not None and not take.sound.has_audio):
            problems.append(f"take {take.label} has no sound to compare")
        else:
            found.append(take)
    if problems:
        posted = ", ".join(t.label for t in by_label.values() if t.state == TakeState.posted)
        raise ReviewError("Nothing was made: " + "; ".join(problems) + "."
                          + (f" The takes you can compare here are {posted}." if posted else "") + f" {HOW}")
    return found
