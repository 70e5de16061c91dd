"""Butterworth filters in second-order sections, with state.

One object per filtered channel:

    lp = Butterworth(2, 0.8, rate_hz=25.0)
    y = lp.run(x)                  # causal, a whole array or one block after another
    y_k = lp.step(x_k)             # causal, one sample at a time: the same numbers
    y0 = lp.zero_phase(x)          # offline only: forward and backward, no delay

A low-pass starts in its steady state for its first input (no start-up transient); band- and
high-passes start at rest. The group delay of a second-order low-pass at low frequencies is
sqrt(2) / (2 pi f_c) (`delay_s`): the causal output lags the zero-phase one by about that much.
"""

from __future__ import annotations

import math

import numpy as np

from tracker.analysis.steps import iir


class Butterworth:
    """A Butterworth filter of `order` with `cutoff_hz` (a pair for a band-pass) at `rate_hz`.

    Parameters
    ----------
    order
        Filter order (a band-pass has twice as many poles).
    cutoff_hz
        -3 dB frequency, Hz; (low, high) for `btype="bandpass"`.
    rate_hz
        Sampling rate of the signal, Hz.
    btype
        "lowpass", "highpass" or "bandpass".
    """

    def __init__(
        self,
        order: int,
        cutoff_hz: float | tuple[float, float],
        rate_hz: float,
        btype: str = "lowpass",
    ) -> None:
        self.order = order
        self.cutoff_hz = cutoff_hz
        self.rate_hz = float(rate_hz)
        self.btype = btype
        self.sos = iir.butter_sos(order, cutoff_hz, self.rate_hz, btype)
        self._rows = [tuple(float(v) for v in row) for row in self.sos]
        self._zi_unit = iir.sosfilt_zi(self.sos)
        # the state per section (z0, z1) as plain floats: `step` runs once per analysis-rate
        # sample in the live session, where numpy's per-element access would be most of its cost
        self._z: list[list[float]] | None = None

    @classmethod
    def lowpass(cls, cutoff_hz: float, rate_hz: float, order: int = 2) -> Butterworth:
        """A low-pass whose cut-off is kept below 0.45 of the sampling rate."""
        return cls(order, min(cutoff_hz, 0.45 * rate_hz), rate_hz, "lowpass")

    @property
    def delay_s(self) -> float:
        """Low-frequency group delay of a second-order low-pass, s (0 for other types)."""
        if self.btype != "lowpass":
            return 0.0
        return math.sqrt(2.0) / (2.0 * math.pi * float(self.cutoff_hz))  # type: ignore[arg-type]

    @property
    def zi(self) -> np.ndarray | None:
        """The state, (sections, 2) (None before the first input)."""
        return None if self._z is None else np.array(self._z)

    @zi.setter
    def zi(self, value: np.ndarray | None) -> None:
        self._z = None if value is None else np.asarray(value, dtype=float).reshape(-1, 2).tolist()

    def reset(self, x0: float | None = None) -> None:
        """Forget the past. With `x0`: a low-pass restarts in its steady state for x0 (others at
        rest); without: at the next input."""
        if x0 is None:
            self._z = None
        else:
            self.zi = self._zi_unit * (x0 if self.btype == "lowpass" else 0.0)

    def rescale(self, k: float) -> None:
        """The signal's unit changed by the factor `k`: the state is linear in the past inputs,
        so scaling it is what the filter would hold had they been k times as large."""
        if self._z is not None:
            self._z = [[z0 * k, z1 * k] for z0, z1 in self._z]

    def step(self, x: float) -> float:
        """One sample through the filter (direct form II transposed, section by section)."""
        if self._z is None:
            self.reset(x)
        assert self._z is not None
        y = float(x)
        for (b0, b1, b2, _a0, a1, a2), z in zip(self._rows, self._z, strict=True):
            out = b0 * y + z[0]
            z[0] = b1 * y - a1 * out + z[1]
            z[1] = b2 * y - a2 * out
            y = out
        return y

    def run(self, x: np.ndarray) -> np.ndarray:
        """A block of samples through the filter, carrying the state (as `step` does)."""
        return np.array([self.step(v) for v in np.asarray(x, dtype=float)])

    def zero_phase(self, x: np.ndarray, padlen: int | None = None) -> np.ndarray:
        """The whole array forward and backward (no delay; looks ahead: offline only), each
        pass from its steady state, the ends extended by `padlen` samples (scipy's default:
        three times the number of coefficients). Arrays of 15 samples or fewer come back
        unfiltered."""
        x = np.asarray(x, dtype=float)
        if len(x) < 16:
            return x.copy()
        return iir.sosfiltfilt(self.sos, x, padlen=padlen)
