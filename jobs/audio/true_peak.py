"""True peak (BS.1770-4 Annex 2): the largest |x| of the signal oversampled 4x (2x at 96 kHz).

The oversampler is a 49-tap windowed-sinc interpolator, applied as a polyphase matrix: each input
sample position `n` yields `up` outputs, each a weighted sum of x[n-12 .. n]. Computing every
output is the expensive part of a sound check, and almost all of them are far below the peak.

An output is a weighted sum of 13 samples, so it can never exceed `gain` (the largest phase's
sum of |weights|, about 1.9) times the largest |x| among them. Hence, once some output of value
`peak` is known, only the positions whose 13-sample window holds a sample above `peak / gain`
can beat it; those are computed exactly and the rest are skipped. The result is exactly the
dense computation's (`tests/test_true_peak.py` checks that, and EBU 3341 cases 15–19), only cheaper:
for programme material a few percent of positions pass the bar. When most would (a heavily
limited master), the chunk is computed densely instead.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from jobs.audio.filters import interpolator_taps

DENSE_SHARE = 0.25  # above this share of candidate positions, one dense product is cheaper


def oversampling_for(rate_hz: int) -> int:
    return 4 if rate_hz <= 48000 else 2 if rate_hz <= 96000 else 1


def polyphase_weights(up: int) -> np.ndarray:
    """(up, window) matrix W so that output `up*n + p` is W[p] @ x[n-window+1 .. n]."""
    taps = interpolator_taps(up, half_width=6 * up, kaiser_beta=5.0)
    window = (len(taps) - 1) // up + 1
    weights = np.zeros((up, window), dtype=np.float32)
    for phase in range(up):
        for i in range(window):
            k = up * (window - 1 - i) + phase
            if k < len(taps):
                weights[phase, i] = taps[k]
    return weights


class TruePeakMeter:
    """Feed (channels, samples) float32 chunks in order; `finish()` returns the true peak as a linear value.

    Outputs are counted only where the interpolator's window lies on real samples: the silence before the
    first sample and after the last is not the programme, and a tone that starts at full level would
    otherwise read up to 0.7 dB hot at its edge (EBU 3341 cases 17 and 18; scipy's resample_poly does the
    same). The sample peak is the floor, so nothing at the very edges goes unseen.

    All channels of a chunk are searched in one pass (as one row after another, no window crossing from one
    row into the next): the work per chunk is a handful of array operations whatever the channel count.
    """

    def __init__(self, rate_hz: int, channels: int) -> None:
        self.up = oversampling_for(rate_hz)
        self.weights = polyphase_weights(self.up) if self.up > 1 else np.ones((1, 1), dtype=np.float32)
        self.by_position = np.ascontiguousarray(self.weights.T)  # (window, up): windows @ by_position
        self.window = self.weights.shape[1]
        self.gain = float(np.abs(self.weights).sum(axis=1).max())
        self.tail = np.zeros((channels, 0), dtype=np.float32)
        self.peak = 0.0
        self.sample_peak = 0.0

    def feed(self, chunk: np.ndarray) -> None:
        if not chunk.shape[1]:
            return
        block = np.concatenate([self.tail, chunk], axis=1)
        span = self.window - 1
        self.tail = block[:, max(0, block.shape[1] - span):]
        width = block.shape[1]
        samples = block.reshape(-1)
        magnitude = np.abs(samples)
        loudest = int(np.argmax(magnitude))
        top = float(magnitude[loudest])
        self.sample_peak = max(self.sample_peak, top)
        positions = block.shape[0] * (width - span)  # outputs this block completes: columns span..width-1
        if width <= span or top * self.gain <= self.peak:
            return
        if top > self.peak:  # the bar can rise: the loudest sample's neighbourhood first raises it for the rest
            row_start = loudest - loudest % width
            self._exact(samples, np.arange(max(row_start + span, loudest), min(row_start + width, loudest + span + 1)))
        hot = np.flatnonzero(magnitude > self.peak / self.gain)
        if hot.size * self.window > DENSE_SHARE * positions:
            for row in block:
                self._dense(row)
            return
        near = np.zeros(samples.shape[0] + span, dtype=bool)
        for offset in range(self.window):
            near[hot + offset] = True
        candidates = np.flatnonzero(near[: samples.shape[0]])
        self._exact(samples, candidates[candidates % width >= span])

    def finish(self) -> float:
        return max(self.peak, self.sample_peak)

    # The outputs are small matrix products (BLAS, six times einsum's speed here). Every `dailies` process keeps
    # BLAS on one thread (OPENBLAS_NUM_THREADS, bot/__init__.py): its helper threads would spin between products on
    # the core ffmpeg is decoding on.
    def _exact(self, samples: np.ndarray, ends: np.ndarray) -> None:
        """The oversampled outputs whose windows end at `ends` (each window inside one row)."""
        if ends.size:
            windows = sliding_window_view(samples, self.window)[ends - (self.window - 1)]
            self._keep(windows @ self.by_position)

    def _dense(self, row: np.ndarray) -> None:
        if row.shape[0] >= self.window:
            self._keep(sliding_window_view(row, self.window) @ self.by_position)

    def _keep(self, outputs: np.ndarray) -> None:
        self.peak = max(self.peak, float(np.abs(outputs).max()))
