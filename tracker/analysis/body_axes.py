"""Where the body's axes are in the sensor frame (x anterior, y left, z superior).

From the pairing calibration when there is one and it fits the recording; otherwise inferred from
the recording itself, which may start already on the roller, with the strap rotated any way:

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
* **a level torso (a bridge).** Lying nearly level, gravity's share in the chest plane is the
  sine of a pitch of a few degrees, as small as an accelerometer's bias (10 mg is 0.6°) or the
  body's sideways lean: its direction says little about where the head is. But a bridge's
  strokes translate the body along the spine: the gravity-free acceleration in the chest plane
  (stroke band, while lying flat and turning slowly) has its principal axis there, and gravity
  is still good for the sign (the head end higher; standing, when recorded, settles it). Used
  when lying is that level (in-plane gravity under `level_max_deg`) and the axis is clear
  (`min_translation_ratio`); `quality["heading_correction_deg"]` says how far it turned z.

The pitch that locates the roller (tracker.analysis.kinematics) depends on x and z only through
the tilt of z within the sagittal plane, which this recovers from the rocking: a wrong x by
epsilon makes pitch wrong by about epsilon. A rotation error about x (between y and z) only
mixes rocking into pitch at second order.

**What pairing determines.** Standing still and lying still on the roller are two gravity
directions, and both lie in the sagittal plane (lying hips down the torso is pitched 15-35° up,
in a bridge about level; neither is 90° from standing). Two directions in one plane fix that
plane's normal exactly: the lateral axis y = stand x lie, normalised, whatever the lying pitch.
Within the plane they fix the rotation only as well as the person stood upright: x and z come
from taking standing as exactly superior, so a lean of a few degrees tilts them by as much, and
a hips-down position depends on the absolute pitch steeply (s = r cot(pitch / 2): one degree is
several cm, and the pace scales with 1 / sin²(pitch / 2)). So `calibration_from_still_poses`
returns the lateral axis and a first guess of the rest, refuses a pair of poses whose implied
lying pitch is not a way to lie on a roller, and `BodyAxesEstimator` then

1. checks the calibration against the recording (`fit_calibration`): gravity on the roller must
   lie in the calibration's sagittal plane, the axis the torso never turns about must lie in it
   too and point the same way, and the axis it pitches about must be the calibration's lateral
   axis. If any of these disagree (the strap was put on another way, or the pairing poses were
   not what they should be) the axes are inferred from the recording instead, with a note;
2. otherwise, for a pairing calibration, keeps its lateral axis and takes the in-plane rotation
   (the pitch offset) from the recording: the axis the torso never turns about, searched within
   the plane normal to the calibrated lateral axis. When the recording cannot tell (too little
   time lying, no rocking to see), the pairing's standing pose decides. A calibration from
   another source (`source` not "pairing", e.g. the simulator's truth) is only checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tracker.errors import PairingError
from tracker.imu import STANDARD_GRAVITY_M_S2, MountingCalibration

MIN_POSE_ANGLE_DEG = 40.0
"""Standing and lying closer than this are "the same pose" (a lying pitch over 50°)."""
LYING_PITCH_RANGE_DEG = (-15.0, 50.0)
"""The pitch above level the two poses may imply for lying on a roller: hips down 10-40°, a
bridge about level, plus a few degrees for how upright the person stood."""
GRAVITY_TOLERANCE = 0.1
"""A still pose must read within this fraction of standard gravity."""


def calibration_from_still_poses(
    acc_standing_mean: np.ndarray, acc_lying_mean: np.ndarray
) -> MountingCalibration:
    """Sensor-to-body rotation from the mean specific force standing still and lying still.

    `acc_standing_mean`, `acc_lying_mean`: (3,) m/s² in the sensor frame. The lateral axis is
    their cross product (both lie in the sagittal plane); superior is the standing direction and
    anterior completes the frame, so the lying pose may be pitched any plausible way. Raises
    `PairingError` when gravity is implausible, the two poses are too alike to tell the axes
    apart, or the lying pitch they imply is not lying on a roller. `quality` holds
    `pose_angle_deg`, `lying_pitch_deg` (implied, standing taken as upright) and the gravity
    each pose measured.
    """
    stand = np.asarray(acc_standing_mean, dtype=float).reshape(3)
    lie = np.asarray(acc_lying_mean, dtype=float).reshape(3)
    hint = (
        "stand upright for the first pose, then lie back on the roller (hips on the floor or "
        "lifted) and keep still, and run `tracker pair` again"
    )
    gravity = {}
    for label, v in (("standing", stand), ("lying", lie)):
        g = float(np.linalg.norm(v))
        gravity[label] = g
        if not abs(g / STANDARD_GRAVITY_M_S2 - 1.0) <= GRAVITY_TOLERANCE:
            raise PairingError(
                f"the {label} pose measured {g:.2f} m/s² of gravity instead of about 9.81",
                hint="keep still during the pose, with the sensor strapped on firmly, then pair again",
            )
    z = stand / gravity["standing"]
    up_lying = lie / gravity["lying"]
    angle = float(np.degrees(np.arccos(np.clip(z @ up_lying, -1.0, 1.0))))
    lying_pitch = 90.0 - angle
    if angle < MIN_POSE_ANGLE_DEG:
        raise PairingError(
            f"standing and lying looked almost the same to the sensor ({angle:.0f}° apart)",
            hint=hint,
        )
    if not LYING_PITCH_RANGE_DEG[0] <= lying_pitch <= LYING_PITCH_RANGE_DEG[1]:
        raise PairingError(
            f"in the lying pose the head end was {-lying_pitch:.0f}° below the hips: that is not lying "
            "on a roller",
            hint=hint,
        )
    y = np.cross(z, up_lying)
    y /= np.linalg.norm(y)
    x = np.cross(y, z)
    return MountingCalibration(
        np.vstack([x, y, z]),
        source="pairing",
        quality={
            "pose_angle_deg": angle,
            "lying_pitch_deg": lying_pitch,
            "standing_gravity_m_s2": gravity["standing"],
            "lying_gravity_m_s2": gravity["lying"],
        },
    )


MAX_LATERAL_TILT_DEG = 10.0
"""Gravity on the roller may leave the calibration's sagittal plane by this much (median): the
torso rocks by a few degrees, a strap put on another way tilts it by tens."""
MAX_ANTERIOR_OFF_PLANE_DEG = 10.0
"""The axis the torso never turns about may leave the calibration's sagittal plane by this much."""
MAX_LATERAL_AXIS_DEG = 8.0
"""The recording's lateral axis (what the torso pitches about on the roller, else the inferred
one, a few degrees uncertain) may differ from the calibration's by this much."""
MAX_PITCH_CORRECTION_DEG = 25.0
"""The recording may move the calibration's anterior axis within the sagittal plane by this much
(how upright the person stood at pairing); more means the strap sits another way."""
MIN_PITCH_CORRECTION_DEG = 1.0
"""Smaller in-plane corrections are within what the recording itself can tell (a few tenths of a
degree, more in a bridge): the pairing's standing pose is kept then."""
REFINE_MAX_RATE_RAD_S = 0.05
"""The in-plane refinement uses the slow turning on the roller only (holds, slow strokes,
rocking: under 3 °/s): fast strokes and quick shifts turn the chest about axes the slow rocking
does not, and tilted the estimate by up to 3° on the simulator."""
MIN_PITCHING_RATIO = 5.0
"""Rotation about the principal axis on the roller must exceed the next by this factor for that
axis to count as the pitching (lateral) axis; in a bridge the rocking often dominates."""


