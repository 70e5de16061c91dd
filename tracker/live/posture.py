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
averaged over the trailing `evidence_window_s` where there is motion, and the lift looked for in
the trailing `lift_window_s`. Holds carry no evidence and keep the current posture. The price is
delay: a change is seen when the trailing evidence has turned, typically 3-8 s after the lift
(the pitch rules, when they decide, within about `posture_smooth_s / 2`).
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from tracker.analysis.posture import PostureSegmenter
from tracker.imu import STANDARD_GRAVITY_M_S2


class _Biquads:
    """A Butterworth filter (second-order sections) with state, one sample at a time."""

    def __init__(self, order: int, cutoff, rate_hz: float, btype: str) -> None:
        from scipy.signal import butter

        self.sos = [tuple(float(v) for v in row) for row in butter(order, cutoff, btype=btype, fs=rate_hz, output="sos")]
        self.z = [[0.0, 0.0] for _ in self.sos]

    def step(self, x: float) -> float:
        y = x
        for (b0, b1, b2, _a0, a1, a2), z in zip(self.sos, self.z, strict=True):
            out = b0 * y + z[0]
            z[0] = b1 * y - a1 * out + z[1]
            z[1] = b2 * y - a2 * out
            y = out
        return y


class _Mean:
    """Running mean over the last n values."""

    def __init__(self, n: int) -> None:
        self.q: deque[float] = deque(maxlen=max(1, n))
        self.s = 0.0

    def push(self, x: float) -> float:
        if len(self.q) == self.q.maxlen:
            self.s -= self.q[0]
        self.q.append(x)
        self.s += x
        return self.s / len(self.q)

    def clear(self) -> None:
        self.q.clear()
        self.s = 0.0


class LivePosture:
    """Per-sample posture on the roller: 1 hips down, 2 bridge (see the module docstring)."""

    def __init__(self, rate_hz: float, roller_diameter_cm: float, hip_to_neck_cm: float, segmenter: PostureSegmenter | None = None) -> None:
        ps = segmenter or PostureSegmenter()
        self.ps = ps
        self.rate_hz = rate_hz
        self.flattest_deg = math.degrees(2.0 * math.atan2(0.5 * roller_diameter_cm, hip_to_neck_cm))
        self._bp_a = _Biquads(2, [0.05, min(1.0, 0.45 * rate_hz)], rate_hz, "bandpass")
        self._bp_t = _Biquads(2, [0.02, min(0.15, 0.45 * rate_hz)], rate_hz, "bandpass")
        w = max(3, int(round(ps.ratio_window_s * rate_hz)))
        self._qa = _Mean(w)
        self._qt = _Mean(w)
        ev = max(3, int(round(ps.evidence_window_s * rate_hz)))
        self._num = _Mean(ev)
        self._den = _Mean(ev)
        self._pitch_s = _Mean(int(round(0.5 * ps.posture_smooth_s * rate_hz)))
        self._p1 = _Mean(int(round(1.0 * rate_hz)))
        # the 1 s mean pitch over the lift window plus the evidence window: the evidence turns up
        # to `evidence_window_s` after the lift that explains it (the offline search range)
        self._lift: deque[tuple[float, float]] = deque(
            maxlen=max(2, int(round((ps.lift_window_s + ps.evidence_window_s) * rate_hz)))
        )
        self._prev_bt: float | None = None
        self.code = 0
        self.evidence: float | None = None

    def reset(self) -> None:
        """A new stay on the roller."""
        self.code = 0
        for m in (self._qa, self._qt, self._num, self._den, self._pitch_s, self._p1):
            m.clear()
        self._lift.clear()
        self._prev_bt = None

    def step(self, t_s: float, pitch_rad: float, force_spine_m_s2: float) -> int:
        """One analysis-rate sample on the roller: the pitch (offline-tau orientation) and the
        specific force along the spine. Returns the posture code after this sample."""
        ps = self.ps
        pitch_deg = math.degrees(pitch_rad)
        p_s = self._pitch_s.push(pitch_deg)
        self._lift.append((t_s, self._p1.push(pitch_deg)))
        a = self._bp_a.step(force_spine_m_s2 - STANDARD_GRAVITY_M_S2 * math.sin(pitch_rad))
        bt = self._bp_t.step(pitch_rad)
        rate_t = 0.0 if self._prev_bt is None else (bt - self._prev_bt) * self.rate_hz
        self._prev_bt = bt
        q_a = math.sqrt(max(self._qa.push(a * a), 0.0))
        q_t = math.sqrt(max(self._qt.push(rate_t * rate_t), 0.0))
        candidate = p_s < ps.bridge_max_pitch_deg
        moving = candidate and (q_a > ps.motion_acc_m_s2 or q_t > ps.motion_rate_rad_s)
        score = math.log((q_a + 1e-4) / (q_t + 1e-3)) - math.log(ps.bridge_ratio_m)
        num = self._num.push(score if moving else 0.0)
        den = self._den.push(1.0 if moving else 0.0)
        self.evidence = num / den if den > 0.3 else None
        if p_s < ps.flat_fraction * self.flattest_deg:
            want = 2  # too flat for hips down, whatever the motion says
        elif not candidate:
            want = 1  # too steep for a bridge
        elif self.evidence is not None:
            want = 2 if self.evidence > 0.0 else 1
        else:
            want = self.code or (2 if p_s < ps.bridge_fraction * self.flattest_deg else 1)
        if self.code == 0:
            self.code = want
        elif want != self.code and self.change_time(want) is not None:
            # a change of posture needs the hips to move (a lift or a lowering)
            self.code = want
        return self.code

    def change_time(self, code: int) -> float | None:
        """When the hips moved into posture `code` (the steepest 2 s pitch fall for a bridge, rise
        for hips down, of at least `min_lift_pitch_deg`, within the kept window), or None."""
        h = max(1, int(round(self.rate_hz)))
        if len(self._lift) <= 2 * h:
            return None
        arr = np.array(self._lift)
        sign = -1.0 if code == 2 else 1.0
        d = sign * (arr[2 * h :, 1] - arr[: -2 * h, 1])
        k = int(np.argmax(d))
        if d[k] < self.ps.min_lift_pitch_deg:
            return None
        return float(arr[k + h, 0])
