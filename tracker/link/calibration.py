"""Mounting calibration from two still poses: standing upright, then lying on the back.

Pure numpy, no radio: `tracker pair` collects the samples, this module turns them into the
sensor-to-body rotation stored with the sensor.

At rest an accelerometer reads the specific force, +9.81 m/s² pointing up. Standing upright, "up"
is the body's superior axis (+z body); lying on the back on the roller, "up" is pitched 15-35°
from the anterior axis toward superior with the hips down, and about anterior in a bridge. Both
directions lie in the sagittal plane, so their cross product is the lateral axis whatever the
lying pitch; superior is taken from standing and anterior completes the frame
(`tracker.analysis.body_axes.calibration_from_still_poses`, which also refuses poses that imply
an impossible way of lying on a roller). How upright the person stood is the one thing two poses
cannot tell: the analysis checks the calibration against each recording and takes the pitch
offset from it (`BodyAxesEstimator`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracker.analysis.body_axes import calibration_from_still_poses as from_mean_poses
from tracker.errors import PairingError
from tracker.imu import STANDARD_GRAVITY_M_S2, MountingCalibration

STILL_GYRO_STD_RAD_S = 0.05
"""Largest rotation-rate spread (per axis std) accepted as "still" (about 3 °/s)."""
STILL_ACC_STD_M_S2 = 0.3
"""Largest spread of the acceleration norm accepted as "still"."""


@dataclass(frozen=True)
class StillPose:
    """The summary of one still pose: mean specific force (m/s², sensor frame) and its spread."""

    mean_acc_m_s2: np.ndarray
    acc_norm_std_m_s2: float
    gyro_std_rad_s: float
    n_samples: int

    @property
    def is_still(self) -> bool:
        return self.gyro_std_rad_s <= STILL_GYRO_STD_RAD_S and self.acc_norm_std_m_s2 <= STILL_ACC_STD_M_S2


def summarize_still_pose(acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray) -> StillPose:
    """Mean acceleration and stillness of (N, 3) accelerometer and gyroscope samples."""
    acc = np.asarray(acc_m_s2, dtype=float)
    gyr = np.asarray(gyr_rad_s, dtype=float)
    if acc.ndim != 2 or acc.shape[1] != 3 or len(acc) < 10 or gyr.shape != acc.shape:
        raise PairingError(
            f"not enough samples for a still pose ({len(acc)})",
            hint="keep the sensor on and connected, then run `tracker pair` again",
        )
    return StillPose(
        mean_acc_m_s2=acc.mean(axis=0),
        acc_norm_std_m_s2=float(np.linalg.norm(acc, axis=1).std()),
        gyro_std_rad_s=float(gyr.std(axis=0).max()),
        n_samples=len(acc),
    )


def calibration_from_still_poses(standing: StillPose, lying: StillPose) -> MountingCalibration:
    """The sensor-to-body rotation from a standing and a supine still pose.

    Raises `PairingError` (with what to do) when a pose was not still, gravity looks wrong, the
    two poses are too alike to tell the axes apart, or the lying pitch they imply is not a way
    to lie on a roller (nothing is stored then).
    """
    for label, pose, what in (
        ("standing", standing, "stand upright without moving"),
        ("lying", lying, "lie on your back on the roller without moving"),
    ):
        if not pose.is_still:
            raise PairingError(
                f"you moved during the {label} pose (rotation spread {np.degrees(pose.gyro_std_rad_s):.1f} °/s)",
                hint=f"{what} for the whole countdown, then run `tracker pair` again",
            )
    # The geometry (gravity and plausibility checks, the lateral axis from the two poses) is the
    # analysis layer's, which checks the calibration against every recording.
    calibration = from_mean_poses(standing.mean_acc_m_s2, lying.mean_acc_m_s2)
    return MountingCalibration(
        sensor_to_body=calibration.sensor_to_body,
        source="pairing",
        quality={
            **calibration.quality,
            "standing_gyro_std_rad_s": standing.gyro_std_rad_s,
            "lying_gyro_std_rad_s": lying.gyro_std_rad_s,
        },
    )


def synthetic_still_pose(
    sensor_to_body: np.ndarray,
    up_body: np.ndarray,
    *,
    n_samples: int,
    acc_noise_m_s2: float = 0.02,
    gyro_noise_rad_s: float = 0.003,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Accelerometer and gyroscope samples (sensor frame) of a still pose where `up_body` points up.

    For tests and for the emulated person when no scripted source is available: the specific
    force is g along `up_body`, rotated into the sensor frame (R.T), plus white noise.
    """
    rng = np.random.default_rng(seed)
    up = np.asarray(up_body, float) / np.linalg.norm(up_body)
    acc_sensor = np.asarray(sensor_to_body, float).T @ (STANDARD_GRAVITY_M_S2 * up)
    acc = acc_sensor + rng.normal(0.0, acc_noise_m_s2, (n_samples, 3))
    gyr = rng.normal(0.0, gyro_noise_rad_s, (n_samples, 3))
    return acc, gyr
