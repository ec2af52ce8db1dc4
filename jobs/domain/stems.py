"""Dialogue, music and effects stems for a sound ticket's turnover: what was asked of the separation model, and
where it stands. Kept on the ticket (`Ticket.stems`), so a retried or resumed job picks up where it was."""

from __future__ import annotations

import json
import time
from enum import StrEnum

from pydantic import BaseModel, Field

# Two passes make three stems: the first takes speech out of the mix, the second music out of what is left.
PASSES: tuple[tuple[str, str], ...] = (("dialogue", "speech"), ("music", "music"))
STEM_NAMES = ("dialogue", "music", "effects")
NO_MODEL = ("not made — no separation model is configured for this deployment (DAILIES_SEPARATION_MODEL); "
            "the WAV is the full native mix.")


class StemsState(StrEnum):
    separating = "separating"
    made = "made"
    not_made = "not_made"


class SeparationPass(BaseModel):
    stem: str
    prompt: str
    job_id: str | None = None  # the provider's request, once submitted
    target_url: str | None = None
    residual_url: str | None = None

    @property
    def done(self) -> bool:
        return self.target_url is not None and self.residual_url is not None

    @property
    def job_id_short(self) -> str:
        """The provider's request id (a fal job id is JSON carrying it as `id`)."""
        raw = self.job_id or "?"
        return str(json.loads(raw).get("id", raw)) if raw.startswith("{") else raw


class Stems(BaseModel):
    model: str
    state: StemsState = StemsState.separating
    passes: list[SeparationPass] = Field(default_factory=lambda: [SeparationPass(stem=s, prompt=p) for s, p in PASSES])
    started_at: float = Field(default_factory=time.time)
    polls: int = 0
    audio_s: float = 0.0
    cost_usd: float = 0.0
    files: dict[str, str] = Field(default_factory=dict)  # stem name → path of its WAV (as fetched, no head)
    null_residual_db: float | None = None
    reason: str | None = None  # why they were not made
    said: bool = False  # the outcome was posted in the ticket thread

    def current(self) -> SeparationPass | None:
        return next((p for p in self.passes if not p.done), None)


def summary(stems: Stems | None, *, has_audio: bool, configured: bool) -> str:
    """The turnover README's word on the stems."""
    if not has_audio:
        return "not made — the take has no native sound."
    if stems is None:
        if configured:
            return "being separated; the next version of this package holds them."
        return NO_MODEL
    if stems.state == StemsState.separating:
        return f"being separated by {stems.model} (dialogue, music, effects); the next version of this package " \
            "holds them."
    if stems.state == StemsState.not_made:
        return f"not made — {stems.reason}; the WAV is the full native mix."
    null = "exactly" if stems.null_residual_db is None or stems.null_residual_db == float("-inf") else \
        f"within {stems.null_residual_db:.1f} dB"
    return (f"made by {stems.model} in two passes: dialogue (\"speech\" out of the mix), music (\"music\" out of the "
            f"rest) and effects (what is left). Null test: the three sum back to the native mix {null} (the "
            "residual's energy against the mix's; −60 dB and lower is inaudible under the mix).")


def provenance(stems: Stems | None) -> list[str]:
    if stems is None or stems.state != StemsState.made:
        return []
    requests = ", ".join(f"{p.stem}: {p.job_id_short}" for p in stems.passes)
    return [f"Stems: separated by {stems.model} (AI-generated separation), {len(stems.passes)} passes, "
            f"${stems.cost_usd:.2f} charged; requests {requests}"]
