"""Hips down or bridge on the roller, causally: the offline `PostureSegmenter`'s rules on trailing
windows.

Offline (tracker.analysis.posture), the posture on the roller comes from the torso's pitch where
it is unambiguous (flatter than `flat_fraction` of the flattest hips-down pitch: a bridge; steeper
than `bridge_max_pitch_deg`: hips down) and otherwise from how the torso moves during strokes:
the ratio of the along-spine acceleration's rms to the pitch rate's rms (both in the stroke
band), about 0.2 m hips down (the torso pivots about the hips) and well above 1 m in a bridge
(it translates). A change of posture needs a lift or lowering of the hips (the pitch moves by
`min_lift_pitch_deg` within `lift_window_s`).

Here the same quantities with causal filters and trailing windows (same parameters, read from a
`PostureSegmenter`): band-passes with state, rms over the trailing `ratio_window_s`, the evidence
averaged over the trailing `evidence_window_s` weighted by the motion (`motion_weight`; motion
too steep for a bridge votes hips down), and the lift looked for in the trailing
`lift_window_s`. Holds carry no evidence and keep the current posture. The price is
delay: a change is seen when the trailing evidence has turned, up to `evidence_window_s` after
the lift (the pitch rules, when they decide, within about `posture_smooth_s / 2`).
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from tracker.analysis.accel_only import (
    BRIDGE_MOTION_M_S2,
    BRIDGE_STEADY_DEG,
    HIPS_DOWN_STEP_DEG,
    STEP_WINDOW_S,
)
from tracker.analysis.posture import PostureSegmenter
from tracker.analysis.steps.filters import Butterworth
from tracker.analysis.steps.windows import TrailingMean, TrailingSpan, centred_mean
from tracker.imu import STANDARD_GRAVITY_M_S2
from tracker.live.sample import BRIDGE, HIPS_DOWN, BodySample


class LivePosture:
    """Per-sample posture on the roller: "hips_down" or "bridge" (see the module docstring)."""

    def __init__(
        self,
        rate_hz: float,
        roller_diameter_cm: float,
        hip_to_neck_cm: float,
        segmenter: PostureSegmenter | None = None,
        has_gyro: bool = True,
    ) -> None:
        ps = segmenter or PostureSegmenter()
        self.has_gyro = has_gyro
        # without a gyroscope: the accelerometer's own evidence (`accel_only.posture_evidence`)
        self._accel = None if has_gyro else LivePostureEvidence(rate_hz, ps.ratio_window_s)
        self.ps = ps
        self.rate_hz = rate_hz
        self.flattest_deg = math.degrees(2.0 * math.atan2(0.5 * roller_diameter_cm, hip_to_neck_cm))
        self._bp_a = Butterworth(2, (0.05, min(1.0, 0.45 * rate_hz)), rate_hz, "bandpass")
        self._bp_t = Butterworth(2, (0.02, min(0.15, 0.45 * rate_hz)), rate_hz, "bandpass")
        w = max(3, int(round(ps.ratio_window_s * rate_hz)))
        self._qa = TrailingMean(w)
        self._qt = TrailingMean(w)
        ev = max(3, int(round(ps.evidence_window_s * rate_hz)))
        self._num = TrailingMean(ev)
        self._den = TrailingMean(ev)
        self._pitch_s = TrailingMean(int(round(0.5 * ps.posture_smooth_s * rate_hz)))
        self._p1 = TrailingMean(int(round(1.0 * rate_hz)))
        # the 1 s mean pitch over the lift window plus the evidence window: the evidence turns up
        # to `evidence_window_s` after the lift that explains it (the offline search range)
        self._lift: deque[tuple[float, float]] = deque(
            maxlen=max(2, int(round((ps.lift_window_s + ps.evidence_window_s) * rate_hz)))
        )
        self._prev_bt: float | None = None
        self.posture: str | None = None
        self.evidence: float | None = None

    def reset(self) -> None:
        """A new stay on the roller."""
        self.posture = None
        for m in (self._qa, self._qt, self._num, self._den, self._pitch_s, self._p1):
            m.clear()
        self._lift.clear()
        if self._accel is not None:
            self._accel.reset()
        self._prev_bt = None

    def step(
        self, t_s: float, pitch_rad: float, force_spine_m_s2: float, force_norm_m_s2: float = 9.80665
    ) -> str:
        """One analysis-rate sample on the roller: the pitch (offline-tau orientation), the
        specific force along the spine and its magnitude. Returns the posture after it."""
        ps = self.ps
        pitch_deg = math.degrees(pitch_rad)
        p_s = self._pitch_s.step(pitch_deg)
        self._lift.append((t_s, self._p1.step(pitch_deg)))
        a = self._bp_a.step(force_spine_m_s2 - STANDARD_GRAVITY_M_S2 * math.sin(pitch_rad))
        bt = self._bp_t.step(pitch_rad)
        rate_t = 0.0 if self._prev_bt is None else (bt - self._prev_bt) * self.rate_hz
        self._prev_bt = bt
        q_a = math.sqrt(max(self._qa.step(a * a), 0.0))
        q_t = math.sqrt(max(self._qt.step(rate_t * rate_t), 0.0))
        candidate = p_s < ps.bridge_max_pitch_deg
        if self._accel is not None:
            score, evidence = self._accel.step(pitch_deg, force_spine_m_s2, force_norm_m_s2)
            weight = 1.0 if evidence else 0.0
        else:
            # motion near the noise (a hold's breathing) counts little (`motion_weight`)
            weight = float(ps.motion_weight(q_a, q_t))
            score = math.log((q_a + 1e-4) / (q_t + 1e-3)) - math.log(ps.bridge_ratio_m)
        if not candidate:
            score = ps.STEEP_VOTE  # a torso too steep for a bridge moves as hips down
        num = self._num.step(score * weight)
        den = self._den.step(weight)
        self.evidence = num / den if den > 0.3 else None
        want: str
        if p_s < ps.flat_fraction * self.flattest_deg:
            want = BRIDGE  # too flat for hips down, whatever the motion says
        elif not candidate:
            want = HIPS_DOWN  # too steep for a bridge
        elif self.evidence is not None:
            want = BRIDGE if self.evidence > 0.0 else HIPS_DOWN
        else:
            flat = p_s < ps.bridge_fraction * self.flattest_deg
            want = self.posture or (BRIDGE if flat else HIPS_DOWN)
        if self.posture is None:
            self.posture = want
        elif want != self.posture and self.change_time(want) is not None:
            # a change of posture needs the hips to move (a lift or a lowering)
            self.posture = want
        return self.posture

    def change_time(self, posture: str) -> float | None:
        """When the hips moved into `posture` (the steepest 2 s pitch fall for a bridge, rise
        for hips down, of at least `min_lift_pitch_deg`, within the kept window), or None."""
        h = max(1, int(round(self.rate_hz)))
        if len(self._lift) <= 2 * h:
            return None
        arr = np.array(self._lift)
        sign = -1.0 if posture == BRIDGE else 1.0
        d = sign * (arr[2 * h :, 1] - arr[: -2 * h, 1])
        k = int(np.argmax(d))
        if d[k] < self.ps.min_lift_pitch_deg:
            return None
        return float(arr[k + h, 0])


class LivePostureEvidence:
    """`tracker.analysis.accel_only.posture_evidence` on trailing windows: +1 bridge, -1 hips
    down, and whether there is evidence, one sample at a time (the same thresholds)."""

    def __init__(self, rate_hz: float, window_s: float = 6.0) -> None:
        self.rate_hz = rate_hz
        self._level = TrailingMean(max(1, int(round(4.0 * rate_hz))))
        self._levels = TrailingSpan(max(3, int(round(STEP_WINDOW_S * rate_hz))))
        self._slow = TrailingMean(max(1, int(round(20.0 * rate_hz))))
        self._band = Butterworth(2, (0.05, min(1.0, 0.45 * rate_hz)), rate_hz, "bandpass")
        self._q = TrailingMean(max(3, int(round(window_s * rate_hz))))

    def reset(self) -> None:
        for m in (self._level, self._slow, self._q):
            m.clear()
        self._levels.clear()
        self._band.reset()

    def step(self, pitch_deg: float, force_spine_m_s2: float, force_norm_m_s2: float) -> tuple[float, bool]:
        span = self._levels.step(self._level.step(pitch_deg))
        incl = math.asin(max(-1.0, min(1.0, force_spine_m_s2 / max(force_norm_m_s2, 1e-9))))
        slow = self._slow.step(incl)
        a = self._band.step(force_spine_m_s2 - STANDARD_GRAVITY_M_S2 * math.sin(slow))
        q_a = math.sqrt(max(self._q.step(a * a), 0.0))
        if span < BRIDGE_STEADY_DEG and q_a > BRIDGE_MOTION_M_S2:
            return 1.0, True
        if span > HIPS_DOWN_STEP_DEG:
            return -1.0, True
        return 0.0, False


class PostureStage:
    """The posture on the roller for the live session: `LivePosture`'s answer, changed only
    when it has said the same for `confirm_s` (a flip must last)."""

    def __init__(self, live: LivePosture, confirm_s: float = 1.0) -> None:
        self.live = live
        self.confirm_s = confirm_s
        self.current: str | None = None
        self._candidate: str | None = None
        self._candidate_since = 0.0

    def reset(self) -> None:
        """A new stay on the roller."""
        self.current = None
        self.live.reset()

    def step(self, s: BodySample) -> str | None:
        """One sample on the roller; returns the new posture when a change is confirmed now
        (the caller switches), else None."""
        ax, ay, az = s.acc_m_s2.tolist()
        posture = self.live.step(s.t_s, s.slow_pitch_rad, az, math.sqrt(ax * ax + ay * ay + az * az))
        if self.current is None:
            self.current = posture
            self._candidate = posture
        if posture == self.current:
            self._candidate = posture
            return None
        if posture != self._candidate:
            self._candidate, self._candidate_since = posture, s.t_s
        elif s.t_s - self._candidate_since >= self.confirm_s:
            return posture
        return None

    def switched(self, posture: str) -> None:
        self.current = posture
        self._candidate = posture


def lift_extent(
    samples: list[BodySample],
    t_c: float,
    posture: str,
    segmenter: PostureSegmenter,
    rate_hz: float,
    until: float | None = None,
) -> tuple[float, float] | None:
    """(start, end) s of the lift (into a bridge) or lowering (into hips down) of the hips
    nearest `t_c` among `samples`, padded, as offline's `PostureSegmenter._place_lifts` marks
    it: the steepest pitch step of that sign within `lift_search_s`, extended while the pitch
    turns faster than `lift_rate_fraction` of its peak rate; None if the pitch moves by less
    than a lift does. `until`: look no later than this (the end of the stay on the roller)."""
    ps = segmenter
    if until is not None:
        samples = [s for s in samples if s.t_s <= until]
    if len(samples) < 8:
        return None
    t = np.array([s.t_s for s in samples])
    up_z = np.array([s.up_slow[2] for s in samples])
    pitch = np.degrees(np.arcsin(np.clip(up_z, -1.0, 1.0)))
    p1 = centred_mean(pitch, max(1, int(round(0.5 * rate_hz))))
    d = np.gradient(p1) * rate_hz
    sign = -1.0 if posture == BRIDGE else 1.0

    def step(lo: int, hi: int, ceil: int | None = None) -> tuple[int, int] | None:
        got = ps.lift_step(p1, d, lo, hi, sign, 0, len(d) if ceil is None else ceil)
        return None if got is None else (got[0], got[2])

    reach = int(round(ps.lift_search_s * rate_hz))
    lo = int(np.searchsorted(t, t_c - ps.lift_search_s))
    hi = int(np.searchsorted(t, t_c + ps.lift_search_s))
    got = step(lo, hi)
    if got is None:
        return None
    l0, l1 = got
    if posture == HIPS_DOWN:
        # lowering the hips and sitting up at once: the steepest rise is sitting up; the
        # lowering is the step just before it (back down the sitting-up's foot to where the
        # rate stops falling)
        foot = l0
        while foot > 0 and sign * d[foot - 1] <= sign * d[foot]:
            foot -= 1
        before = step(max(0, foot - reach), foot + 1, ceil=foot)
        if before is not None:
            l0 = before[0]
    return float(t[l0]) - ps.lift_pad_s, float(t[min(l1, len(t) - 1)]) + ps.lift_pad_s
