"""The orientation stage: which way is up in the sensor frame, and the gyro's bias.

`VqfOrientation` wraps VQF (6D: accelerometer and gyroscope, gyro-bias estimation). It is
causal: `run` on a whole segment or on consecutive blocks gives the same output. The rest of
the analysis needs only what `OrientationStage` promises (the up direction, the rate with its
bias removed, and the bias estimate to carry across a gap), so another stage can replace it,
for example one for a sensor without a gyroscope (up from the low-passed accelerometer, the
rate left NaN).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

MIN_ORIENTATION_RATE_HZ = 100.0
"""The orientation filter runs on block means down to about this rate: the rolling's motion is
below 2 Hz and the analysis itself works at 25 Hz, while VQF's cost grows with the rate."""


def orientation_factor(native_rate_hz: float, factor: int) -> int:
    """How many native samples the orientation filter takes as one (their mean): the largest
    divisor of the analysis's decimation `factor` that keeps its rate at or above
    `MIN_ORIENTATION_RATE_HZ` (1 at 100 Hz and below)."""
    best = 1
    for d in range(1, factor + 1):
        if factor % d == 0 and native_rate_hz / d >= MIN_ORIENTATION_RATE_HZ - 1e-9:
            best = d
    return best


def up_from_quaternion(q: np.ndarray) -> np.ndarray:
    """Earth "up" seen in the sensor frame, (n, 3), from (n, 4) sensor-to-earth quaternions
    (w, x, y, z): the third row of the rotation matrix (`tracker.imu.quaternion_to_matrix`)."""
    if len(q) <= 8:
        # the live raw stage's blocks of a few samples: the same arithmetic on plain floats
        # (a dozen numpy calls on four values cost more than the values)
        rows = [[2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)] for w, x, y, z in q.tolist()]
        return np.array(rows, dtype=float).reshape(-1, 3)
    w, x, y, z = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    up = np.empty((len(q), 3))
    up[:, 0] = 2 * (x * z - w * y)
    up[:, 1] = 2 * (y * z + w * x)
    up[:, 2] = 1 - 2 * (x * x + y * y)
    return up


@dataclass
class OrientationBlock:
    """What an orientation stage gives per sample of a block (n samples)."""

    up_sensor: np.ndarray
    """(n, 3) unit vector pointing up (against gravity), sensor frame."""
    gyr_rad_s: np.ndarray
    """(n, 3) rotation rate with the stage's bias estimate removed, rad/s (NaN: no gyroscope)."""
    rest: np.ndarray
    """(n,) bool: the sensor looked still."""
    bias_rad_s: np.ndarray
    """(n, 3) the stage's gyro-bias estimate at each sample, rad/s (NaN: no gyroscope)."""


class OrientationStage(Protocol):
    """The seam between raw samples and the analysis: any orientation filter."""

    rate_hz: float

    def run(self, acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray) -> OrientationBlock: ...

    def bias_estimate(self) -> np.ndarray | None: ...


class VqfOrientation:
    """VQF (6D) over one gap-free stretch of samples at `rate_hz`.

    Parameters
    ----------
    rate_hz
        Sampling rate of the samples given to `run`, Hz.
    tau_acc_s
        VQF's accelerometer time constant, s.
    rest_bias_estimation, motion_bias_estimation
        VQF's gyro-bias estimation at rest and in motion.
    initial_bias_rad_s
        A gyro-bias estimate to start from (from an earlier stretch or a warm-up), rad/s.
    """

    def __init__(
        self,
        rate_hz: float,
        tau_acc_s: float,
        *,
        rest_bias_estimation: bool = False,
        motion_bias_estimation: bool = True,
        initial_bias_rad_s: np.ndarray | None = None,
    ) -> None:
        from vqf import VQF

        self.rate_hz = float(rate_hz)
        self.tau_acc_s = float(tau_acc_s)
        self._vqf = VQF(
            1.0 / self.rate_hz,
            tauAcc=self.tau_acc_s,
            restBiasEstEnabled=rest_bias_estimation,
            motionBiasEstEnabled=motion_bias_estimation,
        )
        if initial_bias_rad_s is not None:
            self.set_bias(initial_bias_rad_s)

    def set_bias(self, bias_rad_s: np.ndarray) -> None:
        """Take this gyro-bias estimate (with an uncertainty of half a degree per second)."""
        self._vqf.setBiasEstimate(np.asarray(bias_rad_s, dtype=float), 0.5 * math.pi / 180)

    def set_tau_acc(self, tau_acc_s: float) -> None:
        self.tau_acc_s = float(tau_acc_s)
        self._vqf.setTauAcc(self.tau_acc_s)

    def bias_estimate(self) -> np.ndarray:
        return np.array(self._vqf.getBiasEstimate()[0])

    def run(self, acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray) -> OrientationBlock:
        """(n, 3) specific force (m/s²) and rate (rad/s) in, one `OrientationBlock` out."""
        out = self._vqf.updateBatch(
            np.ascontiguousarray(gyr_rad_s, dtype=float),
            np.ascontiguousarray(acc_m_s2, dtype=float),
        )
        return OrientationBlock(
            up_sensor=up_from_quaternion(out["quat6D"]),
            gyr_rad_s=np.asarray(gyr_rad_s, dtype=float) - out["bias"],
            rest=out["restDetected"].astype(bool),
            bias_rad_s=out["bias"],
        )

    step = run

    def step_one(self, acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray) -> np.ndarray:
        """One sample in, its (3,) up vector out (what `run` gives for a block of one, without
        a block's overhead: the live analysis runs this once per analysis-rate sample)."""
        self._vqf.update(
            np.ascontiguousarray(gyr_rad_s, dtype=float), np.ascontiguousarray(acc_m_s2, dtype=float)
        )
        w, x, y, z = self._vqf.getQuat6D().tolist()
        return np.array([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)])


def learn_gyro_bias(
    acc_m_s2: np.ndarray,
    gyr_rad_s: np.ndarray,
    rate_hz: float,
    tau_acc_s: float,
    *,
    passes: int = 1,
    initial_bias_rad_s: np.ndarray | None = None,
) -> np.ndarray:
    """The gyro bias VQF (motion-bias estimation only) has learned after `passes` runs over the
    samples, each starting from the last one's estimate: a warm start for the real pass."""
    bias = initial_bias_rad_s
    for _ in range(passes):
        stage = VqfOrientation(
            rate_hz, tau_acc_s, rest_bias_estimation=False, initial_bias_rad_s=bias
        )
        stage.run(acc_m_s2, gyr_rad_s)
        bias = stage.bias_estimate()
    assert bias is not None
    return bias
