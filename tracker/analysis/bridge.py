"""Bridge strokes and holds by a global segmentation of the along-spine acceleration.

In a bridge the body translates along the spine and the only measure of it is the gravity-free
acceleration along the spine, a few hundredths of a m/s² for a slow stroke: as large as the
slowly varying error of the gravity removal. Integrating it drifts; short-window stillness tests
cannot tell a 1.5 cm/s stroke from a hold. Instead the whole bout is explained at once:

* **Model.** A person moves the body in point-to-point movements: from rest to rest, with a
  smooth speed profile. For a raised-cosine profile over distance D in time T the acceleration is
  one period of a sine, a(t) = (2 pi D / T^2) sin(2 pi t / T) (minimum jerk is within a few %).
  Between movements the body is still (a hold, or the brief stop of a turn), and the acceleration
  is only the error b(t): a slowly varying bias (tens of seconds and longer) plus noise.
* **Segmentation.** After a low-pass below `lowpass_hz` and decimation to `step_s`, the bout is
  split into still samples and movement segments of `min_move_s`..`max_move_s`, each fitted by
  "sine period + a small constant" (the constant shrunk toward the bias estimate), minimising the
  total squared residual plus `move_penalty` per movement. Dynamic programming over all
  boundaries, with cumulative sums of x sin(2 pi k / L) and x cos(2 pi k / L) per length L, is
  O(N * maxlen) and exact.
* **Physical bounds** (assumptions for real people, documented): a movement slower than
  `min_pace_cm_s` of contact over its whole duration, or shorter than `min_distance_cm`, is not
  a stroke (creep, breathing, sway). Breathing moves the chest mostly along its normal, not along
  the spine; what leaks along the spine is a few mm, far below a stroke.
* **Bias.** First estimated as a long moving mean of the acceleration (a stroke's sine has zero
  mean), then re-estimated with the fitted movements removed; the segmentation runs again.

The fitted amplitude gives each movement's distance and direction (body toward the head for a
positive first lobe); the contact moves half as far the other way (`kinematics`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np


@dataclass(frozen=True)
class BridgeMove:
    """One movement found in a bridge: times in s, contact displacement in cm (signed, toward
    the head positive)."""

    start_s: float
    end_s: float
    contact_cm: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


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


def _moving_mean(x: np.ndarray, n: int) -> np.ndarray:
    if n <= 1 or len(x) == 0:
        return x.copy()
    n = min(n, len(x))
    c = np.concatenate([[0.0], np.cumsum(x)])
    i = np.arange(len(x))
    lo = np.clip(i - n // 2, 0, len(x))
    hi = np.clip(i - n // 2 + n, 0, len(x))
    return (c[hi] - c[lo]) / np.maximum(hi - lo, 1)


def _periodic_phases(
    lengths: np.ndarray, i: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For each length L (k,): sin and cos of 2 pi (m + 0.5) / L at m = 0 .. n - 1 ((k, n),
    n + 1 = i.shape[1]), and of 2 pi i / L at the indices `i` ((k, n + 1); i is j - L, or 0
    where j < L). The phases repeat every L samples, so each comes from a table of one period
    per length: the same values (to rounding) for a table lookup instead of a sine per sample
    and length, which was most of a segmentation's time."""
    lengths = np.asarray(lengths, dtype=np.int64)
    first, half_sin, half_cos, whole_sin, whole_cos = _phase_tables(int(lengths[0]), int(lengths[-1]))
    j = np.arange(i.shape[1])
    at = first[lengths - lengths[0], None] + j[None, :] % lengths[:, None]  # (j - L) % L = j % L
    at_m = at[:, :-1]
    sin_i, cos_i = whole_sin[at], whole_cos[at]
    before = j[None, :] < lengths[:, None]  # i = 0 there
    sin_i[before] = 0.0
    cos_i[before] = 1.0
    return half_sin[at_m], half_cos[at_m], sin_i, cos_i


@lru_cache(maxsize=1024)
def _half_period_sines(length: int) -> np.ndarray:
    """sin(2 pi (m + 0.5) / L) for m = 0 .. L - 1 (read-only)."""
    out = np.sin(2 * np.pi * (np.arange(length) + 0.5) / length)
    out.flags.writeable = False
    return out


