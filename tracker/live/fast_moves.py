"""Fast strokes in a bridge, within a fraction of a second: a causal matched filter.

The bridge's strokes come from the offline segmentation on a trailing window
(tracker/live/bridge.py), committed seconds after they end: a slow stroke's acceleration is a few
hundredths of a m/s², as large as the gravity removal's slowly varying error, and only still time
on both sides tells the two apart. A too-fast stroke is the easy case: 20 cm of contact in 3 s is
40 cm of the body, a peak along-spine acceleration of 0.28 m/s², ten times that error and the
noise. So, beside the segmentation, every `every` samples:

* the gravity-free acceleration along the spine, a = f_spine - g sin(pitch) (the pitch of the
  orientation filter with the offline 25 s accelerometer time constant: over a few seconds it is
  the gyro's integrated rate, so its slow error is a near-constant, which the fit absorbs), is
  fitted over each trailing window of L = `min_s` .. `max_s` seconds ending now by one period of
  a sine plus a constant: the raised-cosine movement model of `BridgeSegmenter`, a(t) =
  (2 pi D / L^2) sin(2 pi t / L). One matrix product against precomputed templates;
* the window explaining the most energy with a share of at least `min_r2` of its variance is the
  candidate; a movement has just ended when that explained energy peaked at the previous
  evaluation (so a move is seen one or two evaluations, 0.1-0.2 s, after its end);
* a movement over `min_cm` of contact whose pitch changed by no more than `max_pitch_change_deg`
  (lowering the hips turns the torso by ten degrees or more, and fits a sine as well) is reported
  with its contact distance D / 2 and pace.

What it cannot do is tell a slow stroke from the gravity error (its explained share stays low),
so it only ever reports movements; the caller uses the fast ones (too_fast, provisionally: the
segmentation's committed strokes confirm or withdraw it, see `LiveSession`).

Cost: a (templates x window) matrix product every `every` samples (benchmarks/live_cost.py
measures it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tracker.imu import STANDARD_GRAVITY_M_S2


@dataclass(frozen=True)
class FastMove:
    """A movement seen by `FastMoveDetector`: times (s), contact displacement (cm, signed as
    `BridgeMove`'s: toward the head positive), pace (cm/s) and the fit's explained share."""

    start_s: float
    end_s: float
    contact_cm: float
    pace_cm_s: float
    r2: float


class FastMoveDetector:
    """See the module docstring. `step` one analysis-rate sample at a time."""

    def __init__(
        self,
        rate_hz: float,
        *,
        min_s: float = 0.8,
        max_s: float = 6.0,
        every: int = 2,
        min_r2: float = 0.9,
        min_cm: float = 3.0,
        max_pitch_change_deg: float = 4.0,
    ) -> None:
        self.rate_hz = float(rate_hz)
        self.every = max(1, int(every))
        lo = max(4, int(round(min_s * rate_hz)))
        hi = max(lo, int(round(max_s * rate_hz)))
        self.lengths = np.arange(lo, hi + 1, max(1, int(round(0.08 * rate_hz))))
        n = int(self.lengths[-1]) + self.every + 1
        self.n_keep = n
        templates = np.zeros((len(self.lengths), n))
        for i, L in enumerate(self.lengths):
            u = (np.arange(L) + 0.5) / L
            s = np.sin(2.0 * np.pi * u)
            templates[i, n - L :] = s - s.mean()  # orthogonal to the constant
        self._templates = templates
        self._energy = np.einsum("ij,ij->i", templates, templates)
        self._len_s = self.lengths / self.rate_hz
        self.min_r2 = min_r2
        self.min_cm = min_cm
        self.max_pitch_change_rad = math.radians(max_pitch_change_deg)
        # a ring written twice, so the last n values are always one contiguous slice
        self._acc = np.zeros(2 * n)
        self._pitch = np.zeros(2 * n)
        self._k = 0
        self.n = 0
        self._hist: list[tuple[float, float, float, float, float]] = []  # t, score, L (s), amplitude, r2

    def step(self, t_s: float, acc_body_m_s2: np.ndarray, pitch_rad: float) -> FastMove | None:
        """One sample (body-frame specific force, pitch); returns a movement that has just ended
        (about `every` samples ago), or None."""
        a = float(acc_body_m_s2[2]) - STANDARD_GRAVITY_M_S2 * math.sin(pitch_rad)
        n = self.n_keep
        k = self._k
        self._acc[k] = self._acc[k + n] = a
        self._pitch[k] = self._pitch[k + n] = pitch_rad
        self._k = (k + 1) % n
        self.n += 1
        if self.n < 2 * self.every or self.n % self.every:
            return None
        x = self._acc[self._k : self._k + n]  # oldest first, the newest last
        dots = self._templates @ x
        amp = dots / self._energy
        # each window's variance about its mean (sums over its last L samples)
        rx = np.cumsum(x[::-1])
        rx2 = np.cumsum((x * x)[::-1])
        L = self.lengths
        total = rx2[L - 1] - rx[L - 1] ** 2 / L
        explained = amp * dots
        r2 = explained / np.maximum(total, 1e-12)
        score = np.where((r2 >= self.min_r2) & (self.n >= L), explained, 0.0)
        i = int(np.argmax(score))
        self._hist.append((t_s, float(score[i]), float(self._len_s[i]), float(amp[i]), float(r2[i])))
        if len(self._hist) < 3:
            return None
        del self._hist[:-3]
        (_t0, s0, *_), (t1, s1, dur, amp1, r21), (_t2, s2, *_) = self._hist
        if not (s1 > 0.0 and s1 >= s0 and s1 > s2):
            return None
        # D = a L^2 / (2 pi) of the body; the contact moves half as far, the other way
        contact = -0.5 * amp1 * dur * dur / (2.0 * math.pi) * 100.0
        if abs(contact) < self.min_cm:
            return None
        m = int(round(dur * self.rate_hz)) + self.every
        p = self._pitch[self._k + n - m : self._k + n]
        if float(p.max() - p.min()) > self.max_pitch_change_rad:
            return None
        return FastMove(t1 - dur, t1, contact, abs(contact) / dur, r21)
