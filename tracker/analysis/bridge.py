"""Bridge strokes and holds by a global segmentation of the along-spine acceleration.

In a bridge the body translates along the spine and the only measure of it is the gravity-free
acceleration along the spine, a few hundredths of a m/s² for a slow stroke: as large as the
slowly varying error of the gravity removal. Integrating it blindly drifts; short-window
stillness tests cannot tell a 1.5 cm/s stroke from a hold. Instead the whole bout is explained at
once:

* **Model** (`tracker.analysis.steps.moves`). A stroke moves the body from rest to rest in one
  direction, with whatever speed profile the person uses. Over a window that holds it, its
  acceleration is a cosine series whose velocity vanishes at both ends and keeps one sign.
  Between movements the body is still (a hold, or the brief stop of a turn; a pendulum-like set
  turns without stopping, and its movements meet at the turn), and the acceleration is only
  the error b(t): a slowly varying bias plus noise.
* **Segmentation.** After a low-pass below `lowpass_hz` and decimation to `step_s`, the bout is
  split into still samples and movement windows of `min_move_s`..`max_move_s`, each scored by
  how far its cosine terms stand above the noise (white noise and the tilt's random walk, see
  `MoveModel.gain`), plus a small constant (shrunk toward the bias estimate), less
  `move_penalty` per movement. Dynamic programming over all boundaries, with cumulative sums of
  x cos and x sin per length, is O(N * maxlen * n_terms) and exact.
* **Physical bounds** (assumptions for real people, documented): a movement slower than
  `min_pace_cm_s` of contact over its whole duration, or shorter than `min_distance_cm`, is not
  a stroke (creep, breathing, sway); nor is one whose distance does not stand `min_snr` of its
  noise-induced standard deviation above zero. Breathing moves the chest mostly along its
  normal, not along the spine; what leaks along the spine is a few mm, far below a stroke.
* **Bias.** First estimated as a long moving mean of the acceleration (a movement's acceleration
  has zero mean), then re-estimated with the fitted movements removed; the segmentation runs
  again.
* **Distance, profile-free.** Each movement's window is refined on a finer grid, widened into
  the still time around it by up to `margin_s`, and its travel is the exact integral
  D = integral (T / 2 - t) a(t) dt (zero velocity at both ends: the still time and turns are
  the anchors), which holds for every speed profile. The contact moves half as far the other
  way (`kinematics`). Each movement carries the standard deviation that the noise puts into its
  distance (`BridgeMove.sigma_cm`): white noise and, above all for slow long strokes, the gyro's
  angle random walk seen through gravity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracker.analysis.steps.moves import MoveModel, distance_sd, one_way, ramp_distance


@dataclass(frozen=True)
class BridgeMove:
    """One movement found in a bridge: times in s, contact displacement in cm (signed, toward
    the head positive), and the standard deviation the noise puts into that displacement (cm;
    0 when not known)."""

    start_s: float
    end_s: float
    contact_cm: float
    sigma_cm: float = 0.0

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def snr(self) -> float:
        """The distance over its noise-induced standard deviation (inf when that is unknown)."""
        return abs(self.contact_cm) / self.sigma_cm if self.sigma_cm > 0 else float("inf")


_TILT_RATIOS = np.linspace(0.0, 4.0, 81)
_tilt_gains: np.ndarray | None = None


def tilt_filter_gain(duration_over_tau: float) -> float:
    """Fitted-sine amplitude of one raised-cosine movement's acceleration after VQF's tilt
    correction, relative to the true amplitude, for a movement of duration T = ratio * tau
    (see `BridgeSegmenter`'s `tilt_tau_s`): 1 + 3 T^2 / (2 pi^2 tau^2) for short movements."""
    global _tilt_gains
    if _tilt_gains is None:
        from tracker.analysis.steps import iir

        gains = [1.0]
        n = 400  # samples per movement
        for r in _TILT_RATIOS[1:]:
            # tau = 1 s, T = r s; the body at rest long enough before for the filter to settle
            fs = n / r
            fc = np.sqrt(2.0) / (2.0 * np.pi)
            sos = iir.butter_sos(2, min(fc, 0.45 * fs), fs, "lowpass")
            u = (np.arange(n) + 0.5) / n
            acc = np.sin(2.0 * np.pi * u)
            measured = acc - iir.sosfilt_zero(sos, acc)
            gains.append(float(2.0 * np.mean(measured * acc)))
        _tilt_gains = np.array(gains)
    return float(np.interp(duration_over_tau, _TILT_RATIOS, _tilt_gains))


# equivalent noise bandwidth of a second-order Butterworth run forward and back (|H|^4), in
# units of its cut-off: the integral of 1 / (1 + x^4)^2 over x >= 0, 3 pi / (8 sqrt 2)
_ENBW_BUTTER2_ZERO_PHASE = 3.0 * np.pi / (8.0 * np.sqrt(2.0))


def _moving_mean(x: np.ndarray, n: int) -> np.ndarray:
    if n <= 1 or len(x) == 0:
        return x.copy()
    n = min(n, len(x))
    c = np.concatenate([[0.0], np.cumsum(x)])
    i = np.arange(len(x))
    lo = np.clip(i - n // 2, 0, len(x))
    hi = np.clip(i - n // 2 + n, 0, len(x))
    return (c[hi] - c[lo]) / np.maximum(hi - lo, 1)


class BridgeSegmenter:
    """Movements and still spans of one bridge bout from its along-spine acceleration.

    Parameters
    ----------
    step_s
        Grid of candidate boundaries (s).
    lowpass_hz
        Low-pass of the acceleration before decimation (a 1 s stroke's sine is at 1 Hz).
    min_move_s, max_move_s
        Durations a movement may take.
    move_penalty
        Cost of one movement, in units of the gain (`MoveModel.gain`: a chi-square with
        `n_terms` degrees of freedom on still time).
    constant_shrink
        Shrinkage of a movement's constant toward the bias (ratio of prior to data weight).
    min_pace_cm_s, min_distance_cm
        Contact pace and distance a movement must reach (slower or shorter is not rolling).
    max_distance_cm
        Longest contact movement: a bridge rolls the roller between the sacrum and the neck,
        about 40 cm of back.
    max_pitch_change_deg
        A bridge stroke turns the torso by a degree or two; lifting or lowering the hips by ten
        or more. A movement whose pitch changes by more is not a stroke.
    max_turn_back
        A movement goes one way: the velocity its cosine terms describe may turn back against
        the direction of travel by at most this share of its peak (`moves.one_way`; noise and
        the bias's wander give a little). A window across a turn, there and back, is two
        strokes, never one (a trailing window that cuts the second short could read it so).
    boundary_s, boundary_pitch_deg
        A movement starts and ends at rest; a window that starts or ends where the pitch
        changes by more than `boundary_pitch_deg` over `boundary_s` (the hips being lifted or
        lowered) was cut out of that motion, and is no stroke.
    min_snr
        A movement's distance must stand this many of its noise-induced standard deviations
        (`tracker.analysis.steps.moves.distance_sd`, from the noise and the gyro's angle random
        walk measured on this bout) above zero.
    n_terms
        Cosine terms of the movement model (`MoveModel`).
    bias_window_s, still_bias_window_s
        Windows of the moving means that estimate the slowly varying bias (first over
        everything, then over the still time only).
    iterations
        Bias re-estimations after the first segmentation.
    gap_check_s, gap_cover_fraction, gap_min_gain
        A still gap of at least `gap_check_s` is a hold to the detector, so it is checked on its
        own: the best single movement covering at least `gap_cover_fraction` of it that passes
        every physical bound above and gains at least `gap_min_gain` (instead of
        `move_penalty`, which prices a movement anywhere in the bout) is taken. A slow
        10-15 s stroke is only a few hundredths of a m/s²; the global penalty and the bias
        re-estimation (which follows the still-looking stretch) can miss it, and the
        missing stroke would be reported as a hold.
    refine_s, refine_rate_hz
        Each movement's start and end, found on the `step_s` grid, are then moved by up to
        `refine_s` on a `refine_rate_hz` grid to the best fit (0 turns this off).
    margin_s
        The window a distance is integrated over reaches this far into the still time on
        either side (never into the next movement): the low-pass spreads a quick start or stop
        a little beyond the fitted window, and the exact integral needs all of it.
    max_range_cm, range_tolerance, max_repairs
        The roller stays on the back: the contact's positions over one bout cannot span more
        than the back's length (`max_range_cm`, the hip-to-neck length; None: no check). A
        segmentation whose track spans more than `range_tolerance` times that has read some
        movement with the wrong sign: the movement whose removal shrinks the span most is
        ruled out and the bout segmented again, up to `max_repairs` times.
    cut_ratio
        A movement with no other next to it whose window ends (or starts) where the
        acceleration just beyond is still this share of its own peak was cut out of a larger
        motion (`_cut_through`): ruled out, and the bout segmented again.
    tilt_tau_s
        The accelerometer time constant of the orientation filter (VQF's `tauAcc`) the gravity
        was removed with, or None. VQF low-passes the acceleration (second-order Butterworth,
        cut-off sqrt(2) / (2 pi tau)) and tilts its gravity estimate toward it, so the
        gravity-free acceleration is a (1 - H): for a movement much shorter than tau about
        a - (2 / tau^2) x, an error that grows with the displacement x and adds to the
        distance. Given, each distance is divided by that filter's gain on a movement of the
        same duration (`tilt_filter_gain`). That gain is a fitted sine's: the distance
        integrated between still anchors carries much less of the filter's error (the anchors
        after the stroke hold its tail, and take it for bias), so this now over-corrects a
        little. The analysis removes gravity with the gyro's pitch instead
        (`contact.gyro_pitch`) and leaves this None.
    """

    def __init__(
        self,
        step_s: float = 0.2,
        lowpass_hz: float = 1.5,
        min_move_s: float = 0.8,
        max_move_s: float = 25.0,
        move_penalty: float = 60.0,
        constant_shrink: float = 4.0,
        min_pace_cm_s: float = 1.0,
        min_distance_cm: float = 2.0,
        max_distance_cm: float = 40.0,
        max_pitch_change_deg: float = 4.0,
        min_snr: float = 2.5,
        n_terms: int = 8,
        bias_window_s: float = 40.0,
        still_bias_window_s: float = 40.0,
        iterations: int = 1,
        gap_check_s: float = 3.0,
        gap_cover_fraction: float = 0.6,
        gap_min_gain: float = 12.0,
        refine_s: float = 0.3,
        refine_rate_hz: float = 25.0,
        margin_s: float = 0.4,
        tilt_tau_s: float | None = None,
        max_range_cm: float | None = None,
        range_tolerance: float = 1.1,
        max_repairs: int = 3,
        cut_ratio: float = 0.4,
        anchor_window_s: float = 4.0,
        anchor_guard_s: float = 0.6,
        boundary_s: float = 0.8,
        boundary_pitch_deg: float = 1.5,
        max_turn_back: float = 0.3,
        max_noise_over_white: float = 1.5,
    ) -> None:
        self.max_noise_over_white = max_noise_over_white
        self.max_turn_back = max_turn_back
        self.boundary_s = boundary_s
        self.boundary_pitch_deg = boundary_pitch_deg
        self.anchor_guard_s = anchor_guard_s
        self.anchor_window_s = anchor_window_s
        self.cut_ratio = cut_ratio
        self.step_s = step_s
        self.lowpass_hz = lowpass_hz
        self.min_move_s = min_move_s
        self.max_move_s = max_move_s
        self.move_penalty = move_penalty
        self.constant_shrink = constant_shrink
        self.min_pace_cm_s = min_pace_cm_s
        self.min_distance_cm = min_distance_cm
        self.max_distance_cm = max_distance_cm
        self.max_pitch_change_deg = max_pitch_change_deg
        self.min_snr = min_snr
        self.model = MoveModel(n_terms)
        self.bias_window_s = bias_window_s
        self.still_bias_window_s = still_bias_window_s
        self.iterations = iterations
        self.gap_check_s = gap_check_s
        self.gap_cover_fraction = gap_cover_fraction
        self.gap_min_gain = gap_min_gain
        self.refine_s = refine_s
        self.refine_rate_hz = refine_rate_hz
        self.margin_s = margin_s
        self.tilt_tau_s = tilt_tau_s
        self.max_range_cm = max_range_cm
        self.range_tolerance = range_tolerance
        self.max_repairs = max_repairs

    def fit(
        self,
        t_s: np.ndarray,
        acc_m_s2: np.ndarray,
        pitch_rate_rad_s: np.ndarray | None = None,
        pitch_rad: np.ndarray | None = None,
    ) -> BridgeSegmenter:
        """`t_s` (n,) uniform; `acc_m_s2` (n,) along-spine gravity-free acceleration (toward the
        head); `pitch_rate_rad_s` (n,) the rate about the left axis (its noise sets the tilt's
        random walk); `pitch_rad` (n,) the torso's pitch (a movement that changes it by more
        than `max_pitch_change_deg` is lifting or lowering the hips, not a stroke). Results:
        `moves_` (list of BridgeMove), `contact_cm_` (n,) contact displacement from the bout's
        start, `still_` (n,) bool: no movement within `anchor_guard_s`, `noise_m_s2_` (white
        noise, per sample of the `step_s` grid) and `arw_rad_rt_s_` (the gyro's angle random
        walk)."""
        from tracker.analysis.steps.filters import Butterworth

        n = len(t_s)
        self.moves_: list[BridgeMove] = []
        self.contact_cm_ = np.zeros(n)
        self.noise_m_s2_ = float("nan")
        self.arw_rad_rt_s_ = 0.0
        self.still_ = np.ones(n, dtype=bool)
        self._forbidden: list[tuple[int, int, float]] = []
        if n < 8:
            return self
        rate = 1.0 / float(np.median(np.diff(t_s)))
        k = max(1, int(round(self.step_s * rate)))
        if self.lowpass_hz < 0.45 * rate and n > 16:
            padlen = min(n - 1, int(3 * rate / self.lowpass_hz))
            acc = Butterworth(2, self.lowpass_hz, rate).zero_phase(acc_m_s2, padlen=padlen)
        else:
            acc = np.asarray(acc_m_s2, dtype=float)
        x = acc[::k]
        tx = t_s[::k]
        self._pitch = None if pitch_rad is None else np.asarray(pitch_rad, dtype=float)[::k]
        self._pitch_moving = None if self._pitch is None else self._turning(self._pitch, k / rate)
        dt = k / rate
        # white noise of the low-passed, decimated signal: a robust spread of the detrended
        # signal where it is quiet (the lower quarter of the local 2 s rms)
        bias = _moving_mean(x, max(1, int(round(self.bias_window_s / dt))))
        sigma = self._noise(x - bias, dt)
        if self.max_noise_over_white < np.inf:
            # a stretch that is mostly strokes (a trailing window early in a bout) has no quiet
            # quarter: the white noise of the sensor, from sample-to-sample differences that no
            # stroke reaches, through the low-pass, bounds what the noise can be there
            d = np.diff(np.asarray(acc_m_s2, dtype=float))
            sd = float(np.median(np.abs(d - np.median(d)))) / 0.6745 / np.sqrt(2.0)
            band = self.lowpass_hz * _ENBW_BUTTER2_ZERO_PHASE if self.lowpass_hz < 0.45 * rate else 0.5 * rate
            white = sd / np.sqrt(0.5 * rate) * np.sqrt(band)
            if white > 0:
                sigma = min(sigma, self.max_noise_over_white * white)
        self.noise_m_s2_ = sigma
        # the tilt's random walk: the gyro's white noise (from sample-to-sample differences of
        # the pitch rate, which slow motion does not reach) integrated, times g
        if pitch_rate_rad_s is not None and len(pitch_rate_rad_s) > 8:
            d = np.diff(np.asarray(pitch_rate_rad_s, dtype=float))
            sd = float(np.median(np.abs(d - np.median(d)))) / 0.6745 / np.sqrt(2.0)
            density = sd / np.sqrt(rate / 2.0)  # rad/s/sqrt(Hz) = rad/sqrt(s)
            self.arw_rad_rt_s_ = density
        self._noise_args = (dt, sigma * sigma)
        segs: list[tuple[int, int, float]] = []
        for _ in range(self.iterations + 1):
            segs = self._segment(x - bias)
            bias = self._still_bias(x, segs, dt)
        for _ in range(self.max_repairs):
            cut = self._cut_through(x - bias, segs)
            if not cut:
                break
            self._forbidden += cut
            segs = self._segment(x - bias)
        if self.gap_check_s > 0:
            segs = self._fill_gaps(x - bias, segs)
        if self.max_range_cm:
            for _ in range(self.max_repairs):
                culprit = self._range_culprit(segs)
                if culprit is None:
                    break
                self._forbidden.append(culprit)
                segs = self._segment(x - bias)
                if self.gap_check_s > 0:
                    segs = self._fill_gaps(x - bias, segs)
        fits = [(float(tx[i] - 0.5 * dt), (j - i) * dt, dist) for i, j, dist in segs]
        # the distances: the bias followed closely through the still time (the zero-velocity
        # anchors) and bridged linearly across each movement
        anchored = self._still_bias(x, segs, dt, self.anchor_window_s, self.anchor_guard_s)
        self.moves_ = self._measure(t_s, acc, tx, anchored, fits)
        self.contact_cm_ = self.track(t_s, self.moves_)
        self.still_ = np.ones(n, dtype=bool)
        for m in self.moves_:
            a, b = np.searchsorted(t_s, [m.start_s - self.anchor_guard_s, m.end_s + self.anchor_guard_s])
            self.still_[a:b] = False
        return self

    @staticmethod
    def track(t_s: np.ndarray, moves: list[BridgeMove]) -> np.ndarray:
        """Contact displacement (cm) from the start at times `t_s`: raised-cosine profiles."""
        out = np.zeros(len(t_s))
        for m in moves:
            u = np.clip((t_s - m.start_s) / m.duration_s, 0.0, 1.0)
            out += m.contact_cm * (u - np.sin(2 * np.pi * u) / (2 * np.pi))
        return out

    def _turning(self, pitch: np.ndarray, dt: float) -> np.ndarray:
        """(n,) bool: the torso's pitch changes by more than `boundary_pitch_deg` over the
        `boundary_s` around each sample (lifting or lowering the hips; a stroke's own slight
        turn is slowest at its ends, where it starts and stops from rest)."""
        m = max(1, int(round(0.5 * self.boundary_s / dt)))
        idx = np.arange(len(pitch))
        top = len(pitch) - 1
        change = np.abs(pitch[np.minimum(idx + m, top)] - pitch[np.maximum(idx - m, 0)])
        return change > np.radians(self.boundary_pitch_deg)

    # --- noise and bias ------------------------------------------------------------------------------
    def _noise(self, r: np.ndarray, dt: float) -> float:
        w = max(2, int(round(2.0 / dt)))
        local = np.sqrt(np.maximum(_moving_mean(r * r, w), 0.0))
        q = float(np.quantile(local, 0.25)) if len(local) else 0.0
        return max(q, 1e-4)

    def _still_bias(
        self, x: np.ndarray, segs: list, dt: float, window_s: float | None = None, guard_s: float = 0.0
    ) -> np.ndarray:
        """The bias wanders (tilt error): followed where the body is still (a moving mean over
        `window_s`, default `still_bias_window_s`, leaving out `guard_s` next to each movement,
        where its slow start and end may still be), bridged linearly across the movements."""
        still = np.ones(len(x))
        g = int(round(guard_s / dt))
        for i, j, _d in segs:
            still[max(0, i - g) : j + g] = 0.0
        w = max(1, int(round((window_s or self.still_bias_window_s) / dt)))
        num = _moving_mean(x * still, w)
        den = _moving_mean(still, w)
        good = den > 0.3
        if good.sum() >= 2:
            return np.interp(np.arange(len(x)), np.flatnonzero(good), (num / np.maximum(den, 1e-9))[good])
        return _moving_mean(x, max(1, int(round(self.bias_window_s / dt))))

    # --- candidates ----------------------------------------------------------------------------------
    def _candidates(self, x: np.ndarray, L: int, offset: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every window of `L` samples of `x` (by its end j = 0..len(x)): (gain, body distance
        in m from the cosine terms, passes every physical bound)."""
        dt, var = self._noise_args
        A, _s1 = self.model.sliding(x, L)
        n = len(x)
        jj = np.arange(n + 1)
        i = np.maximum(jj - L, 0)
        dur = L * dt
        # the profile is fitted by least squares (white noise): weighing the terms by the
        # noise's spectrum, which rises at the lowest frequencies (the gravity removal's wander)
        # and at breathing, leaves the fit to the higher terms, where how well a profile
        # matches counts for more than the noise, and splits strokes into pieces; the wander
        # enters through the distance's noise instead
        white_k = np.full(self.model.n_terms, 2.0 * var / L)
        terms = self.model.usable_terms(L, dt, self.lowpass_hz)
        gain, dist = self.model.fit(A, dur, white_k, terms)
        # (a constant over the window is bias, orthogonal to every movement: it earns nothing;
        # counted, a single lobe of a stroke's acceleration, one-signed, scored as a movement)
        body = np.abs(dist)
        ok = (jj >= L) & (body >= 2 * self.min_distance_cm / 100.0)
        ok &= (body / dur >= 2 * self.min_pace_cm_s / 100.0) & (body <= 2 * self.max_distance_cm / 100.0)
        ok &= body >= self.min_snr * float(distance_sd(dur, np.sqrt(var * dt), self.arw_rad_rt_s_))
        if self.max_turn_back < np.inf:
            # one way from rest to rest: a window across a turn (there and back) is two strokes
            ok &= one_way(A, terms) <= self.max_turn_back
        if self._pitch is not None:
            p = self._pitch
            top = len(p) - 1
            ok &= np.abs(p[np.minimum(offset + jj, top)] - p[np.minimum(offset + i, top)]) <= np.radians(
                self.max_pitch_change_deg
            )
            # a movement starts and ends at rest: not while the torso is turning
            moving = self._pitch_moving
            assert moving is not None
            ok &= ~moving[np.minimum(offset + jj, top)] & ~moving[np.minimum(offset + i, top)]
        if self._forbidden:
            ok &= ~self._is_forbidden(offset + i, offset + jj, dist, dt)
        return gain, dist, ok

    def _segment(self, x: np.ndarray) -> list[tuple[int, int, float]]:
        """Optimal segmentation of `x` (bias removed): list of (i, j, body distance)."""
        dt = self._noise_args[0]
        n = len(x)
        lmin = max(3, int(round(self.min_move_s / dt)))
        lmax = max(lmin, min(n, int(round(self.max_move_s / dt))))
        if n < lmin:
            return []
        gains = np.full((lmax - lmin + 1, n + 1), -np.inf, dtype=np.float32)
        dists = np.zeros((lmax - lmin + 1, n + 1), dtype=np.float32)
        for r, L in enumerate(range(lmin, lmax + 1)):
            gain, dist, ok = self._candidates(x, L)
            gains[r] = np.where(ok, gain - self.move_penalty, -np.inf)
            dists[r] = dist
        return self._best_path(gains, dists, lmin, n)

    def _fill_gaps(self, x: np.ndarray, segs: list) -> list:
        """`segs` with a movement added in every still gap of `gap_check_s` or more that one
        explains (see the class docstring)."""
        dt = self._noise_args[0]
        n = len(x)
        lmin = max(3, int(round(self.min_move_s / dt)))
        lmax = max(lmin, int(round(self.max_move_s / dt)))
        edges = [0] + [e for s in segs for e in (s[0], s[1])] + [n]
        added = []
        for g0, g1 in zip(edges[::2], edges[1::2], strict=False):
            n_gap = g1 - g0
            if n_gap * dt < self.gap_check_s:
                continue
            best = None
            l_lo = max(lmin, int(np.ceil(self.gap_cover_fraction * n_gap)))
            l_hi = min(lmax, n_gap)
            # a dozen lengths are enough: this asks whether one movement explains the gap,
            # the fine timing comes from `_refine`
            for L in range(l_lo, l_hi + 1, max(1, (l_hi - l_lo) // 12)):
                gain, dist, ok = self._candidates(x[g0:g1], L, offset=g0)
                ok &= gain >= self.gap_min_gain
                if ok.any():
                    j = int(np.argmax(np.where(ok, gain, -np.inf)))
                    if best is None or gain[j] > best[0]:
                        best = (float(gain[j]), g0 + j - L, g0 + j, float(dist[j]))
            if best is not None:
                added.append(best[1:])
        return sorted(list(segs) + added)

    @staticmethod
    def _best_path(gains: np.ndarray, dists: np.ndarray, lmin: int, n: int) -> list[tuple[int, int, float]]:
        """The dynamic programme over the end j: cost[j] = min(cost[j - 1] (a still sample),
        min_L cost[j - L] - gain(L, j)); the still model's own cost is common to every
        segmentation and drops out. cost never rises with j, so a movement with a gain of 0 or
        less never beats the still samples: only the positive gains are visited (in order of
        their end, shortest first, as a full scan would take them), and between their ends the
        cost stays what it was."""
        js, rows = np.nonzero(gains.T > 0.0)
        cost = [0.0] * (n + 1)
        back = [0] * (n + 1)  # 0: still sample, else the movement's length
        filled = 0  # cost[0..filled] are known
        best_j, best_c, best_l = -1, 0.0, 0
        for j, row, g in zip(js.tolist(), rows.tolist(), gains[rows, js].tolist(), strict=True):
            if j != best_j:
                if best_j >= 0:
                    cost[best_j], back[best_j] = best_c, best_l
                    filled = best_j
                for k in range(filled + 1, j):  # still samples up to here
                    cost[k] = cost[k - 1]
                filled = j - 1
                best_j, best_c, best_l = j, cost[j - 1], 0
            c = cost[j - (row + lmin)] - g
            if c < best_c:
                best_c, best_l = c, row + lmin
        if best_j >= 0:
            cost[best_j], back[best_j] = best_c, best_l
        segs = []
        j = n
        while j > 0:
            b = back[j]
            if b == 0:
                j -= 1
            else:
                segs.append((j - b, j, float(dists[b - lmin, j])))
                j -= b
        segs.reverse()
        return segs

    def _cut_through(self, x: np.ndarray, segs: list) -> list[tuple[int, int, float]]:
        """The movements (start, end, sign) whose window ends (or starts) in the middle of
        something: with no movement next to it, the acceleration just beyond the window (past
        the low-pass's smear) is still a good share of the movement's own. A window cut out of
        a larger motion (one the bounds ruled out, such as lifting the hips) by a profile that
        does not stop at its ends (a pendulum's) fits the piece inside, and is no stroke."""
        dt = self._noise_args[0]
        lo, hi = (max(1, int(round(v / dt))) for v in (0.2, 0.6))
        out = []
        for k, (i, j, d) in enumerate(segs):
            peak = float(np.max(np.abs(x[i:j]))) if j > i else 0.0
            # the still time on each side (up to the next movement), past the smear
            nxt = segs[k + 1][0] if k + 1 < len(segs) else len(x)
            prv = segs[k - 1][1] if k > 0 else 0
            beyond = [
                float(np.mean(np.abs(x[a:b])))
                for a, b in ((j + lo, min(j + hi, nxt)), (max(i - hi, prv), i - lo))
                if b - a >= 1
            ]
            if beyond and max(beyond) > self.cut_ratio * peak:
                out.append((int(i), int(j), float(np.sign(d))))
        return out

    # --- the back's length -----------------------------------------------------------------------
    def _range_culprit(self, segs: list) -> tuple[int, int, float] | None:
        """(start, end, sign) of the movement to rule out when the track of `segs` spans more
        of the back than there is, or None when it fits."""
        if not segs:
            return None
        contact = np.array([-0.5 * d * 100.0 for _i, _j, d in segs])

        def span(c: np.ndarray) -> float:
            p = np.concatenate([[0.0], np.cumsum(c)])
            return float(p.max() - p.min())

        assert self.max_range_cm is not None
        if span(contact) <= self.range_tolerance * self.max_range_cm:
            return None
        best_k, best_span = None, span(contact)
        for k in range(len(segs)):
            c2 = contact.copy()
            c2[k] = 0.0
            sp = span(c2)
            if sp < best_span:
                best_k, best_span = k, sp
        if best_k is None:
            return None
        i, j, d = segs[best_k]
        return int(i), int(j), float(np.sign(d))

    def _is_forbidden(self, i: np.ndarray, j: np.ndarray, dist: np.ndarray, dt: float) -> np.ndarray:
        """(k,) bool: candidate movements [i, j) with distance `dist` that were ruled out
        (the same sign, both ends within a second of a ruled-out one's)."""
        out = np.zeros(np.shape(dist), dtype=bool)
        f = max(1, int(round(1.0 / dt)))
        for fi, fj, sign in self._forbidden:
            out |= (np.abs(i - fi) <= f) & (np.abs(j - fj) <= f) & (np.sign(dist) == sign)
        return out

    # --- timing and distance on the fine grid -----------------------------------------------------
    def _measure(self, t_s, acc, tx, bias, fits) -> list[BridgeMove]:
        """Each movement's start and end on the fine grid (`_refine`), its exact distance over
        the window widened into the still time around it, and that distance's noise."""
        rate = 1.0 / float(np.median(np.diff(t_s)))
        kf = max(1, int(round(rate / self.refine_rate_hz)))
        tf = t_s[::kf]
        xf = acc[::kf] - np.interp(tf, tx, bias)
        dtf = kf / rate
        self._fine_dt = dtf
        windows = self._refine(xf, tf, dtf, fits) if self.refine_s > 0 else [
            (int(round((t0 - tf[0]) / dtf)), int(round((t0 + dur - tf[0]) / dtf)), d) for t0, dur, d in fits
        ]
        margin = int(round(self.margin_s / dtf))
        moves = []
        for m, (p, q, fitted) in enumerate(windows):
            p, q = max(0, p), min(len(xf), q)
            if q - p < 3:
                continue
            lo = max(p - margin, windows[m - 1][1] if m > 0 else 0, 0)
            hi = min(q + margin, windows[m + 1][0] if m + 1 < len(windows) else len(xf), len(xf))
            dist = ramp_distance(xf[lo:hi], dtf)
            if dist * fitted <= 0:
                dist = fitted  # the integral contradicts the fit: keep the fit's
            start = float(tf[p] - 0.5 * dtf)
            dur = (q - p) * dtf
            if self.tilt_tau_s:
                dist /= tilt_filter_gain(dur / self.tilt_tau_s)
            dt, var = self._noise_args
            sd = float(distance_sd((hi - lo) * dtf, np.sqrt(var * dt), self.arw_rad_rt_s_))
            moves.append(BridgeMove(start, start + dur, -0.5 * dist * 100.0, 0.5 * sd * 100.0))
        return moves

    def _refine(self, xf, tf, dtf, fits) -> list[tuple[int, int, float]]:
        """Start and end of each movement on the fine grid: every start and end within
        `refine_s` of the coarse ones (neighbours never overlap), best explained energy.
        Returns (start, end, fitted body distance) in fine samples."""
        r = max(1, int(round(self.refine_s / dtf)))
        lmin = max(3, int(round(self.min_move_s / dtf)))
        out = []
        prev_end = 0  # fine index: the previous movement ends before it
        for m, (t0, dur, dist) in enumerate(fits):
            p0 = int(round((t0 - tf[0]) / dtf + 0.5))
            q0 = p0 + int(round(dur / dtf))
            nxt = int(round((fits[m + 1][0] - tf[0]) / dtf + 0.5)) if m + 1 < len(fits) else len(xf)
            lo_p, hi_p = max(prev_end, p0 - r), min(p0 + r, len(xf))
            lo_q, hi_q = max(q0 - r, lo_p + lmin), min(q0 + r, nxt, len(xf))
            p, q = min(max(p0, prev_end), len(xf)), min(q0, len(xf))
            # one step of coordinate ascent (the start with the end fixed, then the end): the
            # gain is smooth in both, and a full grid costs (2 r + 1)^2 windows per movement
            if hi_p >= lo_p and hi_q >= lo_q and q - p >= lmin:
                p = self._best_window(xf, np.arange(lo_p, hi_p + 1), np.array([q]), lmin, dist)[0]
                qs = np.arange(max(lo_q, p + lmin), hi_q + 1)
                if len(qs):
                    q = self._best_window(xf, np.array([p]), qs, lmin, dist)[1]
            out.append((p, q, dist))
            prev_end = max(prev_end, q)
        return out

    def _best_window(self, xf, ps, qs, lmin, dist) -> tuple[int, int]:
        """The window [p, q) among the candidates that the model explains best (the same
        direction as `dist`); the first candidates when none fits."""
        starts, ends = np.meshgrid(ps, qs, indexing="ij")
        starts, ends = starts.ravel(), ends.ravel()
        keep = (ends - starts) >= lmin
        if not keep.any():
            return int(ps[0]), int(qs[0])
        starts, ends = starts[keep], ends[keep]
        lens = (ends - starts).astype(float)
        A, _s1 = self.model.windows(xf, starts, ends)
        terms = self.model.usable_terms(int(lens.min()), self._fine_dt, self.lowpass_hz)
        energy, amp = self.model.explained(A, lens, terms)
        energy = np.where(amp * dist > 0, energy, -np.inf)
        k = int(np.argmax(energy))
        return int(starts[k]), int(ends[k])
