"""The numpy Butterworth kernels (tracker/analysis/steps/iir.py) against scipy.signal, the
well-kept library they stand in for (only to keep scipy.signal out of the analysis's imports)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from tracker.analysis.steps import iir

DESIGNS = [
    (2, 0.8, 25.0, "lowpass"),
    (2, 0.12, 25.0, "lowpass"),
    (2, 11.0, 25.0, "lowpass"),
    (2, 0.04, 25.0, "highpass"),
    (2, (0.05, 1.0), 25.0, "bandpass"),
    (2, (0.02, 0.15), 25.0, "bandpass"),
    (2, (0.02, 1.5), 25.0, "bandpass"),
    (3, 1.0, 100.0, "lowpass"),
    (4, (0.5, 3.0), 50.0, "bandpass"),
]


@pytest.mark.parametrize(("order", "cutoff", "fs", "btype"), DESIGNS)
def test_design_and_filters_are_scipys(order, cutoff, fs, btype):
    ref = signal.butter(order, cutoff, btype=btype, fs=fs, output="sos")
    mine = iir.butter_sos(order, cutoff, fs, btype)
    if order == 2:  # the same sections, in the same order
        np.testing.assert_allclose(mine, ref, rtol=0, atol=1e-12)
    w, h_ref = signal.sosfreqz(ref, worN=512, fs=fs)
    _w, h_mine = signal.sosfreqz(mine, worN=512, fs=fs)
    np.testing.assert_allclose(np.abs(h_mine), np.abs(h_ref), atol=1e-9)
    np.testing.assert_allclose(iir.sosfilt_zi(ref), signal.sosfilt_zi(ref), atol=1e-12)
    assert iir.dc_gain(ref) == pytest.approx(float(np.abs(h_ref[0])), abs=1e-9)
    x = np.cumsum(np.random.default_rng(1).normal(size=20_000))  # long: many blocks to join
    scale = np.abs(x).max()
    np.testing.assert_allclose(iir.sosfilt_zero(ref, x), signal.sosfilt(ref, x), atol=1e-10 * scale)
    steady = signal.sosfilt(ref, x, zi=signal.sosfilt_zi(ref) * x[0])[0]
    np.testing.assert_allclose(iir.sosfilt_steady(ref, x), steady, atol=1e-10 * scale)
    np.testing.assert_allclose(iir.sosfiltfilt(ref, x), signal.sosfiltfilt(ref, x), atol=1e-10 * scale)
    np.testing.assert_allclose(
        iir.sosfiltfilt(ref, x, padlen=300), signal.sosfiltfilt(ref, x, padlen=300), atol=1e-10 * scale
    )


def test_bad_designs_and_short_signals_are_refused():
    with pytest.raises(ValueError, match="half of"):
        iir.butter_sos(2, 13.0, 25.0, "lowpass")
    with pytest.raises(ValueError, match="btype"):
        iir.butter_sos(2, 1.0, 25.0, "notch")
    with pytest.raises(ValueError, match="longer than padlen"):
        iir.sosfiltfilt(iir.butter_sos(2, 1.0, 25.0, "lowpass"), np.zeros(10), padlen=20)
    assert iir.sosfilt_zero(iir.butter_sos(2, 1.0, 25.0, "lowpass"), np.zeros(0)).shape == (0,)


def test_the_cache_hands_out_copies():
    a = iir.butter_sos(2, 0.8, 25.0, "lowpass")
    a[:] = 0.0
    assert iir.butter_sos(2, 0.8, 25.0, "lowpass").any()
