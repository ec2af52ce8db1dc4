"""Delivery loudness targets, as data."""

from __future__ import annotations

from pydantic import BaseModel

from jobs.infra.text import quoted


class DeliveryTarget(BaseModel):
    key: str
    label: str
    integrated_lufs: float
    true_peak_dbtp: float  # the ceiling, measured as true peak (4x oversampled)
    tolerance_lu: float = 1.0  # how far integrated loudness may sit from the target
    max_short_term_lufs: float | None = None
    approximate: bool = False  # the real spec gates differently; ours is programme loudness
    note: str = ""


TARGETS: dict[str, DeliveryTarget] = {
    t.key: t
    for t in (
        DeliveryTarget(key="social", label="Social (YouTube, Spotify, TikTok, Instagram)", integrated_lufs=-14,
                       true_peak_dbtp=-1),
        DeliveryTarget(key="apple", label="Apple Music / Podcasts", integrated_lufs=-16, true_peak_dbtp=-1),
        DeliveryTarget(key="broadcast-eu", label="Broadcast EU (EBU R128 short-form)", integrated_lufs=-23,
                       true_peak_dbtp=-1, tolerance_lu=0.5, max_short_term_lufs=-18),
        DeliveryTarget(key="broadcast-us", label="Broadcast US (ATSC A/85)", integrated_lufs=-24, true_peak_dbtp=-2,
                       tolerance_lu=2.0),
        DeliveryTarget(key="netflix", label="Netflix (programme loudness approximating dialogue gating)",
                       integrated_lufs=-27, true_peak_dbtp=-2, tolerance_lu=2.0, approximate=True,
                       note="approximation: measured on programme loudness, not dialogue-gated"),
    )
}
ALIASES = {"broadcast": "broadcast-eu", "ebu": "broadcast-eu", "r128": "broadcast-eu", "atsc": "broadcast-us",
           "streaming-netflix": "netflix", "youtube": "social", "tiktok": "social", "instagram": "social",
           "spotify": "social"}


class UnknownTarget(ValueError):
    pass


def target_key(name: str) -> str:
    key = ALIASES.get(name.lower(), name.lower())
    if key not in TARGETS:
        raise UnknownTarget(f"{quoted(name)} is not a delivery target. Known targets: {', '.join(TARGETS)}.")
    return key


def get_target(name: str) -> DeliveryTarget:
    return TARGETS[target_key(name)]
