"""The strap's rotation without a gyroscope: body axes from gravity directions alone.

With a gyroscope, `BodyAxesEstimator` finds the chest normal as the axis the torso never turns
about. An accelerometer sees only where gravity points in the sensor frame, and a turn about
gravity leaves that unchanged, so that axis is out of reach. What gravity directions do give:

* **the sagittal plane.** Standing, sitting, lying hips down and in a bridge, gravity always
  lies in the body's sagittal plane (the torso pitches, it does not lie on its side). Two
  directions far apart (upright and lying) fix the plane's normal, the lateral axis y, to a
  fraction of a degree. Without an upright pose, the pitching on the roller spreads gravity
  along the plane (hips down, a stroke turns the torso by degrees); rocking spreads it across,
  so the plane is the one that holds most of the spread.
* **not the rotation within that plane.** The sensor's tilt on the chest about the lateral axis
  (the pitch offset) shifts every pitch by the same angle; nothing in gravity's directions tells
  it, so it rests on a pose whose pitch is known: standing upright (superior = up; a person
  stands within a few degrees of vertical), else an assumption (`median_fraction`: hips down, the
  median contact on the back is there; a bridge lies `bridge_pitch_deg` above level). Hips
  down, a degree of pitch is 2-3 cm of position high on the back and 6-10 % of pace
  (`tracker.analysis.kinematics`), so `quality_["pitch_offset_uncertainty_deg"]` says how far
  to trust it, and `notes_` say it in words.

With a pairing calibration (stand still, lie still: it fixes the plane exactly and takes
standing as upright, just as here) the calibration is checked (gravity on the roller must lie
in its sagittal plane, `BodyAxesEstimator.fit_calibration`) and kept; a gyroscope would refine
its pitch offset, an accelerometer cannot.
"""

from __future__ import annotations

import math

import numpy as np

from tracker.analysis.body_axes import BodyAxesEstimator, CalibrationFit
from tracker.analysis.steps.windows import centred_extreme, centred_uniform_mean
from tracker.imu import STANDARD_GRAVITY_M_S2, MountingCalibration

STANDING_LEAN_DEG = 3.0
"""How far from vertical a person stands when asked to stand upright (one standard
deviation, an assumption): the uncertainty of a pitch offset taken from standing."""
ASSUMED_PITCH_UNCERTAINTY_DEG = 6.0
"""The uncertainty of a pitch offset that rests on `median_fraction` or `bridge_pitch_deg`."""
MIN_LYING_SHARE = 0.6
"""Live, the axes wait until this share of the time is near the median pose (a session spends
most of its time on the roller; early on, standing and sitting can outweigh it)."""


