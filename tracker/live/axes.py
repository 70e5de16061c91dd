"""The strap's rotation for the live session: from the calibration at once, or learned online.

Without a calibration, nothing is analysed until the body axes are learned (offline's
`BodyAxesEstimator`) from the first `learn_s` of samples with at least `min_lying_s` lying on
the roller (retried every `retry_s` up to `max_wait_s`, after which the best estimate is taken);
then the buffered samples go through the rest of the pipeline at once, so nothing is lost, only
late. Pair the sensor to avoid this lag.

With a calibration the analysis starts at once, and the calibration is checked against the
samples as offline checks it (`BodyAxesEstimator` with the calibration: the strap may sit
another way than at pairing, and the in-plane rotation is taken from the recording). The check
runs when the same `min_lying_s` of lying is buffered; if it changes the axes, the stage hands
back the buffered samples (`AxesUpdate.replay`) and the session analyses them again with the
checked axes.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tracker.analysis.body_axes import BodyAxesEstimator
from tracker.analysis.gravity_axes import GravityAxesEstimator, axes_settled
from tracker.imu import MountingCalibration
from tracker.live.raw import SlowRedo
from tracker.live.sample import Sample


@dataclass
class AxesUpdate:
    """What one sample did to the axes: the samples ready for the body frame (the one given,
    the whole buffer when the axes were just learned, nothing while learning), or, when a check
    of the calibration changed the axes, every sample so far to analyse again."""

    ready: list[Sample] = field(default_factory=list)
    replay: list[Sample] | None = None


MIN_CHANGE_DEG = 0.2
"""A checked calibration that moves an axis by less than this is kept as it was."""


class AxesStage:
    """Sensor-to-body rotation (see the module docstring)."""

    def __init__(
        self,
        rate_hz: float,
        calibration: MountingCalibration | None,
        *,
        learn_s: float = 45.0,
        min_lying_s: float = 20.0,
        max_wait_s: float = 180.0,
        retry_s: float = 5.0,
        has_gyro: bool = True,
        roller_diameter_cm: float = 15.0,
        hip_to_neck_cm: float = 50.0,
    ) -> None:
        self.has_gyro = has_gyro
        self.roller_diameter_cm = roller_diameter_cm
        self.hip_to_neck_cm = hip_to_neck_cm
        self.rate_hz = rate_hz
        self.min_lying_s = min_lying_s
        self.max_wait_s = max_wait_s
        self.retry_s = retry_s
        self.rotation: np.ndarray | None = None
        self.source = "learning"
        self.notes: list[str] = []
        self._notes_taken = 0
        self.ready_at_s: float | None = None
        """When the axes became known (session time), None until then."""
        self._buffer: deque[Sample] = deque(maxlen=int(max_wait_s * rate_hz) + 1)
        self._next_try_s = learn_s
        self.calibration = calibration
        self.checked = calibration is None
        """The calibration was checked against the samples (True without one)."""
        if calibration is not None:
            self.rotation = np.asarray(calibration.sensor_to_body, dtype=float)
            self.source = calibration.source or "pairing"
            self.ready_at_s = 0.0

    def take_notes(self) -> list[str]:
        """The notes added since the last call."""
        new, self._notes_taken = self.notes[self._notes_taken :], len(self.notes)
        return new

    @property
    def pending(self) -> int:
        """Samples buffered while the axes are learned."""
        return len(self._buffer)

    def push(self, s: Sample) -> AxesUpdate:
        if self.rotation is not None and self.checked:
            return AxesUpdate([s])
        self._buffer.append(s)
        if self.rotation is not None:
            if s.t_s >= self._next_try_s:
                return self._check(s, final=s.t_s >= self.max_wait_s)
            return AxesUpdate([s])
        if s.t_s >= self._next_try_s:
            return AxesUpdate(self._try(s.t_s, final=s.t_s >= self.max_wait_s))
        return AxesUpdate()

    def finish(self) -> list[Sample]:
        """End of the stream: the best estimate from what is buffered."""
        if self.rotation is None and self._buffer:
            return self._try(self._buffer[-1].t_s, final=True)
        return []

    def _check(self, s: Sample, final: bool) -> AxesUpdate:
        """The calibration against the buffered samples, once they hold enough lying (or it
        plainly does not fit)."""
        assert self.rotation is not None and self.calibration is not None
        samples = list(self._buffer)
        est = self._estimate(samples, self.calibration)
        fit = est.fit_
        checked_s = fit.quality.get("checked_lying_s", 0.0) if fit is not None else 0.0
        if fit is not None and fit.fits and checked_s < self.min_lying_s and not final:
            self._next_try_s = s.t_s + self.retry_s
            return AxesUpdate([s])
        self.checked = True
        self._buffer.clear()
        self.notes += est.notes_
        cosines = np.clip(np.sum(est.sensor_to_body_ * self.rotation, axis=1), -1.0, 1.0)
        turned = float(np.degrees(np.arccos(cosines)).max())
        if turned < MIN_CHANGE_DEG:
            return AxesUpdate([s])
        self.rotation = est.sensor_to_body_
        self.source = est.source_
        self.notes.append(
            f"the calibration checked against the first {samples[-1].t_s - samples[0].t_s:.0f} s "
            f"moved the body axes by {turned:.1f}°: that stretch was analysed again"
        )
        return AxesUpdate(replay=samples)

    def correct(self, redo: SlowRedo) -> None:
        """The slow orientation filter was run again: the buffered samples get its output."""
        for s in self._buffer:
            k = int(np.searchsorted(redo.t_s, s.t_s))
            if k < len(redo.t_s) and abs(redo.t_s[k] - s.t_s) < 1e-9:
                s.up_slow = redo.up[k]

    def _estimate(self, samples: list[Sample], calibration: MountingCalibration | None) -> Any:
        """Offline's estimator on the buffered samples: `BodyAxesEstimator`, or without a
        gyroscope `GravityAxesEstimator` (from gravity directions alone). Walking or a sensor
        carried about say nothing of how it sits on a torso on a roller: those samples are left
        out."""
        samples = _worn(samples)
        up = np.array([x.up for x in samples])
        if not self.has_gyro:
            return GravityAxesEstimator().estimate(
                up, self.rate_hz, calibration, acc_m_s2=np.array([x.acc_m_s2 for x in samples]),
                roller_diameter_cm=self.roller_diameter_cm,
                hip_to_neck_cm=self.hip_to_neck_cm,
            )  # fmt: skip
        gyr = np.array([x.gyr_rad_s for x in samples])
        acc = np.array([x.acc_m_s2 for x in samples])
        return BodyAxesEstimator().estimate(up, gyr, self.rate_hz, calibration, acc_m_s2=acc)

    def _settled(self, est: Any, up: np.ndarray) -> tuple[bool, float]:
        """Whether the estimate had enough to go on, and the seconds of lying it saw."""
        if not self.has_gyro:
            lying = float(est.quality_.get("lying_s", 0.0))
            return axes_settled(est, self.min_lying_s, self.min_lying_s), lying
        x = est.sensor_to_body_[0]
        lying = float(np.count_nonzero(up @ x > est.lying_min_cos)) / self.rate_hz
        separated = est.quality_.get("eigen_separation", 0.0) >= est.min_separation
        return separated and lying >= self.min_lying_s, lying

    def _try(self, now_s: float, final: bool) -> list[Sample]:
        samples = list(self._buffer)
        up = np.array([s.up for s in _worn(samples)])
        est = self._estimate(samples, None)
        settled, lying = self._settled(est, up)
        if not (settled or final):
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


def _worn(samples: list[Sample]) -> list[Sample]:
    """The samples taken while the sensor was worn (not walking about), or all when none were."""
    return [x for x in samples if not x.moving_about] or samples
