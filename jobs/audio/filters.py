"""Filter coefficients and responses, as plain numbers: no I/O, no policy.

K-weighting is BS.1770's two biquads (a +4 dB high shelf at 1.5 kHz, then a 38 Hz high-pass), with
pyloudnorm's design (RBJ cookbook formulas, the parameters pyloudnorm's `Meter` uses). The
coefficients are the same numbers pyloudnorm computes (`tests/test_filters.py` holds them to it);
they are written out here because importing pyloudnorm costs scipy.signal's import (≈0.8 s) on
every `dailies qc`, for two biquads that ffmpeg then runs in the decode graph.
"""

from __future__ import annotations

import math

import numpy as np

Biquad = tuple[float, float, float, float, float, float]  # b0, b1, b2, a0 (= 1), a1, a2


def _rbj(kind: str, gain_db: float, q: float, centre_hz: float, rate_hz: int) -> Biquad:
    amplitude = 10 ** (gain_db / 40.0)
    w0 = 2.0 * math.pi * centre_hz / rate_hz
    alpha, cos_w0 = math.sin(w0) / (2.0 * q), math.cos(w0)
    if kind == "high_shelf":
        root = 2 * math.sqrt(amplitude) * alpha
        b = (amplitude * ((amplitude + 1) + (amplitude - 1) * cos_w0 + root),
             -2 * amplitude * ((amplitude - 1) + (amplitude + 1) * cos_w0),
             amplitude * ((amplitude + 1) + (amplitude - 1) * cos_w0 - root))
        a = ((amplitude + 1) - (amplitude - 1) * cos_w0 + root,
             2 * ((amplitude - 1) - (amplitude + 1) * cos_w0),
             (amplitude + 1) - (amplitude - 1) * cos_w0 - root)
    elif kind == "high_pass":
        b = ((1 + cos_w0) / 2, -(1 + cos_w0), (1 + cos_w0) / 2)
        a = (1 + alpha, -2 * cos_w0, 1 - alpha)
    else:
        raise ValueError(f"unknown biquad kind {kind!r}")
    return (b[0] / a[0], b[1] / a[0], b[2] / a[0], 1.0, a[1] / a[0], a[2] / a[0])


def k_weighting(rate_hz: int) -> tuple[Biquad, Biquad]:
    """BS.1770 K-weighting at `rate_hz`: the high shelf, then the high-pass."""
    return (_rbj("high_shelf", 4.0, 1 / math.sqrt(2), 1500.0, rate_hz),
            _rbj("high_pass", 0.0, 0.5, 38.0, rate_hz))


def biquad_power(section: Biquad, freqs_hz: np.ndarray, rate_hz: int) -> np.ndarray:
    """|H(f)|² of one biquad at each frequency."""
    z = np.exp(-1j * 2 * np.pi * freqs_hz / rate_hz)
    b0, b1, b2, a0, a1, a2 = section
    response = (b0 + b1 * z + b2 * z * z) / (a0 + a1 * z + a2 * z * z)
    return np.abs(response) ** 2


def k_weighting_power(freqs_hz: np.ndarray, rate_hz: int) -> np.ndarray:
    shelf, highpass = k_weighting(rate_hz)
    return np.asarray(biquad_power(shelf, freqs_hz, rate_hz) * biquad_power(highpass, freqs_hz, rate_hz))


def butterworth_highpass_power(freqs_hz: np.ndarray, cutoff_hz: float, order: int, rate_hz: int) -> np.ndarray:
    """|H(f)|² of a digital Butterworth high-pass made by the bilinear transform (as scipy's `butter`)."""
    warped_cutoff = math.tan(math.pi * cutoff_hz / rate_hz)
    with np.errstate(divide="ignore"):
        ratio = warped_cutoff / np.tan(np.pi * np.asarray(freqs_hz, dtype=np.float64) / rate_hz)
    return 1.0 / (1.0 + ratio ** (2 * order))


def interpolator_taps(up: int, half_width: int, kaiser_beta: float) -> np.ndarray:
    """A windowed-sinc low-pass for `up`x interpolation, unity gain at DC per phase (as scipy's `firwin(...)*up`)."""
    count = 2 * half_width + 1
    centre = (count - 1) / 2
    taps = np.sinc((np.arange(count) - centre) / up) / up * np.kaiser(count, kaiser_beta)
    return np.asarray(taps / taps.sum() * up)