@dataclass
class CalibrationFit:
    """How a stored calibration fits a recording (`fit_calibration`)."""

    fits: bool
    sensor_to_body: np.ndarray
    """The calibration with its in-plane rotation (pitch offset) taken from the recording when
    it could be seen there; the calibration unchanged otherwise."""
    problems: list[str] = field(default_factory=list)
    quality: dict[str, float] = field(default_factory=dict)


@dataclass
class _Inferred:
    """What the recording says about the axes by itself (`BodyAxesEstimator._infer`)."""

    sensor_to_body: np.ndarray
    separation: float
    lateral_check_deg: float
    gyr_hp: np.ndarray
    lying: np.ndarray
    pitching_axis: np.ndarray
    pitching_ratio: float
    heading_correction_deg: float | None = None


class BodyAxesEstimator:
    """Sensor-to-body rotation from a calibration (checked and refined) or from the recording.

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
        level_max_deg: float = 10.0,
        min_translation_ratio: float = 4.0,
    ) -> None:
        self.level_max_deg = level_max_deg
        self.min_translation_ratio = min_translation_ratio
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
        acc_m_s2: np.ndarray | None = None,
    ) -> BodyAxesEstimator:
        """`up_sensor` (M, 3) unit up vectors and `gyr_rad_s` (M, 3) rates, sensor frame;
        `acc_m_s2` (M, 3) the specific force, optional (a level torso's heading comes from it,
        see the module docstring)."""
        self.notes_: list[str] = []
        self.fit_: CalibrationFit | None = None
        self._acc = acc_m_s2
        has_gyro = bool(len(gyr_rad_s)) and bool(np.isfinite(gyr_rad_s).all())
        if calibration is not None:
            inferred = self._infer(up_sensor, gyr_rad_s, rate_hz) if has_gyro else None
            fit = self.fit_calibration(calibration, up_sensor, rate_hz, inferred)
            self.fit_ = fit
            if fit.fits or inferred is None:
                self.sensor_to_body_ = fit.sensor_to_body
                self.source_ = calibration.source or "pairing"
                self.quality_ = {**dict(calibration.quality), **fit.quality}
                if not fit.fits:
                    self.notes_.append(
                        f"the stored calibration may not fit this recording ({'; '.join(fit.problems)}); "
                        "used anyway (no rotation rate to infer the axes from): pair the sensor again"
                    )
                return self
            self._adopt(inferred)
            self.quality_.update({f"calibration_{k}": v for k, v in fit.quality.items()})
            self.notes_.append(
                f"the stored {calibration.source or 'pairing'} calibration does not fit this recording "
                f"({'; '.join(fit.problems)}): body axes inferred from the recording instead; "
                "if the strap now sits another way, pair the sensor again"
            )
            return self
        self.notes_.append(
            "no mounting calibration: body axes inferred from the recording (anterior = the axis the "
            "torso never turns about; superior from gravity)"
        )
        self._adopt(self._infer(up_sensor, gyr_rad_s, rate_hz))
        return self

    def _adopt(self, inferred: _Inferred) -> None:
        self.sensor_to_body_ = inferred.sensor_to_body
        self.source_ = "inferred"
        self.quality_ = {
            "eigen_separation": inferred.separation,
            "lateral_check_deg": inferred.lateral_check_deg,
        }
        if inferred.heading_correction_deg is not None:
            self.quality_["heading_correction_deg"] = inferred.heading_correction_deg
        if inferred.separation < self.min_separation:
            self.notes_.append(
                f"the chest normal was hard to tell from the long axis (separation {inferred.separation:.1f}); "
                "positions along the back may be off by several cm: pair the sensor to calibrate"
            )

    def _infer(self, up_sensor: np.ndarray, gyr_rad_s: np.ndarray, rate_hz: float) -> _Inferred:
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
            lying = (up_sensor @ x > self.lying_min_cos) & (
                np.linalg.norm(gyr, axis=1) < self.max_rate_rad_s
            )
        separation = float(evals[1] / max(evals[0], 1e-18))
        plane = up_sensor - np.outer(up_sensor @ x, x)
        z = plane.mean(axis=0)
        if np.linalg.norm(z) < 1e-6:
            z = evecs[:, 1] - (evecs[:, 1] @ x) * x
        z /= np.linalg.norm(z)
        heading = None
        acc = getattr(self, "_acc", None)
        if acc is not None and len(acc) == len(up_sensor):
            level_z = self._level_heading(x, up_sensor, gyr_rad_s, np.asarray(acc, dtype=float), rate_hz)
            if level_z is not None:
                heading = float(np.degrees(np.arccos(np.clip(float(level_z @ z), -1.0, 1.0))))
                z = level_z
        y = np.cross(z, x)
        return _Inferred(
            sensor_to_body=np.vstack([x, y, z]),
            separation=separation,
            lateral_check_deg=_axis_angle_deg(evecs[:, 2], y),
            gyr_hp=gyr,
            lying=lying,
            pitching_axis=evecs[:, 2],
            pitching_ratio=float(evals[2] / max(evals[1], 1e-18)),
            heading_correction_deg=heading,
        )

    def _level_heading(
        self, x: np.ndarray, up_sensor: np.ndarray, gyr_rad_s: np.ndarray, acc: np.ndarray, rate_hz: float
    ) -> np.ndarray | None:
        """The superior axis of a torso lying level, from the direction its strokes translate
        it (module docstring), or None when lying is not that level or the direction not
        clear."""
        from tracker.analysis.steps.filters import Butterworth

        flat = (up_sensor @ x > np.cos(np.radians(25.0))) & (
            np.linalg.norm(gyr_rad_s, axis=1) < 0.3
        )
        if flat.sum() < self.min_lying_s * rate_hz or not np.isfinite(acc).all():
            return None
        in_plane = up_sensor[flat] - np.outer(up_sensor[flat] @ x, x)
        if np.linalg.norm(in_plane.mean(axis=0)) >= np.sin(np.radians(self.level_max_deg)):
            return None  # pitched enough for gravity to say where the head is
        band = Butterworth(2, (0.1, min(1.5, 0.45 * rate_hz)), rate_hz, "bandpass")

        def banded(v: np.ndarray) -> np.ndarray:
            return np.column_stack([band.zero_phase(v[:, k]) for k in range(v.shape[1])])

        lin = banded(acc - STANDARD_GRAVITY_M_S2 * up_sensor)[flat]
        # rocking side to side turns the chest about the long axis, and the sensor, above that
        # axis, swings sideways: take out what the rotation explains (the lever arm r fitted,
        # a = alpha x r + omega x (omega x r)), so what is left is the body's own translation
        w = np.asarray(gyr_rad_s, dtype=float)
        alpha = np.gradient(w, axis=0) * rate_hz
        lever = np.zeros((len(w), 3, 3))
        for k in range(3):
            e = np.zeros(3)
            e[k] = 1.0
            lever[:, :, k] = np.cross(alpha, e) + np.cross(w, np.cross(w, e))
        cols = banded(lever.reshape(len(w), 9))[flat].reshape(-1, 3, 3)
        r, *_ = np.linalg.lstsq(cols.reshape(-1, 3), lin.reshape(-1), rcond=None)
        lin = lin - cols @ r
        lin -= np.outer(lin @ x, x)
        evals, evecs = np.linalg.eigh(lin.T @ lin / len(lin))
        if evals[2] < self.min_translation_ratio * max(evals[1], 1e-18):
            return None
        z = evecs[:, 2] - (evecs[:, 2] @ x) * x
        z /= np.linalg.norm(z)
        # the head end is higher (lying, a bridge's shoulders on the roller; standing, clearly)
        return z if float(np.sum(up_sensor @ z)) >= 0.0 else -z

    def fit_calibration(
        self,
        calibration: MountingCalibration,
        up_sensor: np.ndarray,
        rate_hz: float,
        inferred: _Inferred | None,
    ) -> CalibrationFit:
        """Check `calibration` against the recording and refine its pitch offset (module docstring).

        Without time lying on the roller there is nothing to check against: the calibration is
        kept as it is.
        """
        rot = np.asarray(calibration.sensor_to_body, dtype=float)
        x_cal, y_cal = rot[0], rot[1]
        reliable = inferred is not None and inferred.separation >= self.min_separation
        lying = inferred.lying if reliable and inferred is not None else up_sensor @ x_cal > self.lying_min_cos
        quality: dict[str, float] = {"checked_lying_s": float(lying.sum() / rate_hz)}
        if lying.sum() < self.min_lying_s * rate_hz:
            return CalibrationFit(True, rot, [], quality)
        problems = []
        up_lying = up_sensor[lying]
        if float(np.median(up_lying @ x_cal)) < self.lying_min_cos:
            problems.append("lying on the roller, its chest axis does not point up")
        tilt = float(np.degrees(np.median(np.arcsin(np.clip(np.abs(up_lying @ y_cal), 0.0, 1.0)))))
        quality["roller_tilt_deg"] = tilt
        if tilt > MAX_LATERAL_TILT_DEG:
            problems.append(f"gravity on the roller is {tilt:.0f}° out of its sagittal plane")
        if reliable and inferred is not None:
            problems += self._compare_axes(rot, inferred, quality)
        refined = rot
        # only pairing leaves the in-plane rotation to how upright someone stood; a calibration
        # from elsewhere (the simulator's truth, a lab) is kept as it is, only checked
        if inferred is not None and calibration.source == "pairing":
            slow = lying & (np.linalg.norm(inferred.gyr_hp, axis=1) < REFINE_MAX_RATE_RAD_S)
            if slow.sum() >= self.min_lying_s * rate_hz:
                refined = self._refine_pitch(rot, inferred.gyr_hp[slow], quality)
            correction = quality.get("pitch_correction_deg", 0.0)
            if abs(correction) > MAX_PITCH_CORRECTION_DEG:
                problems.append(f"it is turned {abs(correction):.0f}° about the lateral axis")
        return CalibrationFit(not problems, refined, problems, quality)

    @staticmethod
    def _compare_axes(rot: np.ndarray, inferred: _Inferred, quality: dict[str, float]) -> list[str]:
        """The calibration's axes against the ones the rotation itself shows."""
        problems = []
        x_inf, y_inf, z_inf = inferred.sensor_to_body
        off_plane = float(np.degrees(np.arcsin(min(1.0, abs(float(x_inf @ rot[1]))))))
        quality["anterior_off_plane_deg"] = off_plane
        if off_plane > MAX_ANTERIOR_OFF_PLANE_DEG:
            problems.append(f"the axis the torso never turns about is {off_plane:.0f}° out of its sagittal plane")
        # the lateral axis: what the torso pitches about when pitching clearly dominates (hips
        # down), else the inferred one (superior from gravity, a few degrees uncertain)
        pitch_axis = inferred.pitching_axis
        if inferred.pitching_ratio >= MIN_PITCHING_RATIO and abs(pitch_axis @ y_inf) > abs(pitch_axis @ z_inf):
            y_rec = pitch_axis if pitch_axis @ y_inf >= 0 else -pitch_axis
        else:
            y_rec = y_inf
        lateral = float(np.degrees(np.arccos(np.clip(float(y_rec @ rot[1]), -1.0, 1.0))))
        quality["lateral_axis_deg"] = lateral
        if lateral > MAX_LATERAL_AXIS_DEG:
            problems.append(f"the torso pitches about an axis {lateral:.0f}° from its lateral axis")
        return problems

    def _refine_pitch(self, rot: np.ndarray, gyr_lying: np.ndarray, quality: dict[str, float]) -> np.ndarray:
        """Keep the lateral axis; anterior = the in-plane axis the torso turns least about."""
        if len(gyr_lying) < 3:
            return rot
        plane = np.vstack([rot[0], rot[2]])  # basis of the sagittal plane
        in_plane = gyr_lying @ plane.T
        evals, evecs = np.linalg.eigh(in_plane.T @ in_plane / len(in_plane))
        separation = float(evals[1] / max(evals[0], 1e-18))
        quality["pitch_separation"] = separation
        if separation < self.min_separation:
            return rot  # no rocking to see: the standing pose decides
        x = evecs[0, 0] * rot[0] + evecs[1, 0] * rot[2]
        x = x if x @ rot[0] >= 0 else -x
        x /= np.linalg.norm(x)
        y = rot[1]
        correction = float(np.degrees(np.arctan2(float(np.cross(rot[0], x) @ y), float(rot[0] @ x))))
        quality["pitch_correction_deg"] = correction
        if abs(correction) < MIN_PITCH_CORRECTION_DEG:
            return rot
        return np.vstack([x, y, np.cross(x, y)])

    @property
    def calibration_(self) -> MountingCalibration:
        return MountingCalibration(self.sensor_to_body_, source=self.source_, quality=self.quality_)


def _axis_angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    """Angle between two axes (directions without sign), degrees."""
    return float(np.degrees(np.arccos(min(1.0, abs(float(a @ b))))))


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
