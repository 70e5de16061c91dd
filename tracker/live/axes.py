"""The strap's rotation for the live session: from the calibration at once, or learned online.

Without a calibration, nothing is analysed until the body axes are learned (offline's
`BodyAxesEstimator`) from the first `learn_s` of samples with at least `min_lying_s` lying on
the roller (retried every `retry_s` up to `max_wait_s`, after which the best estimate is taken);
then the buffered samples go through the rest of the pipeline at once, so nothing is lost, only
late. Pair the sensor to avoid this lag.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from tracker.analysis.body_axes import BodyAxesEstimator
from tracker.imu import MountingCalibration
from tracker.live.raw import SlowRedo
from tracker.live.sample import Sample


class AxesStage:
    """Sensor-to-body rotation (see the module docstring). `push` returns the samples ready for
    the body frame: the one given once the axes are known, the whole buffer when they are
    learned, nothing while learning."""

    def __init__(
        self,
        rate_hz: float,
        calibration: MountingCalibration | None,
        *,
        learn_s: float = 45.0,
        min_lying_s: float = 20.0,
        max_wait_s: float = 180.0,
        retry_s: float = 5.0,
    ) -> None:
        self.rate_hz = rate_hz
        self.min_lying_s = min_lying_s
        self.max_wait_s = max_wait_s
        self.retry_s = retry_s
        self.rotation: np.ndarray | None = None
        self.source = "learning"
        self.notes: list[str] = []
        self.ready_at_s: float | None = None
        """When the axes became known (session time), None until then."""
        self._buffer: deque[Sample] = deque(maxlen=int(max_wait_s * rate_hz) + 1)
        self._next_try_s = learn_s
        if calibration is not None:
            self.rotation = np.asarray(calibration.sensor_to_body, dtype=float)
            self.source = calibration.source or "pairing"
            self.ready_at_s = 0.0

    @property
    def pending(self) -> int:
        """Samples buffered while the axes are learned."""
        return len(self._buffer)

    def push(self, s: Sample) -> list[Sample]:
        if self.rotation is not None:
            return [s]
        self._buffer.append(s)
        if s.t_s >= self._next_try_s:
            return self._try(s.t_s, final=s.t_s >= self.max_wait_s)
        return []

    def finish(self) -> list[Sample]:
        """End of the stream: the best estimate from what is buffered."""
        if self.rotation is None and self._buffer:
            return self._try(self._buffer[-1].t_s, final=True)
        return []

    def correct(self, redo: SlowRedo) -> None:
        """The slow orientation filter was run again: the buffered samples get its output."""
        for s in self._buffer:
            k = int(np.searchsorted(redo.t_s, s.t_s))
            if k < len(redo.t_s) and abs(redo.t_s[k] - s.t_s) < 1e-9:
                s.up_slow = redo.up[k]

    def _try(self, now_s: float, final: bool) -> list[Sample]:
        samples = list(self._buffer)
        up = np.array([s.up for s in samples])
        gyr = np.array([s.gyr_rad_s for s in samples])
        est = BodyAxesEstimator().estimate(up, gyr, self.rate_hz, None)
        x = est.sensor_to_body_[0]
        lying = float(np.count_nonzero(up @ x > est.lying_min_cos)) / self.rate_hz
        separated = est.quality_.get("eigen_separation", 0.0) >= est.min_separation
        if not ((separated and lying >= self.min_lying_s) or final):
            self._next_try_s = now_s + self.retry_s
            return []
        self.rotation = est.sensor_to_body_
        self.source = "inferred"
        self.notes += est.notes_
        self.notes.append(
            f"body axes learned online from the first {samples[-1].t_s - samples[0].t_s:.0f} s "
            f"({lying:.0f} s lying); the coaching of that stretch arrived late"
        )
        self.ready_at_s = samples[-1].t_s
        self._buffer.clear()
        return samples
