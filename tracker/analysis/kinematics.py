"""Rolling geometry: where the roller touches the back, from the torso's pitch.

Hips down (docs/kinematics.md): the hips rest on the floor, the back is a straight line through them,
tangent to a roller of radius r lying on the floor. The contact's distance from the hips along the
back is

    s = r * cot(theta / 2)            theta: torso pitch above horizontal (rad)

and its inverse theta = 2 * atan(r / s). Sensitivity ds/dtheta = -r / (2 sin^2(theta/2)): at
theta = 20 deg on a 15 cm roller one degree of pitch is 2.2 cm along the back, so pitch must be
the elevation of the long axis (roll-free) and accurate to a fraction of a degree.

Bridge: the body translates over the roller, which rolls without slipping on the floor and under
the back, so the contact moves along the back half as far as the body moves (and the other way).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

MIN_PITCH_RAD = np.radians(2.0)
"""Below this pitch the hips-down formula runs off to infinity: the person is lying flat."""


def hips_down_position_cm(pitch_rad: ArrayLike, roller_diameter_cm: float) -> np.ndarray:
    """Contact position along the back from the hips, cm: s = r cot(theta/2).

    `pitch_rad` (N,) is the elevation of the superior axis above horizontal; pitches below
    `MIN_PITCH_RAD` give NaN (not a hips-down contact).
    """
    theta = np.asarray(pitch_rad, dtype=float)
    r = 0.5 * roller_diameter_cm
    with np.errstate(divide="ignore", invalid="ignore"):
        s = r / np.tan(0.5 * theta)
    return np.where(theta >= MIN_PITCH_RAD, s, np.nan)


def hips_down_position_at(pitch_rad: float, roller_diameter_cm: float) -> float:
    """`hips_down_position_cm` of one pitch (the live analysis's per-sample call), the same
    number without an array's overhead."""
    if not pitch_rad >= MIN_PITCH_RAD:
        return math.nan
    return 0.5 * roller_diameter_cm / float(np.tan(0.5 * pitch_rad))


def hips_down_pitch_rad(position_cm: ArrayLike, roller_diameter_cm: float) -> np.ndarray:
    """Inverse of `hips_down_position_cm`: theta = 2 atan(r / s)."""
    r = 0.5 * roller_diameter_cm
    return 2.0 * np.arctan2(r, np.asarray(position_cm, dtype=float))


def bridge_contact_displacement_cm(body_displacement_cm: np.ndarray) -> np.ndarray:
    """Contact displacement along the back for a body displacement toward the head (cm).

    Rolling without slip on both sides: the roller's axis moves half as far as the body, so the
    contact moves along the back by half the body's displacement, toward the hips when the body
    moves toward the head.
    """
    return -0.5 * np.asarray(body_displacement_cm, dtype=float)


FLATTEST_WINDOW_S = 3.0
"""The flattest hips-down pitch is the lowest mean over this long (about a breath), so a breath
at the top of the back cannot set it."""
PITCH_UNCERTAINTY_DEG = 0.75
"""How far the absolute pitch may be off (the strap's axes are learnt from how the torso turns,
and a consumer IMU's gyro and accelerometer axes disagree by a fraction of a degree; its
accelerometer's offset tilts the level by as much): the diameter bound's uncertainty."""
MIN_BOUND_SHARE = 0.55
"""A bound below this share of the configured diameter is not believed: a roller and a back
give way by a few cm, not by half a roller, so such a flat "hips-down" pitch is a posture
misread (a bridge) or a back length set far too short."""
MIN_HIPS_DOWN_S = 20.0
"""Less time with the hips down than this tells nothing about the diameter."""


@dataclass(frozen=True)
class RollerDiameter:
    """The roller diameter the hips-down geometry uses, and what the recording says about it.

    The configured diameter is the roller's nominal size. The diameter that `s = r cot(theta/2)`
    needs is smaller: the contact sinks where the roller and the back's soft tissue give way
    (1-3 cm), and the hips' pivot is not exactly on the floor. The recording bounds it: with the
    hips down the roller is on the back, so at the flattest pitch it is at most the back's length
    from the hips, r <= hip_to_neck * tan(theta_flattest / 2). A configured diameter above that
    bound cannot be right (it puts the roller past the neck); the bound is used instead (its
    own pitch error then partly cancels: the positions at the top of the back are pinned to it).
    A configured diameter below the bound is kept: the recording cannot tell whether the person
    rolled up to the neck. With no hips-down rolling the diameter is not identifiable.
    """

    configured_cm: float
    used_cm: float
    hip_to_neck_cm: float
    bound_cm: float | None = None
    """At most this (cm), from the flattest hips-down pitch; None: not identifiable."""
    bound_range_cm: tuple[float, float] | None = None
    """The bound's uncertainty (its pitch's, `PITCH_UNCERTAINTY_DEG`)."""
    flattest_pitch_deg: float | None = None
    hips_down_s: float = 0.0
    status: str = "not_identifiable"
    """"not_identifiable", "consistent" (the configured diameter is within the bound), "bounded"
    (the bound was used, within its uncertainty of the configured one), "too_large" (the
    configured diameter is beyond the bound's uncertainty; the bound was used) or "implausible"
    (a bound too small to believe; the configured diameter was used)."""

    @classmethod
    def from_pitch(
        cls,
        configured_cm: float,
        hip_to_neck_cm: float,
        flattest_pitch_rad: float | None,
        hips_down_s: float,
    ) -> RollerDiameter:
        """The diameter to use given the flattest hips-down pitch (NaN or None: none seen) and
        the time spent hips down."""
        if (
            flattest_pitch_rad is None
            or not np.isfinite(flattest_pitch_rad)
            or hips_down_s < MIN_HIPS_DOWN_S
        ):
            return cls(configured_cm, configured_cm, hip_to_neck_cm, hips_down_s=hips_down_s)
        theta = float(flattest_pitch_rad)
        du = np.radians(PITCH_UNCERTAINTY_DEG)
        bound = float(diameter_bound_cm(theta, hip_to_neck_cm))
        lo = float(diameter_bound_cm(max(theta - du, MIN_PITCH_RAD), hip_to_neck_cm))
        hi = float(diameter_bound_cm(theta + du, hip_to_neck_cm))
        used, status = bound, ("too_large" if configured_cm > hi else "bounded")
        if bound < MIN_BOUND_SHARE * configured_cm:
            used, status = configured_cm, "implausible"
        elif bound >= configured_cm:
            used, status = configured_cm, "consistent"
        return cls(
            configured_cm, used, hip_to_neck_cm, status=status, bound_cm=bound, bound_range_cm=(lo, hi),
            flattest_pitch_deg=float(np.degrees(theta)), hips_down_s=hips_down_s,
        )  # fmt: skip

    @property
    def identifiable(self) -> bool:
        return self.bound_cm is not None

    def note(self) -> str | None:
        """A line for the result's notes when the configured diameter disagrees with the
        recording beyond the bound's uncertainty, or when the bound could not be believed."""
        if self.status == "too_large":
            assert self.bound_cm is not None and self.flattest_pitch_deg is not None
            return (
                f"the configured {self.configured_cm:g} cm roller would put the roller past the neck "
                f"of a {self.hip_to_neck_cm:g} cm back at the flattest pitch ({self.flattest_pitch_deg:.1f}°): "
                f"positions and paces use {self.bound_cm:.1f} cm, what the recording allows (a roller and "
                "a back give way where they touch, which acts as a smaller roller); if your back is "
                "longer, set hip_to_neck_cm"
            )
        if self.status == "implausible":
            return (
                f"the flattest hips-down pitch ({self.flattest_pitch_deg:.1f}°) does not fit a "
                f"{self.configured_cm:g} cm roller under a {self.hip_to_neck_cm:g} cm back: the "
                "configured diameter was used; check roller_diameter_cm and hip_to_neck_cm"
            )
        return None

    def describe(self) -> str:
        """One line for the text output."""
        if self.bound_cm is None:
            return f"roller {self.configured_cm:g} cm (as configured; the diameter is not identifiable from this recording)"
        lo, hi = self.bound_range_cm or (self.bound_cm, self.bound_cm)
        at_most = f"at most {self.bound_cm:.1f} cm ({lo:.1f}-{hi:.1f}) from this recording"
        if self.status in ("bounded", "too_large"):
            return f"roller {self.configured_cm:g} cm configured, {at_most}: used {self.used_cm:.1f} cm"
        return f"roller {self.configured_cm:g} cm configured, {at_most}"

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> RollerDiameter:
        """The inverse of `to_json` (as a stored result's parameters hold it)."""
        rng = obj.get("bound_range_cm")
        return cls(
            configured_cm=float(obj["configured_cm"]),
            used_cm=float(obj["used_cm"]),
            hip_to_neck_cm=float(obj["hip_to_neck_cm"]),
            bound_cm=None if obj.get("bound_cm") is None else float(obj["bound_cm"]),
            bound_range_cm=None if rng is None else (float(rng[0]), float(rng[1])),
            flattest_pitch_deg=None
            if obj.get("flattest_pitch_deg") is None
            else float(obj["flattest_pitch_deg"]),
            hips_down_s=float(obj.get("hips_down_s", 0.0)),
            status=str(obj.get("status", "not_identifiable")),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "configured_cm": self.configured_cm,
            "used_cm": round(self.used_cm, 2),
            "hip_to_neck_cm": self.hip_to_neck_cm,
            "identifiable": self.identifiable,
            "bound_cm": None if self.bound_cm is None else round(self.bound_cm, 2),
            "bound_range_cm": None
            if self.bound_range_cm is None
            else [round(v, 2) for v in self.bound_range_cm],
            "flattest_pitch_deg": None
            if self.flattest_pitch_deg is None
            else round(self.flattest_pitch_deg, 2),
            "hips_down_s": round(self.hips_down_s, 1),
            "status": self.status,
        }


def diameter_bound_cm(pitch_rad: ArrayLike, hip_to_neck_cm: float) -> np.ndarray:
    """The largest roller diameter that keeps a hips-down contact on the back at this pitch:
    2 * hip_to_neck * tan(theta / 2) (the inverse of `hips_down_position_cm` at s = the back's
    length)."""
    return 2.0 * hip_to_neck_cm * np.tan(0.5 * np.asarray(pitch_rad, dtype=float))


class RollerDiameterTracker:
    """`RollerDiameter` as a recording goes on (the live analysis): the flattest hips-down pitch
    so far (`steps.windows.LowestMean`) and the time hips down so far. `step(pitch_rad,
    hips_down)` one analysis-rate sample, `run(pitch_rad, hips_down)` arrays; `current` is the
    answer after them (the same as `roller_diameter` on everything so far)."""

    def __init__(self, rate_hz: float, configured_cm: float, hip_to_neck_cm: float) -> None:
        from tracker.analysis.steps.windows import LowestMean

        self.rate_hz = float(rate_hz)
        self.configured_cm = float(configured_cm)
        self.hip_to_neck_cm = float(hip_to_neck_cm)
        self._lowest = LowestMean(max(1, int(round(FLATTEST_WINDOW_S * self.rate_hz))))
        self._count = 0
        self._low: float | None = None  # the flattest pitch after the last sample (None: none yet)
        self._current = RollerDiameter(self.configured_cm, self.configured_cm, self.hip_to_neck_cm)
        self._current_at: tuple[float | None, int] = (None, 0)
        self._used: tuple[float | None, bool, float] = (None, False, self.configured_cm)

    @property
    def current(self) -> RollerDiameter:
        """The answer after the samples so far (built when asked: the live analysis steps once
        per sample and reads only `used_cm`)."""
        if self._current_at != (self._low, self._count):
            self._current_at = (self._low, self._count)
            if self._low is not None:
                self._current = RollerDiameter.from_pitch(
                    self.configured_cm, self.hip_to_neck_cm, self._low, self._count / self.rate_hz
                )
        return self._current

    @property
    def used_cm(self) -> float:
        """`current.used_cm`: it changes only with the flattest pitch and once enough time
        hips down has passed, so it is rebuilt only then."""
        key = (self._low, self._count / self.rate_hz >= MIN_HIPS_DOWN_S)
        if key != self._used[:2]:
            self._used = (*key, self.current.used_cm)
        return self._used[2]

    def step(self, pitch_rad: float, hips_down: bool = True) -> None:
        self._low = self._lowest.step(float(pitch_rad), bool(hips_down))
        self._count += int(bool(hips_down))

    def run(self, pitch_rad: np.ndarray, hips_down: np.ndarray) -> RollerDiameter:
        low = self._lowest.run(pitch_rad, hips_down)
        self._count += int(np.count_nonzero(hips_down))
        self._low = float(low[-1]) if len(low) else float("nan")
        return self.current


def roller_diameter(
    pitch_rad: np.ndarray,
    hips_down: np.ndarray,
    rate_hz: float,
    configured_cm: float,
    hip_to_neck_cm: float,
) -> RollerDiameter:
    """`RollerDiameter` for a recording: `pitch_rad` (M,) the torso's pitch, `hips_down` (M,)
    bool, the samples rolling with the hips down (a window never spans a False)."""
    return RollerDiameterTracker(rate_hz, configured_cm, hip_to_neck_cm).run(pitch_rad, hips_down)
