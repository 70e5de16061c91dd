"""The live analysis without a gyroscope (Polar H10, a phone without one): the gyro-free pieces.

`LiveSession(has_gyro=False)` swaps these in where the live analysis needs a gyroscope, as
offline `analyze` does for an accelerometer-only recording (`tracker.analysis.accel_only`):

* `LiveTiltOrientation` replaces `raw.LiveOrientation`: the gyro-free stage
  (`tracker.analysis.steps.tilt.TiltOrientation`) at the native rate, restarted after a long
  gap as offline restarts it per gap-free segment. Its up vector is both the running and the
  "slow" one (offline has one: the tilt), so there is no warm start and nothing to redo;
* `GravityPitch` gives the bridge's fast-stroke detector and pace gauge a pitch to take gravity
  off with: the trailing mean of the accelerometer's own inclination (the tilt follows the
  stroke's acceleration, which would take the stroke off with it).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tracker.analysis.steps.orientation import OrientationBlock
from tracker.analysis.steps.tilt import TiltOrientation
from tracker.analysis.steps.windows import TrailingMean
from tracker.live.sample import Sample


class LiveTiltOrientation:
    """`raw.LiveOrientation`'s interface (`native`, `decimated`, `gap`) without a gyroscope.

    Parameters
    ----------
    native_rate_hz
        The sensor's rate (the raw stage sets `filter_rate_hz`: block means, as offline).
    tilt
        Overrides for `TiltOrientation` (`AnalysisParameters.tilt`, as offline).
    """

    def __init__(self, native_rate_hz: float, tilt: dict[str, Any] | None = None) -> None:
        self.filter_rate_hz = float(native_rate_hz)
        self.tilt = dict(tilt or {})
        self._stage: TiltOrientation | None = None

    def native(
        self, t_s: np.ndarray, acc: np.ndarray, gyr: np.ndarray, last_t_s: float | None
    ) -> OrientationBlock:
        """The stage over native samples (one gap-free stretch); the rate is not used. On its
        plain-float path (the one a decimation block's few samples take in `run`), so several
        blocks at once give what they give one by one (`batchable`)."""
        if self._stage is None:
            self._stage = TiltOrientation(self.filter_rate_hz, **self.tilt)
        return self._stage.run_floats(acc)

    def decimated(self, s: Sample) -> None:
        """One analysis-rate sample: its "slow" up is the tilt itself (nothing to redo)."""
        s.up_slow = s.up.copy()
        return None

    def batchable(self) -> bool:
        """Once the stage runs: nothing the analysis-rate samples do changes it."""
        return self._stage is not None

    def gap(self) -> None:
        """A long gap: the stage restarts after it (offline: per gap-free segment)."""
        self._stage = None


class GravityPitch:
    """The trailing mean of the accelerometer's inclination along the spine over `window_s`:
    gravity's share for a bridge's fast-move detector and gauge, which fit a sine plus a
    constant over a few seconds (the mean's slow error is that constant)."""

    def __init__(self, rate_hz: float, window_s: float = 20.0) -> None:
        self._mean = TrailingMean(max(1, int(round(window_s * rate_hz))))

    def clear(self) -> None:
        self._mean.clear()

    def step(self, acc_body_m_s2: np.ndarray) -> float:
        a = np.asarray(acc_body_m_s2, dtype=float)
        norm = max(float(np.linalg.norm(a)), 1e-9)
        return self._mean.step(math.asin(max(-1.0, min(1.0, float(a[2]) / norm))))
