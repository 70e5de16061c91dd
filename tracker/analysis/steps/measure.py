"""Measuring one stroke on its piece of the position track, and the plausibility filter."""

from __future__ import annotations

import numpy as np

from tracker.analysis.kinematics import hips_down_pitch_rad
from tracker.guidance import Guidance
from tracker.results import Stroke


class StrokeMeasure:
    """A stroke's distance, direction, timing and pace from its piece of the smoothed track.

    The travel runs from the piece's first extreme to its last; its duration is measured between
    the first 10 % and the last 90 % crossing of that travel and divided by `profile_fraction`,
    the share of a smooth point-to-point movement's time spent there (0.482 for a raised-cosine
    speed profile, 0.51 for minimum jerk), which is robust to the slow start and end of a
    movement.

    Parameters
    ----------
    guidance
        Regions along the back, and the back's length (the plausibility filter).
    min_stroke_cm
        Shorter travel is not a stroke (shuffles, noise).
    min_pitch_change_deg, roller_diameter_cm
        Hips down, a stroke must also change the torso's pitch by this much: a deep breath tilts
        the chest wall by up to about 0.5°, which high on the back is several cm of "position".
        Without a roller diameter this test is off.
    profile_fraction
        Share of a stroke's duration between 10 % and 90 % of its travel.
    max_pace_cm_s
        Faster "strokes" (and ones longer than the back) are changes of posture, not rolling.
    """

    def __init__(
        self,
        guidance: Guidance,
        *,
        min_stroke_cm: float = 2.0,
        min_pitch_change_deg: float = 1.2,
        roller_diameter_cm: float | None = None,
        profile_fraction: float = 0.482,
        max_pace_cm_s: float = 25.0,
    ) -> None:
        self.guidance = guidance
        self.min_stroke_cm = min_stroke_cm
        self.min_pitch_change_deg = min_pitch_change_deg
        self.roller_diameter_cm = roller_diameter_cm
        self.profile_fraction = profile_fraction
        self.max_pace_cm_s = max_pace_cm_s

    def plausible(self, stroke: Stroke) -> bool:
        """No longer than the back and no faster than anyone rolls: a sweep of the pitch
        through the flat angles where the hips-down geometry runs off is a change of posture."""
        return (
            stroke.distance_cm <= self.guidance.hip_to_neck_cm
            and stroke.pace_cm_s <= self.max_pace_cm_s
        )

    def measure(
        self, t: np.ndarray, p: np.ndarray, posture: np.ndarray, a: int = 0, b: int | None = None
    ) -> Stroke | None:
        """The stroke on samples [a, b) of the track `p` (cm) at times `t` (s), `posture`
        ("hips_down" / "bridge") per sample; None when it is no stroke."""
        b = len(p) if b is None else b
        if b - a < 3:
            return None
        seg = p[a:b]
        p0, p1 = float(seg[0]), float(seg[-1])
        lo_i, hi_i = int(np.argmin(seg)), int(np.argmax(seg))
        i0, i1 = (lo_i, hi_i) if p1 >= p0 else (hi_i, lo_i)
        if i1 <= i0:
            i0, i1 = 0, len(seg) - 1
        start_cm, end_cm = float(seg[i0]), float(seg[i1])
        dist = abs(end_cm - start_cm)
        if dist < self.min_stroke_cm:
            return None
        mid_i = a + (i0 + i1) // 2
        if posture[mid_i] == "hips_down" and self.roller_diameter_cm and not self._turns_pitch(
            start_cm, end_cm
        ):
            return None
        tt = t[a + i0 : a + i1 + 1]
        frac = (seg[i0 : i1 + 1] - start_cm) / (end_cm - start_cm)
        t10 = crossing(tt, frac, 0.1, first=True)
        t90 = crossing(tt, frac, 0.9, first=False)
        if t90 <= t10:
            return None
        duration = (t90 - t10) / self.profile_fraction
        mid = 0.5 * (t10 + t90)
        return Stroke(
            start_s=float(mid - 0.5 * duration),
            end_s=float(mid + 0.5 * duration),
            distance_cm=dist,
            pace_cm_s=float(dist / duration),
            region=self.guidance.region_at(0.5 * (start_cm + end_cm)),
            direction="toward_head" if end_cm > start_cm else "toward_hips",
            posture=str(posture[mid_i]) or "hips_down",
            start_cm=start_cm,
            end_cm=end_cm,
        )

    def _turns_pitch(self, start_cm: float, end_cm: float) -> bool:
        """High on the back a breath tilts the chest by as much as a short stroke pitches it: a
        stroke must change the pitch by more than a deep breath does."""
        assert self.roller_diameter_cm is not None
        swing = abs(
            float(
                hips_down_pitch_rad(start_cm, self.roller_diameter_cm)
                - hips_down_pitch_rad(end_cm, self.roller_diameter_cm)
            )
        )
        return bool(np.degrees(swing) >= self.min_pitch_change_deg)


def crossing(t: np.ndarray, frac: np.ndarray, level: float, *, first: bool) -> float:
    """Time where `frac` crosses `level` (linear between samples): the first upward crossing,
    or (first=False) the last."""
    if first:
        above = frac >= level
        k = int(np.argmax(above))
        if k == 0:
            return float(t[0])
        f0, f1 = frac[k - 1], frac[k]
        if f1 == f0:
            return float(t[k])
        return float(t[k - 1] + (level - f0) / (f1 - f0) * (t[k] - t[k - 1]))
    below = frac < level
    if not below.any():
        return float(t[0])
    k = len(frac) - 1 - int(np.argmax(below[::-1]))  # last index below level
    if k >= len(frac) - 1:
        return float(t[-1])
    f0, f1 = frac[k], frac[k + 1]
    if f1 == f0:
        return float(t[k + 1])
    return float(t[k] + (level - f0) / (f1 - f0) * (t[k + 1] - t[k]))
