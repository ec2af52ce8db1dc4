"""jobs/audio/filters.py holds the numbers pyloudnorm and scipy compute: they are the references here."""

from __future__ import annotations

import numpy as np
import pytest
from pyloudnorm.iirfilter import IIRfilter
from scipy.signal import butter, firwin, sosfreqz

from jobs.audio.filters import (
    butterworth_highpass_power,
    interpolator_taps,
    k_weighting,
    k_weighting_power,
)

RATES = [8000, 22050, 44100, 48000, 96000, 192000]


def pyloudnorm_sos(rate: int) -> np.ndarray:
    """The K-weighting pyloudnorm's Meter uses (its 'K-weighting' filter class)."""
    shelf = IIRfilter(4.0, 1 / np.sqrt(2), 1500.0, rate, "high_shelf")
    highpass = IIRfilter(0.0, 0.5, 38.0, rate, "high_pass")
    return np.array([[*shelf.b, *shelf.a], [*highpass.b, *highpass.a]])


@pytest.mark.parametrize("rate", RATES)
def test_k_weighting_is_pyloudnorms(rate: int) -> None:
    assert np.array(k_weighting(rate)) == pytest.approx(pyloudnorm_sos(rate), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("rate", RATES)
def test_k_weighting_response_is_scipys_reading_of_the_same_filter(rate: int) -> None:
    freqs = np.linspace(1.0, rate / 2 - 1, 257)
    _, response = sosfreqz(pyloudnorm_sos(rate), worN=freqs, fs=rate)
    assert k_weighting_power(freqs, rate) == pytest.approx(np.abs(response) ** 2, rel=1e-9)
    # and it is K-weighting: about +4 dB at the top, about -14 dB at 20 Hz, 0 dB near 1 kHz
    assert 10 * np.log10(k_weighting_power(np.array([1000.0]), rate))[0] == pytest.approx(0.7, abs=0.3)


@pytest.mark.parametrize("rate", [44100, 48000, 96000])
def test_the_phone_highpass_is_scipys_butterworth(rate: int) -> None:
    freqs = np.linspace(1.0, rate / 2 - 1, 513)
    _, response = sosfreqz(butter(4, 180.0, "highpass", fs=rate, output="sos"), worN=freqs, fs=rate)
    assert butterworth_highpass_power(freqs, 180.0, 4, rate) == pytest.approx(np.abs(response) ** 2, rel=1e-6,
                                                                                abs=1e-15)


@pytest.mark.parametrize("up", [2, 4])
def test_interpolator_taps_are_scipys_firwin(up: int) -> None:
    expected = firwin(2 * 6 * up + 1, 1.0 / up, window=("kaiser", 5.0)) * up
    assert interpolator_taps(up, half_width=6 * up, kaiser_beta=5.0) == pytest.approx(expected, rel=1e-9, abs=1e-15)
