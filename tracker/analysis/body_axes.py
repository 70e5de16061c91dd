"""Where the body's axes are in the sensor frame (x anterior, y left, z superior).

From the pairing calibration when there is one; otherwise inferred from the recording itself,
which may start already on the roller, with the strap rotated any way:

* **anterior (x)** is the axis the torso hardly ever turns about. On the roller the torso pitches
  about its lateral axis (rolling) and rocks about its long axis (sway, breathing); standing it
  turns and sways about its long axis; sitting down and lying back are pitch again. Nobody spins
  about their chest normal, so x is the eigenvector of the rotation-rate covariance with the
  smallest eigenvalue. The sign: a person on a roller lies on the back, so x points up there.
* **superior (z)**: gravity's direction with its anterior part removed points along +z whenever the
  head end is higher than the hips: standing, sitting, hips down on the roller (by the geometry),
  and in a bridge (the shoulders rest on the roller above the hips' line). The mean of that
  projection over the recording gives z.
* **lateral (y)** = z x x. As a check, the principal axis of rotation on the roller (pitching)
  should be close to it (`quality["lateral_check_deg"]`).

The pitch that locates the roller (tracker.analysis.kinematics) depends on x and z only through
the tilt of z within the sagittal plane, which this recovers from the rocking: a wrong x by
epsilon makes pitch wrong by about epsilon. A rotation error about x (between y and z) only
mixes rocking into pitch at second order.

`calibration_from_still_poses` is the pairing calibration (stand still, then lie on the roller
still), pure numpy.
"""

from __future__ import annotations

import numpy as np

from tracker.errors import PairingError
from tracker.imu import STANDARD_GRAVITY_M_S2, MountingCalibration

MIN_POSE_ANGLE_DEG = 40.0


def calibration_from_still_poses(
    acc_standing_mean: np.ndarray, acc_lying_mean: np.ndarray
) -> MountingCalibration:
    """Sensor-to-body rotation from the mean specific force standing still and lying still.

    `acc_standing_mean`, `acc_lying_mean`: (3,) m/s² in the sensor frame. Standing, up is superior
    (z); lying on the back on the roller, up is mostly anterior (x) with some superior part when
    the hips are down, which the Gram-Schmidt step removes. Raises `PairingError` when gravity
    is implausible or the two poses are too alike to tell the axes apart.
    """
    stand = np.asarray(acc_standing_mean, dtype=float).reshape(3)
    lie = np.asarray(acc_lying_mean, dtype=float).reshape(3)
    for label, v in (("standing", stand), ("lying", lie)):
        g = float(np.linalg.norm(v))
        if not 0.8 * STANDARD_GRAVITY_M_S2 <= g <= 1.2 * STANDARD_GRAVITY_M_S2:
            raise PairingError(
                f"the {label} pose measured {g:.2f} m/s² of gravity instead of about 9.81",
                hint="keep still during the pose, with the sensor strapped on firmly, then pair again",
            )
    z = stand / np.linalg.norm(stand)
    x_raw = lie / np.linalg.norm(lie)
    angle = float(np.degrees(np.arccos(np.clip(z @ x_raw, -1.0, 1.0))))
    if not MIN_POSE_ANGLE_DEG <= angle <= 180.0 - MIN_POSE_ANGLE_DEG:
        raise PairingError(
            f"standing and lying looked almost the same to the sensor ({angle:.0f}° apart)",
            hint="stand fully upright for the first pose and lie back on the roller for the second",
        )
    x = x_raw - (x_raw @ z) * z
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    return MountingCalibration(
        np.vstack([x, y, z]), source="pairing", quality={"pose_angle_deg": angle}
    )