class GravityAxesEstimator:
    """Sensor-to-body rotation from gravity directions (see the module docstring).

    Parameters
    ----------
    still_rate_deg_s, still_s
        A pose is still when its tilt turns slower than this (1 s mean) for at least this long.
    upright_min_deg
        Still poses this far (within the sagittal plane) from the median pose, the roller's,
        are upright: standing or sitting. Standing is 55-85° from a hips-down median pitch of
        15-35° or a bridge's, the steepest hips-down pitch (the roller low on the back, 60-70°)
        at most 45° from it.
    standing_band_deg
        Standing is the most upright still pose; poses within this of it count (sitting leans
        back by 5-25° more).
    min_upright_s
        Less upright time than this is no reference.
    lying_cone_deg
        Samples within this of the median pose are lying on the roller (`lying_s`,
        `lying_share` in the quality).
    median_fraction, bridge_pitch_deg
        The assumptions when no pose fixes the pitch offset: hips down, the median contact lies
        at this fraction of the back (people roll the mid back most: from below the shoulder
        blades toward the lower back and up again); in a bridge, the torso lies this far above
        level.
    pitching_deg, pitching_window_s, min_pitching_s
        Hips-down rolling: the tilt moves by more than `pitching_deg` within
        `pitching_window_s`, for at least `min_pitching_s` in all.
    jolt_m_s2, upright_near_deg, jolt_group_s
        With the specific force given: a jolt (its magnitude off gravity by more than
        `jolt_m_s2`; jolts closer than `jolt_group_s` are one group) is getting down or up, and the still poses before the first and after the
        last, at least `upright_near_deg` from the median pose, are upright (in place of
        `upright_min_deg`: a session may roll low on the back, its median pose steep).
    """

    def __init__(
        self,
        still_rate_deg_s: float = 4.0,
        still_s: float = 1.0,
        upright_min_deg: float = 50.0,
        standing_band_deg: float = 4.0,
        min_upright_s: float = 1.0,
        lying_cone_deg: float = 45.0,
        median_fraction: float = 0.55,
        bridge_pitch_deg: float = 4.0,
        pitching_deg: float = 4.0,
        pitching_window_s: float = 10.0,
        min_pitching_s: float = 20.0,
        jolt_m_s2: float = 1.0,
        upright_near_deg: float = 20.0,
        jolt_group_s: float = 20.0,
    ) -> None:
        self.jolt_m_s2 = jolt_m_s2
        self.jolt_group_s = jolt_group_s
        self.upright_near_deg = upright_near_deg
        self.still_rate_deg_s = still_rate_deg_s
        self.still_s = still_s
        self.upright_min_deg = upright_min_deg
        self.standing_band_deg = standing_band_deg
        self.min_upright_s = min_upright_s
        self.lying_cone_deg = lying_cone_deg
        self.median_fraction = median_fraction
        self.bridge_pitch_deg = bridge_pitch_deg
        self.pitching_deg = pitching_deg
        self.pitching_window_s = pitching_window_s
        self.min_pitching_s = min_pitching_s

    def estimate(
        self,
        up_sensor: np.ndarray,
        rate_hz: float,
        calibration: MountingCalibration | None = None,
        *,
        acc_m_s2: np.ndarray | None = None,
        roller_diameter_cm: float = 15.0,
        hip_to_neck_cm: float = 50.0,
    ) -> GravityAxesEstimator:
        """`up_sensor` (M, 3) unit up vectors (the tilt) at `rate_hz`. Results: `sensor_to_body_`
        (3, 3), `source_`, `quality_` (with `pitch_offset_uncertainty_deg` and
        `pitch_reference`), `pitch_reference_` ("pairing", "standing" or "assumed"), `fit_`
        (how a given calibration fits, or None), `notes_`. `acc_m_s2` (M, 3), the specific
        force at the same samples, tells standing apart from the roller by the jolts of
        sitting down and getting up (without it: by angle alone)."""
        self.notes_: list[str] = []
        self.fit_: CalibrationFit | None = None
        up = np.asarray(up_sensor, dtype=float)
        if calibration is not None:
            fit = BodyAxesEstimator().fit_calibration(calibration, up, rate_hz, None)
            self.fit_ = fit
            if fit.fits:
                self.sensor_to_body_ = np.asarray(calibration.sensor_to_body, dtype=float)
                self.source_ = calibration.source or "pairing"
                self.quality_ = {
                    **dict(calibration.quality),
                    **fit.quality,
                    "pitch_offset_uncertainty_deg": STANDING_LEAN_DEG,
                }
                self.pitch_reference_ = "pairing"
                self.notes_.append(
                    "no gyroscope: the strap's tilt on the chest comes from standing upright at "
                    f"pairing (about ±{STANDING_LEAN_DEG:g}°) and cannot be refined from the recording"
                )
                return self
            self.notes_.append(
                f"the stored {calibration.source or 'pairing'} calibration does not fit this recording "
                f"({'; '.join(fit.problems)}): body axes inferred from gravity instead; pair the sensor again"
            )
        self._infer(up, rate_hz, roller_diameter_cm, hip_to_neck_cm, acc_m_s2)
        return self

    # --- inference ---------------------------------------------------------------------------------
    def _infer(
        self,
        up: np.ndarray,
        rate: float,
        diameter_cm: float,
        back_cm: float,
        acc: np.ndarray | None,
    ) -> None:
        still = self._still(up, rate)
        mean = up.mean(axis=0)
        mean /= max(float(np.linalg.norm(mean)), 1e-12)
        dev = up - mean
        spread = np.linalg.eigh(dev.T @ dev / max(1, len(dev)))[1][:, 2]
        normal = np.cross(mean, spread)
        normal /= max(float(np.linalg.norm(normal)), 1e-12)
        e1, e2 = mean, np.cross(normal, mean)
        phi = np.degrees(np.arctan2(up @ e2, up @ e1))
        med = float(np.median(phi))
        d = phi - med
        near = np.abs(d) < self.lying_cone_deg
        far = np.abs(d) >= self.lying_cone_deg
        quality: dict[str, float] = {
            "lying_s": float(near.sum() / rate),
            "lying_share": float(near.sum() / max(1, near.sum() + far.sum())),
        }
        # upright: still poses away from the median pose (the roller's time), on one side
        cand = still & (np.abs(d) >= self.upright_min_deg)
        if acc is not None and len(acc) == len(up):
            cand = still & self._off_roller(acc, rate) & (np.abs(d) >= self.upright_near_deg)
        side = 1.0 if np.count_nonzero(cand & (d > 0)) >= np.count_nonzero(cand & (d < 0)) else -1.0
        upright = cand & (side * d > 0)
        quality["upright_s"] = float(upright.sum() / rate)
        if upright.sum() >= self.min_upright_s * rate:
            # standing is the most upright still pose (sitting leans back)
            top = float(np.percentile(side * d[upright], 98.0))
            standing = upright & (side * d >= top - self.standing_band_deg)
            quality["standing_s"] = float(standing.sum() / rate)
            sign = side
            offset = float(np.mean(phi[standing])) - sign * 90.0  # phi = offset + sign * pitch
            self.pitch_reference_ = "standing"
            quality["pitch_offset_uncertainty_deg"] = STANDING_LEAN_DEG
        else:
            self.pitch_reference_ = "assumed"
            quality["pitch_offset_uncertainty_deg"] = ASSUMED_PITCH_UNCERTAINTY_DEG
            got = self._assumed(up, phi, near, rate, diameter_cm, back_cm, quality)
            if got is None:
                # a bridge: the spread is the sway across the sagittal plane, not along it
                normal = self._sway_axis(up, near, rate, mean)
                e1 = mean - (mean @ normal) * normal
                e1 /= np.linalg.norm(e1)
                e2 = np.cross(normal, e1)
                phi = np.degrees(np.arctan2(up @ e2, up @ e1))
                sign, offset = 1.0, float(np.median(phi[near])) - self.bridge_pitch_deg
            else:
                sign, offset = got
            self.notes_.append(
                "no gyroscope and no upright pose in the recording: the strap's tilt on the chest "
                f"rests on an assumption (±{ASSUMED_PITCH_UNCERTAINTY_DEG:g}°); positions along the "
                "back and hips-down paces are rough. Stand still for a few seconds before lying down, "
                "or pair the sensor"
            )
        ang_x, ang_z = math.radians(offset), math.radians(offset + sign * 90.0)
        x = math.cos(ang_x) * e1 + math.sin(ang_x) * e2
        z = math.cos(ang_z) * e1 + math.sin(ang_z) * e2
        y = np.cross(z, x)
        # how far gravity on the roller leaves the plane found (rocking, a wrong plane)
        off = np.degrees(np.arcsin(np.clip(np.abs(up[near] @ y), 0.0, 1.0)))
        quality["roller_tilt_deg"] = float(np.median(off)) if len(off) else 0.0
        quality["pitch_reference"] = 1.0 if self.pitch_reference_ == "standing" else 0.0
        self.sensor_to_body_ = np.vstack([x, y, z])
        self.source_ = "inferred"
        self.quality_ = quality
        self.notes_.insert(
            0,
            "no mounting calibration and no gyroscope: body axes inferred from gravity "
            f"(the pitch offset from {'standing upright' if self.pitch_reference_ == 'standing' else 'an assumption'})",
        )

    def _off_roller(self, acc: np.ndarray, rate: float) -> np.ndarray:
        """(M,) bool: before getting down onto the roller or after getting up from it.

        Sitting down, lying back and standing up move the body by tens of centimetres in a
        second or two: the specific force's magnitude leaves gravity by 1-4 m/s² (a jolt). On
        the roller the chest moves by millimetres to centimetres, under half a m/s² even in a
        fast stroke. Jolts come in groups (crouch, sit down, lie back); the first group
        before a long stay is getting down, the last after it getting up. With one group, the
        shorter side of it is the time off the roller (a recording that starts or ends on the
        roller). No jolt: no time off the roller that the recording shows."""
        jolt = np.abs(np.linalg.norm(acc, axis=1) - STANDARD_GRAVITY_M_S2) > self.jolt_m_s2
        idx = np.flatnonzero(jolt)
        out = np.zeros(len(acc), dtype=bool)
        if not idx.size:
            return out
        if np.any(np.diff(idx) > self.jolt_group_s * rate):  # getting down and getting up
            out[: idx[0]] = True
            out[idx[-1] + 1 :] = True
        elif idx[0] < len(acc) - 1 - idx[-1]:
            out[: idx[0]] = True
        else:
            out[idx[-1] + 1 :] = True
        return out

    def _still(self, up: np.ndarray, rate: float) -> np.ndarray:
        """(M,) bool: the tilt turns slower than `still_rate_deg_s` over at least `still_s`."""
        if len(up) < 3:
            return np.ones(len(up), dtype=bool)
        turn = np.degrees(np.linalg.norm(np.gradient(up, axis=0), axis=1)) * rate
        n = max(1, int(round(self.still_s * rate)))
        return centred_uniform_mean(turn, n) < self.still_rate_deg_s

    def _assumed(
        self,
        up: np.ndarray,
        phi: np.ndarray,
        near: np.ndarray,
        rate: float,
        diameter_cm: float,
        back_cm: float,
        quality: dict[str, float],
    ) -> tuple[float, float] | None:
        """(sign, offset) of the in-plane angle (phi = offset + sign * pitch) from hips-down
        rolling alone, or None when there is too little of it (a bridge)."""
        moving = self._pitching(phi, rate) & near
        quality["pitching_s"] = float(moving.sum() / rate)
        if moving.sum() < self.min_pitching_s * rate:
            return None
        lo, med, hi = (float(v) for v in np.percentile(phi[moving], [5.0, 50.0, 95.0]))
        # the pitch is 2 atan(r / s): contacts spread along the back crowd at the flat end
        # (high on the back) and thin out toward the steep one (the lumbar region), so the flat
        # end is the one nearer the median; the median contact is taken at `median_fraction` of
        # the back
        sign = 1.0 if (med - lo) <= (hi - med) else -1.0
        med_pitch = math.degrees(2.0 * math.atan2(0.5 * diameter_cm, self.median_fraction * back_cm))
        quality["assumed_median_pitch_deg"] = med_pitch
        return sign, med - sign * med_pitch

    def _pitching(self, phi: np.ndarray, rate: float) -> np.ndarray:
        """(n,) bool: the in-plane angle moves by more than `pitching_deg` within
        `pitching_window_s` (hips-down strokes; a bridge's tilt barely moves)."""
        if len(phi) < 3:
            return np.zeros(len(phi), dtype=bool)
        w = max(1, int(round(self.pitching_window_s * rate)))
        # a 4 s mean: rocking on a spot (0.25-0.7 Hz, a few degrees) is no pitching
        smooth = centred_uniform_mean(phi, max(1, int(round(4.0 * rate))))
        span = centred_extreme(smooth, w, np.maximum) - centred_extreme(smooth, w, np.minimum)
        return span > self.pitching_deg

    def _sway_axis(self, up: np.ndarray, near: np.ndarray, rate: float, mean: np.ndarray) -> np.ndarray:
        """The lateral axis of a bridge with no upright pose: the torso barely pitches, and
        what spreads gravity most is the slow sway about the long axis (a bridge stroke tilts
        it by a tenth of a degree to a degree), so the slow spread's main direction is across
        the sagittal plane. Which end is the head cannot be told (stroke directions may come
        out swapped); the torso is taken `bridge_pitch_deg` above level."""
        dev = _slow_sway(up - mean, rate)[near]
        lateral = np.linalg.eigh(dev.T @ dev / max(1, len(dev)))[1][:, 2]
        lateral = lateral - (lateral @ mean) * mean
        return lateral / max(float(np.linalg.norm(lateral)), 1e-12)


def _slow_sway(dev: np.ndarray, rate: float) -> np.ndarray:
    """(n, 3) `dev` band-passed to 0.02-0.1 Hz: the slow sway, without the rocking on a spot
    (0.25-0.7 Hz) or the drift of minutes."""
    if len(dev) < 64 or rate <= 0.25:
        return dev
    from tracker.analysis.steps.filters import Butterworth

    bp = Butterworth(2, (0.02, 0.1), rate, "bandpass")
    return np.column_stack([bp.zero_phase(dev[:, j]) for j in range(3)])


def axes_settled(est: GravityAxesEstimator, min_lying_s: float, min_pitching_s: float) -> bool:
    """Whether `est` had enough to go on (the live analysis waits until it has): clearly more
    time near the lying direction than near the other pose (`MIN_LYING_SHARE`), and an upright
    pose and `min_lying_s` of lying, or `min_pitching_s` of hips-down pitching on the roller."""
    q = est.quality_
    if q.get("lying_share", 1.0) < MIN_LYING_SHARE:
        return False  # which cluster is lying is not clear yet
    if est.pitch_reference_ in ("pairing", "standing"):
        return q.get("lying_s", 0.0) >= min_lying_s
    return q.get("pitching_s", 0.0) >= min_pitching_s
