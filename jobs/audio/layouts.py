"""Channel layouts as ffmpeg names them: BS.1770 channel weights (LFE excluded) and channel names."""

from __future__ import annotations

import numpy as np

# BS.1770 channel weights by ffmpeg layout, in ffmpeg's channel order. LFE weighs 0 (excluded).
_S = 1.41
LAYOUT_WEIGHTS: dict[str, tuple[float, ...]] = {
    "mono": (1.0,),
    "stereo": (1.0, 1.0),
    "2.1": (1.0, 1.0, 0.0),
    "3.0": (1.0, 1.0, 1.0),
    "quad": (1.0, 1.0, _S, _S),
    "4.0": (1.0, 1.0, 1.0, _S),
    "5.0": (1.0, 1.0, 1.0, _S, _S),
    "5.0(side)": (1.0, 1.0, 1.0, _S, _S),
    "5.1": (1.0, 1.0, 1.0, 0.0, _S, _S),
    "5.1(side)": (1.0, 1.0, 1.0, 0.0, _S, _S),
    "6.1": (1.0, 1.0, 1.0, 0.0, _S, _S, _S),
    "7.1": (1.0, 1.0, 1.0, 0.0, _S, _S, _S, _S),
}
_BY_COUNT = {1: "mono", 2: "stereo", 5: "5.0", 6: "5.1", 8: "7.1"}
CHANNEL_NAMES: dict[str, tuple[str, ...]] = {
    "mono": ("M",), "stereo": ("L", "R"), "2.1": ("L", "R", "LFE"), "3.0": ("L", "R", "C"),
    "quad": ("L", "R", "Ls", "Rs"), "4.0": ("L", "R", "C", "Cs"), "5.0": ("L", "R", "C", "Ls", "Rs"),
    "5.1": ("L", "R", "C", "LFE", "Ls", "Rs"), "6.1": ("L", "R", "C", "LFE", "Cs", "Ls", "Rs"),
    "7.1": ("L", "R", "C", "LFE", "Lb", "Rb", "Ls", "Rs"),
}


def layout_for(channel_layout: str | None, channels: int) -> str:
    """The layout name we weigh by: ffmpeg's own when known, else the usual one for the count."""
    if channel_layout in LAYOUT_WEIGHTS and len(LAYOUT_WEIGHTS[channel_layout]) == channels:
        return channel_layout
    return _BY_COUNT.get(channels, f"{channels} channels")


def channel_weights(layout: str, channels: int) -> np.ndarray:
    return np.array(LAYOUT_WEIGHTS.get(layout, (1.0,) * channels), dtype=np.float64)


def channel_names(layout: str, channels: int) -> tuple[str, ...]:
    names = CHANNEL_NAMES.get(layout.replace("(side)", ""))
    return names if names and len(names) == channels else tuple(f"ch{i + 1}" for i in range(channels))
