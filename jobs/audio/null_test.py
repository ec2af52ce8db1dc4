"""The null test of a separation: how closely its stems sum back to the mix they came from.

The stems are summed, the mix subtracted, and what is left is compared with the mix: the residual's energy
relative to the mix's, in dB. A perfect split nulls to silence (−∞ dB, or the floor of 24-bit PCM, about
−140 dB); −60 dB or lower is inaudible under the mix; a split that lost or invented sound reads near 0 dB.
"""

from __future__ import annotations

import math

import numpy as np


def null_residual_db(mix: np.ndarray, stems: list[np.ndarray]) -> float:
    """(channels, samples) float arrays; stems may run a few samples longer or shorter than the mix (only the
    common length is compared). −inf when they null exactly; +inf when the mix is digital silence."""
    length = min([mix.shape[-1], *(stem.shape[-1] for stem in stems)])
    if length == 0:
        return math.inf
    total = np.zeros((mix.shape[0], length), dtype=np.float64)
    for stem in stems:
        total += _as_channels(stem, mix.shape[0])[:, :length]
    residual = total - mix[:, :length]
    mix_energy = float(np.einsum("ij,ij->", mix[:, :length], mix[:, :length], dtype=np.float64))
    residual_energy = float(np.einsum("ij,ij->", residual, residual))
    if mix_energy <= 0:
        return math.inf
    return 10 * math.log10(residual_energy / mix_energy) if residual_energy > 0 else -math.inf


def _as_channels(stem: np.ndarray, channels: int) -> np.ndarray:
    """A mono stem of a stereo mix is the same sound in both channels (a model may hand back mono)."""
    if stem.shape[0] == channels:
        return stem
    if stem.shape[0] == 1:
        return np.repeat(stem, channels, axis=0)
    return stem[:channels]
