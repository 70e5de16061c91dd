"""Butterworth design and second-order-section filtering (the numerical kernels of `filters`)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np


def butter_sos(
    order: int, cutoff_hz: float | tuple[float, float], rate_hz: float, btype: str
) -> np.ndarray:
    """(sections, 6) second-order sections of a digital Butterworth filter (a copy: designs are
    cached, the same few are asked for again and again)."""
    cutoff = tuple(float(c) for c in cutoff_hz) if isinstance(cutoff_hz, tuple | list) else float(cutoff_hz)
    return _design(int(order), cutoff, float(rate_hz), str(btype)).copy()


@lru_cache(maxsize=64)
def _design(order: int, cutoff: float | tuple[float, ...], rate_hz: float, btype: str) -> np.ndarray:
    from scipy.signal import butter

    return np.asarray(butter(order, cutoff, btype=btype, fs=rate_hz, output="sos"))


def sosfilt_zi(sos: np.ndarray) -> np.ndarray:
    """(sections, 2) state of the filter at rest for a constant input of 1."""
    from scipy.signal import sosfilt_zi as zi

    return np.asarray(zi(sos))


def sosfilt(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Causal filtering of the 1-d `x` from state `zi`: (output, final state)."""
    from scipy.signal import sosfilt as filt

    y, zf = filt(sos, x, zi=zi)
    return np.asarray(y), np.asarray(zf)


def sosfiltfilt(sos: np.ndarray, x: np.ndarray, padlen: int) -> np.ndarray:
    """Forward-backward filtering of the 1-d `x` (odd extension of `padlen` at both ends)."""
    from scipy.signal import sosfiltfilt as filtfilt

    return np.asarray(filtfilt(sos, x, padlen=padlen))