class BodyAxesEstimator:
    """Sensor-to-body rotation from a calibration or from the recording.

    Parameters
    ----------
    highpass_window_s
        The rotation rate's running mean over this window is removed before the covariance, so a
        slowly changing residual gyro bias cannot pose as rotation.
    min_separation
        Smallest ratio of the middle to the smallest eigenvalue for the anterior axis to count as
        found; below it the pitch may be off by several degrees (noted in the results).
    """

    def __init__(
        self,
        highpass_window_s: float = 10.0,
        min_separation: float = 4.0,
        lying_min_cos: float = 0.3,
        max_rate_rad_s: float = 0.5,
        min_lying_s: float = 20.0,
    ) -> None:
        self.highpass_window_s = highpass_window_s
        self.min_separation = min_separation
        self.lying_min_cos = lying_min_cos
        self.max_rate_rad_s = max_rate_rad_s
        self.min_lying_s = min_lying_s

    def estimate(
        self,
        up_sensor: np.ndarray,
        gyr_rad_s: np.ndarray,
        rate_hz: float,
        calibration: MountingCalibration | None = None,
    ) -> BodyAxesEstimator:
        """`up_sensor` (M, 3) unit up vectors and `gyr_rad_s` (M, 3) rates, sensor frame."""
        self.notes_: list[str] = []
        if calibration is not None:
            self.sensor_to_body_ = np.asarray(calibration.sensor_to_body, dtype=float)
            self.source_ = calibration.source or "pairing"
            self.quality_ = dict(calibration.quality)
            return self
        w = max(1, int(round(self.highpass_window_s * rate_hz)))
        gyr = gyr_rad_s - _running_mean(gyr_rad_s, w)
        evals, evecs = _principal_axes(gyr)
        x = _supine_sign(evecs[:, 0], up_sensor)
        # Second pass on the time lying back (anterior well above horizontal) without the quick
        # turns of getting on and off: standing turns about a long axis that is not exactly
        # vertical, and those fast turns would otherwise tilt the estimate by a degree or two.
        lying = (up_sensor @ x > self.lying_min_cos) & (
            np.linalg.norm(gyr, axis=1) < self.max_rate_rad_s
        )
        if lying.sum() >= self.min_lying_s * rate_hz:
            evals, evecs = _principal_axes(gyr[lying])
            x = _supine_sign(evecs[:, 0], up_sensor)
        separation = float(evals[1] / max(evals[0], 1e-18))
        plane = up_sensor - np.outer(up_sensor @ x, x)
        z = plane.mean(axis=0)
        if np.linalg.norm(z) < 1e-6:
            z = evecs[:, 1] - (evecs[:, 1] @ x) * x
        z /= np.linalg.norm(z)
        y = np.cross(z, x)
        lateral_check = float(np.degrees(np.arccos(min(1.0, abs(float(evecs[:, 2] @ y))))))
        self.sensor_to_body_ = np.vstack([x, y, z])
        self.source_ = "inferred"
        self.quality_ = {
            "eigen_separation": separation,
            "lateral_check_deg": lateral_check,
        }
        self.notes_.append(
            "no mounting calibration: body axes inferred from the recording (anterior = the axis the "
            "torso never turns about; superior from gravity)"
        )
        if separation < self.min_separation:
            self.notes_.append(
                f"the chest normal was hard to tell from the long axis (separation {separation:.1f}); "
                "positions along the back may be off by several cm: pair the sensor to calibrate"
            )
        return self

    @property
    def calibration_(self) -> MountingCalibration:
        return MountingCalibration(self.sensor_to_body_, source=self.source_, quality=self.quality_)


def _principal_axes(gyr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors (columns) of the rotation-rate covariance."""
    cov = gyr.T @ gyr / max(1, len(gyr))
    return np.linalg.eigh(cov)


def _supine_sign(x: np.ndarray, up_sensor: np.ndarray) -> np.ndarray:
    """Orient the anterior axis so it points up where it is clearly vertical (lying supine)."""
    along = up_sensor @ x
    clear = np.abs(along) > 0.5
    sign = np.mean(along[clear]) if clear.any() else np.mean(along)
    return x if sign >= 0 else -x


def _running_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Centered running mean along axis 0 (edges use the available samples)."""
    if window <= 1:
        return np.zeros_like(x)
    c = np.cumsum(np.vstack([np.zeros((1,) + x.shape[1:]), x]), axis=0)
    n = len(x)
    half = window // 2
    lo = np.clip(np.arange(n) - half, 0, n)
    hi = np.clip(np.arange(n) + half + 1, 0, n)
    return (c[hi] - c[lo]) / (hi - lo)[:, None]