@lru_cache(maxsize=8)
def _phase_tables(lo: int, hi: int) -> tuple[np.ndarray, ...]:
    """One period per length lo..hi, end to end: where each starts, and sin and cos of
    2 pi (m + 0.5) / L and of 2 pi m / L (m = 0 .. L - 1)."""
    lengths = np.arange(lo, hi + 1)
    first = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    m = np.arange(int(lengths.sum())) - np.repeat(first, lengths)
    per = np.repeat(lengths, lengths).astype(float)
    half = 2 * np.pi * (m + 0.5) / per
    whole = 2 * np.pi * m / per
    tables = (first, np.sin(half), np.cos(half), np.sin(whole), np.cos(whole))
    for a in tables:
        a.flags.writeable = False
    return tables


class _ShrunkConstants:
    """A segmentation's shrunk constants s1 / (L (1 + kappa)) (float32, as its gains), indexed
    [row, end] like its gains but computed only for the movements of the path (the rest were
    never read)."""

    def __init__(self, c1: np.ndarray, lmin: int, kappa: float) -> None:
        self.c1, self.lmin, self.kappa = c1, lmin, kappa

    def __getitem__(self, at: tuple[int, int]) -> np.float32:
        r, j = at
        length = r + self.lmin
        return np.float32((self.c1[j] - self.c1[j - length]) / (length * (1.0 + self.kappa)))


SEGMENT_CHUNK_CELLS = 32_000
"""The segmentation computes its (length, end) arrays a chunk of lengths at a time, about this
many cells each: a few dozen passes go over every array, which are faster while the arrays stay
in the processor's cache (the results do not depend on the chunking)."""

GEOMETRY_CACHE_CELLS = 1_000_000
"""A bout's (length, end) arrays that do not depend on the data are kept between its
segmentations up to this many cells (about 40 bytes each)."""


def _table_width(n: int) -> int:
    """Ends 0 .. n of a segmentation of n samples live in tables this wide: a power of two, so
    that a window that grows by a few samples per fit (the live bridge's) keeps its tables."""
    return max(64, 1 << n.bit_length())


