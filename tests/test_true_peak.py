"""The true-peak meter skips what cannot matter and must still equal the dense computation, exactly.

The reference here is scipy's `upfirdn` with the same interpolator, run over the whole signal at once;
the meter gets the signal in chunks (with their boundaries in awkward places) and skips every output
whose 13 input samples all lie under peak / gain. Independent-filter checks (scipy's resample_poly,
EBU 3341 cases 15–19) are in test_soundcheck.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import firwin, upfirdn

from jobs.audio.true_peak import DENSE_SHARE, TruePeakMeter, oversampling_for, polyphase_weights


def dense_true_peak(x: np.ndarray, rate: int) -> float:
    """(channels, samples): every oversampled value whose 13-sample window lies inside the signal, with the
    sample peak as the floor."""
    up = oversampling_for(rate)
    sample_peak = float(np.abs(x).max())
    if up == 1:
        return sample_peak
    taps = firwin(2 * 6 * up + 1, 1.0 / up, window=("kaiser", 5.0)) * up
    out = upfirdn(taps.astype(np.float32), x.astype(np.float32), up=up, axis=-1)
    inside = out[:, up * 12: up * x.shape[1]]
    return max(float(np.abs(inside).max()) if inside.size else 0.0, sample_peak)


def metered(x: np.ndarray, rate: int, chunk: int) -> tuple[float, TruePeakMeter]:
    meter = TruePeakMeter(rate, x.shape[0])
    for start in range(0, x.shape[1], chunk):
        meter.feed(x[:, start: start + chunk].astype(np.float32))
    return meter.finish(), meter


def ebu(divisor: int, amplitude: float, phase_deg: float, rate: int = 48000) -> np.ndarray:
    t = np.arange(rate * 2) / rate
    tone = amplitude * np.sin(2 * np.pi * rate / divisor * t + np.radians(phase_deg))
    return np.vstack([tone, tone])


def bursts_in_noise(rate: int = 48000, seed: int = 1) -> np.ndarray:
    """Quiet noise with three short tone bursts at a quarter of the rate, phased so their peaks fall between
    samples (like EBU 3341 case 19: the true peak is about 3 dB over the sample peak)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, rate * 4)) * 0.003
    length = rate // 50
    burst = np.hanning(length) * np.sin(2 * np.pi * np.arange(length) / 4 + np.pi / 4)
    for position, level in ((0.7, 0.3), (2.31, 0.8), (3.9, 0.5)):
        start = int(position * rate)
        x[0, start: start + length] += level * burst
        x[1, start + 3: start + 3 + length] -= level * burst
    return x


def limited_master(rate: int = 48000, seed: int = 2) -> np.ndarray:
    """Loud, brick-wall limited programme: most samples near the ceiling, so most positions must be computed."""
    rng = np.random.default_rng(seed)
    x = np.tanh(rng.standard_normal((2, rate * 3)) * 3.0) * 0.95
    return x


SIGNALS = {
    "3341-15": lambda: ebu(4, 0.5, 0.0),
    "3341-16": lambda: ebu(4, 0.5, 45.0),
    "3341-17": lambda: ebu(6, 0.5, 60.0),
    "3341-18": lambda: ebu(8, 0.5, 67.5),
    "3341-19": lambda: ebu(4, 1.41, 45.0),
    "bursts in noise": bursts_in_noise,
    "limited master": limited_master,
    "one impulse": lambda: np.pad(np.ones((2, 1)), ((0, 0), (24000, 24000))),
    "a hit in the first samples": lambda: np.pad(np.ones((2, 1)) * 0.5, ((0, 0), (3, 48000))),
    "silence": lambda: np.zeros((2, 48000)),
}


@pytest.mark.parametrize("name", list(SIGNALS))
@pytest.mark.parametrize("chunk", [4801, 48000, 240000])
def test_skipping_gives_exactly_the_dense_result(name: str, chunk: int) -> None:
    x = SIGNALS[name]()
    peak, _ = metered(x, 48000, chunk)
    assert peak == pytest.approx(dense_true_peak(x, 48000), rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("rate", [44100, 96000, 192000])
def test_other_rates_match_their_dense_result(rate: int) -> None:
    x = bursts_in_noise(rate)
    peak, _ = metered(x, rate, rate)
    assert peak == pytest.approx(dense_true_peak(x, rate), rel=1e-6)


def test_inter_sample_peaks_are_found_where_the_samples_do_not_show_them() -> None:
    x = bursts_in_noise()
    peak, meter = metered(x, 48000, 48000)
    assert peak > float(np.abs(x).max()) * 1.3  # about +3 dB between the samples
    assert meter.gain == pytest.approx(float(np.abs(polyphase_weights(4)).sum(axis=1).max()))


def test_the_bound_skips_most_of_ordinary_programme_and_none_of_a_limited_one() -> None:
    """What the skipping is for: few candidate positions on noise-like programme, a dense pass on a master."""
    quiet = bursts_in_noise()
    meter = TruePeakMeter(48000, 2)
    meter.feed(quiet[:, :48000].astype(np.float32))
    hot = np.abs(quiet[:, :48000]).max(axis=0) > meter.peak / meter.gain
    assert hot.mean() * meter.window < DENSE_SHARE  # the sparse path was taken
    loud = limited_master()
    assert (np.abs(loud).max(axis=0) > np.abs(loud).max() / meter.gain).mean() * meter.window > DENSE_SHARE