def _chunk_rows(n: int) -> int:
    """Lengths per chunk of a segmentation of n samples (`SEGMENT_CHUNK_CELLS`)."""
    return max(1, SEGMENT_CHUNK_CELLS // _table_width(n))


def _data_free_geometry(l0: int, k: int, n: int) -> tuple[np.ndarray, ...]:
    """The start i = max(j - L, 0) and the phases (`_periodic_phases`) of the lengths
    l0 .. l0 + k - 1 at the ends j = 0 .. n: the first columns of the table of the lengths at
    `_table_width(n)` ends (read-only views), the same values as computed for n."""
    width = _table_width(n)
    small = k * width <= 2 * SEGMENT_CHUNK_CELLS
    i, sin_m, cos_m, sin_i, cos_i = _geometry_table(l0, k, width) if small else _geometry_arrays(l0, k, width)
    return i[:, : n + 1], sin_m[:, :n], cos_m[:, :n], sin_i[:, : n + 1], cos_i[:, : n + 1]


def _geometry_arrays(l0: int, k: int, width: int) -> tuple[np.ndarray, ...]:
    L = np.arange(l0, l0 + k)[:, None]
    i = np.maximum(np.arange(width) - L, 0)
    return (i, *_periodic_phases(L[:, 0], i))


@lru_cache(maxsize=8)
def _geometry_table(l0: int, k: int, width: int) -> tuple[np.ndarray, ...]:
    """`_geometry_arrays`, kept (read-only) for the next segmentations: the live bridge refits
    its window every few seconds with the same lengths."""
    tables = _geometry_arrays(l0, k, width)
    for a in tables:
        a.flags.writeable = False
    return tables


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
        Cost of one movement, in units of the noise variance times samples (a BIC-like term).
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
    min_wander_z
        A movement's amplitude squared must exceed this many times q T, the share of the tilt's
        random walk in one sine period of T seconds (q from the gyro's noise, see `fit`). A free
        random walk puts a sine amplitude of variance 0.147 q T into one period (with a
        constant fitted beside it), so 0.8 asks for 2.3 of its standard deviations. (It was
        1.08 while the gravity removal followed the orientation filter's inclination, which
        wanders more than the gyro's walk; with the gyro pitch pinned to the accelerometer
        (`contact.gyro_pitch`) the slowest strokes, 20 cm in 13 s, pass.)
    bias_window_s
        Window of the moving mean that estimates the slowly varying bias.
    iterations
        Bias re-estimations after the first segmentation.
    gap_check_s, gap_cover_fraction, gap_min_gain
        A still gap of at least `gap_check_s` is a hold to the detector, so it is checked on its
        own: the best single movement covering at least `gap_cover_fraction` of it that passes
        every physical bound above (wander included) and gains at least `gap_min_gain` (instead
        of `move_penalty`, which prices a movement anywhere in the bout) is taken. A slow
        10-15 s stroke is only a few hundredths of a m/s²; the global penalty and the bias
        re-estimation (which follows the still-looking stretch) can miss it, and the
        missing stroke would be reported as a hold.
    refine_s, refine_rate_hz
        Each movement's start and end, found on the `step_s` grid, are then moved by up to
        `refine_s` on a `refine_rate_hz` grid to the best fit (duration enters the distance
        squared, D = a T^2 / 2 pi; 0 turns this off).
    max_range_cm, range_tolerance, max_repairs
        The roller stays on the back: the contact's positions over one bout cannot span more
        than the back's length (`max_range_cm`, the hip-to-neck length; None: no check). A
        segmentation whose track spans more than `range_tolerance` times that has read some
        movement with the wrong sign (typically the end of one slow stroke and the start of
        the next in the same direction, whose accelerations form one sine period of the
        opposite sign): the movement whose removal shrinks the span most is ruled out and the
        bout segmented again, up to `max_repairs` times.
    tilt_tau_s
        The accelerometer time constant of the orientation filter (VQF's `tauAcc`) the gravity
        was removed with, or None. VQF low-passes the acceleration (second-order Butterworth,
        cut-off sqrt(2) / (2 pi tau)) and tilts its gravity estimate toward it, so the
        gravity-free acceleration is a (1 - H): for a movement much shorter than tau about
        a - (2 / tau^2) x, an error that grows with the displacement x and adds to the fitted
        sine (+10 % at T = 8 s, +25 % at 12 s with tau = 10 s on the simulator). Given, each
        amplitude is divided by that filter's gain on one sine period of the movement's T.
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
        bias_window_s: float = 40.0,
        still_bias_window_s: float = 40.0,
        min_wander_z: float = 0.8,
        iterations: int = 1,
        gap_check_s: float = 3.0,
        gap_cover_fraction: float = 0.6,
        gap_min_gain: float = 15.0,
        refine_s: float = 0.3,
        refine_rate_hz: float = 25.0,
        tilt_tau_s: float | None = None,
        max_range_cm: float | None = None,
        range_tolerance: float = 1.1,
        max_repairs: int = 3,
    ) -> None:
        self.max_range_cm = max_range_cm
        self.range_tolerance = range_tolerance
        self.max_repairs = max_repairs
        self.tilt_tau_s = tilt_tau_s
        self.refine_s = refine_s
        self.refine_rate_hz = refine_rate_hz
        self.gap_check_s = gap_check_s
        self.gap_cover_fraction = gap_cover_fraction
        self.gap_min_gain = gap_min_gain
        self.still_bias_window_s = still_bias_window_s
        self.min_wander_z = min_wander_z
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
        self.bias_window_s = bias_window_s
        self.iterations = iterations

    def fit(
        self,
        t_s: np.ndarray,
        acc_m_s2: np.ndarray,
        pitch_rate_rad_s: np.ndarray | None = None,
        pitch_rad: np.ndarray | None = None,
    ) -> BridgeSegmenter:
        """`t_s` (n,) uniform; `acc_m_s2` (n,) along-spine gravity-free acceleration (toward the
        head); `pitch_rate_rad_s` (n,) the rate about the left axis (its noise sets the tilt's
        random walk); `pitch_rad` (n,) the torso's pitch (a movement that changes it by more than
        `max_pitch_change_deg` is lifting or lowering the hips, not a stroke). Results: `moves_` (list of BridgeMove), `contact_cm_` (n,) contact displacement
        from the bout's start, `noise_m_s2_`."""
        from tracker.analysis.steps.filters import Butterworth

        n = len(t_s)
        self.moves_: list[BridgeMove] = []
        self.contact_cm_ = np.zeros(n)
        self.noise_m_s2_ = float("nan")
        self._forbidden: list[tuple[int, int, float]] = []
        self._geometry: dict[tuple[int, int, int], dict[int, tuple[np.ndarray, ...]]] = {}
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
        dt = k / rate
        # noise of the low-passed, decimated signal: from the sample-to-sample differences of
        # what the low-pass removes is not usable (it is gone), so use a robust spread of the
        # detrended signal where it is quiet (the lower half of the local 2 s rms)
        bias = _moving_mean(x, max(1, int(round(self.bias_window_s / dt))))
        sigma = self._noise(x - bias, dt)
        self.noise_m_s2_ = sigma
        # the tilt's random walk: the gyro's white noise (from sample-to-sample differences of
        # the pitch rate, which slow motion does not reach) integrated, times g
        q = 0.0
        if pitch_rate_rad_s is not None and len(pitch_rate_rad_s) > 8:
            d = np.diff(np.asarray(pitch_rate_rad_s, dtype=float))
            sd = float(np.median(np.abs(d - np.median(d)))) / 0.6745 / np.sqrt(2.0)
            density = sd / np.sqrt(rate / 2.0)  # rad/s/sqrt(Hz)
            q = (9.80665 * density) ** 2  # (m/s^2)^2 per s
        self.wander_q_ = q
        segs: list[tuple[int, int, float, float]] = []
        for _ in range(self.iterations + 1):
            segs = self._segment(x - bias, dt, sigma, q)
            still = np.ones(len(x))
            for i, j, _amp, _c in segs:
                still[i:j] = 0.0
            # the bias wanders (tilt error): follow it where the body is still, bridge it
            # linearly across the movements
            w = max(1, int(round(self.still_bias_window_s / dt)))
            num = _moving_mean(x * still, w)
            den = _moving_mean(still, w)
            good = den > 0.3
            if good.sum() >= 2:
                bias = np.interp(
                    np.arange(len(x)), np.flatnonzero(good), (num / np.maximum(den, 1e-9))[good]
                )
            else:
                bias = _moving_mean(x, max(1, int(round(self.bias_window_s / dt))))
        if self.gap_check_s > 0:
            segs = self._fill_gaps(x - bias, dt, sigma, q, segs)
        if self.max_range_cm:
            for _ in range(self.max_repairs):
                culprit = self._range_culprit(segs, dt)
                if culprit is None:
                    break
                self._forbidden.append(culprit)
                segs = self._segment(x - bias, dt, sigma, q)
                if self.gap_check_s > 0:
                    segs = self._fill_gaps(x - bias, dt, sigma, q, segs)
        fits = [(float(tx[i] - 0.5 * dt), (j - i) * dt, amp) for i, j, amp, _c in segs]
        if self.refine_s > 0 and fits:
            fits = self._refine(t_s, acc, tx, bias, fits)
        moves = []
        for t0, dur, amp in fits:
            if self.tilt_tau_s:
                amp = amp / tilt_filter_gain(dur / self.tilt_tau_s)
            body_m = amp * dur**2 / (2 * np.pi)
            moves.append(BridgeMove(t0, t0 + dur, -0.5 * body_m * 100.0))
        self.moves_ = moves
        self.contact_cm_ = self.track(t_s, moves)
        return self

    @staticmethod
    def track(t_s: np.ndarray, moves: list[BridgeMove]) -> np.ndarray:
        """Contact displacement (cm) from the start at times `t_s`: raised-cosine profiles."""
        out = np.zeros(len(t_s))
        for m in moves:
            # 0 before the movement, its whole displacement after: the profile only inside
            a, b = np.searchsorted(t_s, [m.start_s, m.end_s])
            u = (t_s[a:b] - m.start_s) / m.duration_s
            out[a:b] += m.contact_cm * (u - np.sin(2 * np.pi * u) / (2 * np.pi))
            out[b:] += m.contact_cm
        return out

    def _noise(self, r: np.ndarray, dt: float) -> float:
        w = max(2, int(round(2.0 / dt)))
        local = np.sqrt(np.maximum(_moving_mean(r * r, w), 0.0))
        q = float(np.quantile(local, 0.25)) if len(local) else 0.0
        return max(q, 1e-4)

    def _refine(self, t_s, acc, tx, bias, fits):
        """Start, duration and amplitude of each movement on a finer grid: every start and end
        within `refine_s` of the coarse ones (neighbours never overlap), best gain."""
        rate = 1.0 / float(np.median(np.diff(t_s)))
        kf = max(1, int(round(rate / self.refine_rate_hz)))
        tf = t_s[::kf]
        xf = acc[::kf] - np.interp(tf, tx, bias)
        dtf = kf / rate
        r = max(1, int(round(self.refine_s / dtf)))
        lmin = max(3, int(round(self.min_move_s / dtf)))
        out = []
        prev_end = 0  # fine index: the previous movement ends before it
        for m, (t0, dur, amp) in enumerate(fits):
            p0 = int(round((t0 - tf[0]) / dtf + 0.5))
            q0 = p0 + int(round(dur / dtf))
            nxt = (
                int(round((fits[m + 1][0] - tf[0]) / dtf + 0.5)) - r
                if m + 1 < len(fits)
                else len(xf)
            )
            lo_p, hi_p = max(prev_end, p0 - r), min(p0 + r, len(xf))
            lo_q, hi_q = max(q0 - r, lo_p + lmin), min(q0 + r, nxt, len(xf))
            if hi_p < lo_p or hi_q < lo_q or p0 < 0 or q0 > len(xf):
                out.append((t0, dur, amp))
                prev_end = max(prev_end, q0)
                continue
            # one step of coordinate ascent (the start with the end fixed, then the end): the
            # gain is smooth in both, and a full grid costs (2 r + 1)^2 windows per movement
            p, q = p0, q0
            best = None
            got = self._window_gains(xf, np.arange(lo_p, hi_p + 1), np.array([q]), lmin)
            if got is not None:
                best, p = got, got[0]
            got = self._window_gains(xf, np.array([p]), np.arange(lo_q, hi_q + 1), lmin)
            if got is not None:
                best, q = got, got[1]
            if best is None:
                out.append((t0, dur, amp))
                prev_end = max(prev_end, q0)
                continue
            out.append((float(tf[p] - 0.5 * dtf), (q - p) * dtf, best[2]))
            prev_end = q
        return out

    def _window_gains(self, xf, ps, qs, lmin):
        """Best (start, end, amplitude) over candidate windows [p, q) of `xf`, or None."""
        starts, ends = np.meshgrid(ps, qs, indexing="ij")
        starts, ends = starts.ravel(), ends.ravel()
        keep = (ends - starts) >= lmin
        if not keep.any():
            return None
        starts, ends = starts[keep], ends[keep]
        lens = (ends - starts).astype(float)
        # each window's samples m = 0 .. L - 1 weighted by sin(2 pi (m + 0.5) / L), from one
        # table per length (the same values as a sine per sample and candidate)
        sizes = (ends - starts).tolist()
        m = np.arange(max(sizes))
        weights = np.zeros((len(sizes), len(m)))
        for row, size in enumerate(sizes):
            weights[row, :size] = _half_period_sines(size)
        inside = m[None, :] < (ends - starts)[:, None]
        seg = xf[np.minimum(starts[:, None] + m[None, :], len(xf) - 1)]
        ssum = np.einsum("ij,ij->i", weights, seg)
        s1 = np.einsum("ij,ij->i", inside.astype(float), seg)
        gain = ssum * ssum / (lens / 2.0) + s1 * s1 / (lens * (1.0 + self.constant_shrink))
        k = int(np.argmax(gain))
        return int(starts[k]), int(ends[k]), float(ssum[k] / (lens[k] / 2.0))

    def _range_culprit(self, segs: list, dt: float) -> tuple[int, int, float] | None:
        """(start, end, sign) of the movement to rule out when the track of `segs` spans more
        of the back than there is, or None when it fits."""
        if not segs:
            return None
        contact = np.array(
            [-0.5 * amp * ((j - i) * dt) ** 2 / (2 * np.pi) * 100.0 for i, j, amp, _c in segs]
        )

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
        i, j, amp, _c = segs[best_k]
        return int(i), int(j), float(np.sign(amp))

    def _is_forbidden(self, i: np.ndarray, j: np.ndarray, amp: np.ndarray, dt: float) -> np.ndarray:
        """(k,) bool: candidate movements [i, j) with amplitude `amp` that were ruled out
        (the same sign, both ends within a second of a ruled-out one's)."""
        out = np.zeros(np.shape(i), dtype=bool)
        f = max(1, int(round(1.0 / dt)))
        for fi, fj, sign in self._forbidden:
            out |= (np.abs(i - fi) <= f) & (np.abs(j - fj) <= f) & (np.sign(amp) == sign)
        return out

    def _fill_gaps(self, x: np.ndarray, dt: float, sigma: float, wander_q: float, segs: list):
        """`segs` with a movement added in every still gap of `gap_check_s` or more that one
        explains (see the class docstring)."""
        n = len(x)
        lmin = max(3, int(round(self.min_move_s / dt)))
        lmax = max(lmin, int(round(self.max_move_s / dt)))
        var = sigma * sigma
        min_pace_body = 2 * self.min_pace_cm_s / 100.0
        min_dist_body = 2 * self.min_distance_cm / 100.0
        max_dist_body = 2 * self.max_distance_cm / 100.0
        max_pitch = np.radians(self.max_pitch_change_deg)
        edges = [0] + [e for s in segs for e in (s[0], s[1])] + [n]
        added = []
        for g0, g1 in zip(edges[::2], edges[1::2], strict=False):
            n_gap = g1 - g0
            if n_gap * dt < self.gap_check_s:
                continue
            xs = x[g0:g1]
            c1 = np.concatenate([[0.0], np.cumsum(xs)])
            idx = np.arange(n_gap, dtype=float)
            best = None
            l_lo = max(lmin, int(np.ceil(self.gap_cover_fraction * n_gap)))
            l_hi = min(lmax, n_gap)
            # a dozen lengths are enough: this asks whether one movement explains the gap,
            # the fine timing comes from `_refine`
            for L in range(l_lo, l_hi + 1, max(1, (l_hi - l_lo) // 12)):
                ph = 2 * np.pi * (idx + 0.5) / L
                cs = np.concatenate([[0.0], np.cumsum(xs * np.sin(ph))])
                cc = np.concatenate([[0.0], np.cumsum(xs * np.cos(ph))])
                i = np.arange(0, n_gap - L + 1)
                j = i + L
                a_ = 2 * np.pi * i / L
                ssum = (cs[j] - cs[i]) * np.cos(a_) - (cc[j] - cc[i]) * np.sin(a_)
                amp = ssum / (L / 2.0)
                s1 = c1[j] - c1[i]
                gain = (
                    ssum * ssum / (L / 2.0) + s1 * s1 / (L * (1.0 + self.constant_shrink))
                ) / var
                dur = L * dt
                body = np.abs(amp) * dur * dur / (2 * np.pi)
                ok = (
                    (body >= min_dist_body)
                    & (body / dur >= min_pace_body)
                    & (body <= max_dist_body)
                )
                ok &= gain >= self.gap_min_gain
                if getattr(self, "_forbidden", None):
                    ok &= ~self._is_forbidden(g0 + i, g0 + j, amp, dt)
                if self._pitch is not None:
                    ok &= (
                        np.abs(self._pitch[np.minimum(g0 + j, n - 1)] - self._pitch[g0 + i])
                        <= max_pitch
                    )
                if wander_q > 0:
                    ok &= amp * amp >= self.min_wander_z * wander_q * dur
                if ok.any():
                    k = int(np.argmax(np.where(ok, gain, -np.inf)))
                    if best is None or gain[k] > best[0]:
                        best = (
                            float(gain[k]),
                            g0 + int(i[k]),
                            g0 + int(j[k]),
                            float(amp[k]),
                            float(s1[k]) / (L * (1.0 + self.constant_shrink)),
                        )
            if best is not None:
                added.append(best[1:])
        return sorted(list(segs) + added)

    def _segment(self, x: np.ndarray, dt: float, sigma: float, wander_q: float):
        """Optimal segmentation of `x` (bias removed): list of (i, j, amplitude, constant)."""
        n = len(x)
        lmin = max(3, int(round(self.min_move_s / dt)))
        lmax = max(lmin, min(n, int(round(self.max_move_s / dt))))
        var = sigma * sigma
        kappa = self.constant_shrink
        c1 = np.concatenate([[0.0], np.cumsum(x)])
        # c1 behind `lmax` zeros: row r of a chunk of lengths from L0 reads c1[j - L0 - r]
        # through a window view (no index arrays)
        c1_back = np.lib.stride_tricks.sliding_window_view(np.concatenate([np.zeros(lmax), c1]), n + 1)
        # gain of the best move on [j - L, j) over leaving it still, per (L, j)
        gains = np.full((lmax - lmin + 1, n + 1), -np.inf, dtype=np.float32)
        amps = np.zeros((lmax - lmin + 1, n + 1), dtype=np.float32)
        min_pace_body = 2 * self.min_pace_cm_s / 100.0  # m/s
        min_dist_body = 2 * self.min_distance_cm / 100.0
        max_dist_body = 2 * self.max_distance_cm / 100.0
        max_pitch = np.radians(self.max_pitch_change_deg)
        # a chunk of lengths at a time (`SEGMENT_CHUNK_CELLS`)
        lengths = np.arange(lmin, lmax + 1)
        jj = np.arange(n + 1)
        chunk = _chunk_rows(n)
        # what depends on the lengths and the pitch only is kept for the bout's next
        # segmentation (the bias changes, the rest does not) unless that takes too much memory
        kept = getattr(self, "_geometry", None)  # set by `fit`
        small = len(lengths) * (n + 1) <= GEOMETRY_CACHE_CELLS
        cache = kept.setdefault((n, lmin, lmax), {}) if kept is not None and small else None
        for r0 in range(0, len(lengths), chunk):
            L = lengths[r0 : r0 + chunk, None]  # (k, 1)
            k, l0 = len(L), int(L[0, 0])
            i, sin_m, cos_m, sin_i, cos_i, allowed = self._chunk_geometry(L, n, max_pitch, cache)
            # the moving sums over [j - L, j): each cumulative sum less itself L samples back,
            # read through a view of the rows laid end to end behind `lmax` zeros (row r, end j
            # is at r (n + 1) + j - L0 - r of the rows). Where j < L (no movement: not
            # `allowed`) the view reads the row before; those cells are never used.
            ssum = self._shifted_difference(x, sin_m, l0, k, n, lmax)
            ssum *= cos_i
            cos_part = self._shifted_difference(x, cos_m, l0, k, n, lmax)
            cos_part *= sin_i
            ssum -= cos_part
            s1 = c1[None, :] - c1_back[lmax - l0 - k + 1 : lmax - l0 + 1][::-1]
            amp = ssum / (L / 2.0)
            # RSS(still: zero) - RSS(move: sine + shrunk constant)
            dur = L * dt
            # z^2 of the sine's amplitude against what a still span gives: white noise plus the
            # tilt's random walk (gyro angle random walk seen through gravity), whose share in
            # one sine period over T grows as q T (in place, the same operations in the same
            # order as (ssum^2 / (L / 2) + s1^2 / (L (1 + kappa))) / var)
            gain = ssum * ssum
            gain /= L / 2.0
            s1 *= s1
            s1 /= L * (1.0 + kappa)
            gain += s1
            gain /= var
            body = np.abs(amp)
            body *= dur
            body *= dur
            body /= 2 * np.pi
            ok = allowed & (body >= min_dist_body)
            ok &= body <= max_dist_body
            body /= dur
            ok &= body >= min_pace_body
            if wander_q > 0:
                # the tilt's random walk (gyro angle random walk seen through gravity) puts an
                # amplitude of about sqrt(q T) into one sine period over T: a movement must
                # stand above it
                ok &= amp * amp >= self.min_wander_z * wander_q * dur
            if getattr(self, "_forbidden", None):
                ok &= ~self._is_forbidden(i, jj[None, :], amp, dt)
            rows = slice(r0, r0 + k)
            gain -= self.move_penalty
            np.copyto(gains[rows], gain, where=ok)
            amps[rows] = amp
        return self._best_path(gains, amps, _ShrunkConstants(c1, lmin, kappa), lmin, n)

    @staticmethod
    def _shifted_difference(x: np.ndarray, phase: np.ndarray, l0: int, k: int, n: int, pad: int) -> np.ndarray:
        """(k, n + 1): C[r, j] - C[r, j - (l0 + r)] with C the cumulative sums of the rows of
        `x * phase` (k, n) from 0 (`pad` >= the longest length; where j < l0 + r, not
        meaningful)."""
        buf = np.empty(pad + k * (n + 1))
        buf[:pad] = 0.0
        c = buf[pad:].reshape(k, n + 1)
        c[:, 0] = 0.0
        body = c[:, 1:]
        np.multiply(x, phase, out=body)
        np.cumsum(body, axis=1, out=body)
        back = np.lib.stride_tricks.sliding_window_view(buf, n + 1)[pad - l0 :: n][:k]
        return c - back

    def _chunk_geometry(
        self, L: np.ndarray, n: int, max_pitch: float, cache: dict | None
    ) -> tuple[np.ndarray, ...]:
        """For the lengths `L` (k, 1) and every end j = 0 .. n: the start i = j - L (0 where
        j < L), the phases' sines and cosines (`_periodic_phases`), and which movements are
        allowed before looking at the data (j >= L; the pitch changes by at most `max_pitch`)."""
        key = int(L[0, 0])
        if cache is not None and key in cache:
            return cache[key]
        k = len(L)
        i, sin_m, cos_m, sin_i, cos_i = _data_free_geometry(key, k, n)
        jj = np.arange(n + 1)
        allowed = jj >= L
        if self._pitch is not None:
            # the pitch at the start j - L, row r of the lengths from L0 reading the pitch
            # behind L0 + k zeros through a window view (where j < L: not allowed anyway)
            pad = key + k
            back = np.lib.stride_tricks.sliding_window_view(np.concatenate([np.zeros(pad), self._pitch]), n + 1)
            at_start = back[pad - key - k + 1 : pad - key + 1][::-1]
            allowed &= np.abs(self._pitch[np.minimum(jj, n - 1)] - at_start) <= max_pitch
        got = (i, sin_m, cos_m, sin_i, cos_i, allowed)
        if cache is not None:
            cache[key] = got
        return got

    @staticmethod
    def _best_path(
        gains: np.ndarray, amps: np.ndarray, consts: np.ndarray | _ShrunkConstants, lmin: int, n: int
    ) -> list[tuple[int, int, float, float]]:
        """The dynamic programme over the end j: cost[j] = min(cost[j - 1] (a still sample),
        min_L cost[j - L] - gain(L, j)); the still model's own cost is common to every
        segmentation and drops out. cost never rises with j, so a movement with a gain of 0 or
        less never beats the still samples: only the positive gains are visited (in order of
        their end, shortest first, as a full scan would take them), and between their ends the
        cost stays what it was. And at one end a movement can win only with more gain than
        every shorter one there: a shorter one starts later, where the cost is no higher (the
        rest are left out; the same result). `consts` is read at the path's movements only."""
        record = gains > 0.0
        record[1:] &= gains[1:] > np.maximum.accumulate(gains, axis=0)[:-1]
        js, rows = np.nonzero(record.T)
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
                r = b - lmin
                segs.append((j - b, j, float(amps[r, j]), float(consts[r, j])))
                j -= b
        segs.reverse()
        return segs
