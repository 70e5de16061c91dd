"""The analysis's fast paths against the plain computations they replace (issue 11): each must
give what the plain one gives, to rounding, on random inputs, including the awkward ones
(movements running off the data, ties, not-a-number angles)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import isotonic_regression

from tracker.analysis import bridge as bridge_module
from tracker.analysis.bridge import BridgeSegmenter
from tracker.analysis.posture import PostureSegmenter
from tracker.analysis.steps import movement
from tracker.analysis.steps.movement import fit_movement, progress, progress_rows


def _track(rng: np.random.Generator, n: int, *, jitter: bool = False) -> tuple[np.ndarray, np.ndarray, float, float]:
    """A movement of a random shape, distance and noise on a 5 Hz track, and rough guesses of its
    start and end."""
    t = 100.0 + np.arange(n) * 0.2
    if jitter:
        t = np.sort(t + rng.uniform(-0.05, 0.05, n))
    dur = rng.uniform(1.5, 0.8 * n * 0.2)
    start = t[0] + rng.uniform(0.0, n * 0.2 - dur)
    shape = rng.choice([0.5, 0.3, 0.12, 0.06])
    y = rng.normal(0, 15) * progress((t - start) / dur, shape)
    y += rng.choice([0.02, 0.1, 0.4, 1.0]) * rng.standard_normal(n) + 0.4 * np.sin(2 * np.pi * 0.25 * t)
    return t, y, start + rng.normal(0, 0.6), start + dur + rng.normal(0, 0.6)


def _timing_plain(t, y, start, end, span, step, min_s, ramp):
    """Every (start, end) pair of the grid, every sample, `progress` in double precision."""
    yc = y - y.mean()
    offs = np.arange(-span, span + 1e-9, step)
    ss, ee = np.repeat(start + offs, len(offs)), np.tile(end + offs, len(offs))
    keep = ee - ss >= min_s
    ss, ee = ss[keep], ee[keep]
    g = progress((t[None, :] - ss[:, None]) / (ee - ss)[:, None], ramp)
    gc = g - g.mean(axis=1, keepdims=True)
    cov, var = gc @ yc, np.einsum("ij,ij->i", gc, gc)
    gain = np.where(var > 1e-9, cov * cov / np.maximum(var, 1e-12), -np.inf)
    return ss, ee, gain


@pytest.mark.parametrize("seed", range(4))
def test_the_timing_search_finds_the_plain_search_s_best(seed):
    """`_timing` evaluates each candidate only inside itself, its sines in single precision: the
    same best candidate, or one whose gain the plain search rates within 1e-6 of the best."""
    rng = np.random.default_rng(seed)
    for trial in range(60):
        t, y, start, end = _track(rng, int(rng.integers(12, 150)), jitter=trial % 5 == 0)
        half = max(1.0, 0.4 * (end - start))
        track = movement._Track(t, y)
        for span, step in ((half, half / 6), (half / 3, half / 12), (half / 6, half / 24)):
            for ramp in (0.5, 0.42, 0.3, 0.12):
                got = movement._timing(track, start, end, span, step, 0.8, (ramp,))
                ss, ee, gain = _timing_plain(t, y, start, end, span, step, 0.8, ramp)
                if not np.isfinite(gain).any():
                    assert got is None
                    continue
                assert got is not None
                best = float(gain.max())
                at = np.flatnonzero((ss == got.start_s) & (ee == got.end_s))
                assert len(at) == 1
                assert gain[at[0]] >= best - 1e-6 * best
                assert got.gain == pytest.approx(gain[at[0]], rel=1e-5, abs=1e-9)


def test_not_searching_shapes_that_cannot_pass_changes_no_fit(monkeypatch):
    """The bound that skips the shape search (`_shape_could_pass`) only skips searches whose
    result the F test would reject: the fits are the same with the search always run."""
    rng = np.random.default_rng(7)
    cases = [_track(rng, int(rng.integers(20, 150))) for _ in range(150)]
    fast = [fit_movement(t, y, a, b, min_s=0.8, search=0.4) for t, y, a, b in cases]
    monkeypatch.setattr(movement, "_shape_could_pass", lambda *_args: True)
    full = [fit_movement(t, y, a, b, min_s=0.8, search=0.4) for t, y, a, b in cases]
    assert fast == full
    assert any(f is not None and f.ramp != 0.5 for f in full)  # the search did matter somewhere


def test_the_monotone_residual_is_isotonic_regression_s():
    rng = np.random.default_rng(3)
    for _ in range(200):
        y = np.cumsum(rng.normal(size=int(rng.integers(1, 90)))) * rng.choice([-1, 1])
        want = isotonic_regression(y).x
        assert movement._monotone_residual(y) == pytest.approx(float(np.sum((y - want) ** 2)), rel=1e-9, abs=1e-9)


def test_progress_rows_is_progress_of_each_row_bit_for_bit():
    rng = np.random.default_rng(5)
    for _ in range(200):
        k, n = int(rng.integers(1, 6)), int(rng.integers(1, 90))
        u = rng.uniform(-0.5, 1.5, (k, n))
        ramps, skews = rng.choice([0.5, 0.3, 0.12, 0.06, 0.0, 0.7], k), rng.choice([0.0, 0.0, 0.3, -0.2], k)
        rows = progress_rows(u, ramps, skews)
        for r in range(k):
            assert np.array_equal(rows[r], progress(u[r], ramps[r], skews[r]))


def test_the_bridge_phase_tables_are_the_sines_they_replace():
    n = 300
    lengths = np.arange(4, 40)
    j = np.arange(n + 1)
    i = np.maximum(j - lengths[:, None], 0)
    sin_m, cos_m, sin_i, cos_i = bridge_module._periodic_phases(lengths, i)
    phase = 2 * np.pi * (np.arange(n) + 0.5) / lengths[:, None]
    np.testing.assert_allclose(sin_m, np.sin(phase), atol=1e-12)
    np.testing.assert_allclose(cos_m, np.cos(phase), atol=1e-12)
    np.testing.assert_allclose(sin_i, np.sin(2 * np.pi * i / lengths[:, None]), atol=1e-12)
    np.testing.assert_allclose(cos_i, np.cos(2 * np.pi * i / lengths[:, None]), atol=1e-12)


def _best_path_plain(gains, lmin, n):
    """The dynamic programme over every end and every length (no pruning)."""
    cost, back = [0.0] * (n + 1), [0] * (n + 1)
    for j in range(1, n + 1):
        cost[j], back[j] = cost[j - 1], 0
        for row in range(gains.shape[0]):
            g = float(gains[row, j])
            if g > 0.0 and j - (row + lmin) >= 0 and cost[j - (row + lmin)] - g < cost[j]:
                cost[j], back[j] = cost[j - (row + lmin)] - g, row + lmin
    segs, j = [], n
    while j > 0:
        if back[j] == 0:
            j -= 1
        else:
            segs.append((j - back[j], j))
            j -= back[j]
    return segs[::-1]


def test_the_bridge_programme_that_skips_beaten_movements_finds_the_same_path():
    rng = np.random.default_rng(11)
    for _ in range(40):
        n, lmin = int(rng.integers(20, 120)), int(rng.integers(3, 6))
        k = int(rng.integers(2, 25))
        gains = np.where(rng.random((k, n + 1)) < 0.4, rng.normal(0, 3, (k, n + 1)), -np.inf).astype(np.float32)
        gains[rng.random((k, n + 1)) < 0.05] = 2.0  # ties
        for row in range(k):  # no movement longer than the data before its end
            gains[row, : row + lmin] = -np.inf
        amps = np.zeros_like(gains)
        got = BridgeSegmenter._best_path(gains, amps, amps, lmin, n)
        assert [(a, b) for a, b, _amp, _c in got] == _best_path_plain(gains, lmin, n)


def test_the_bridge_keeps_a_bout_s_geometry_and_segments_the_same(monkeypatch):
    """A bout's later segmentations reuse its data-free arrays: the same movements as a
    segmenter that computes them afresh every time."""
    rng = np.random.default_rng(2)
    t = np.arange(0.0, 120.0, 0.04)
    acc = 0.01 * rng.standard_normal(len(t)) - 0.02
    for start, dur, body in ((10.0, 6.0, 0.2), (40.0, 2.0, -0.3), (80.0, 12.0, 0.4)):
        u = (t - start) / dur
        inside = (u >= 0) & (u < 1)
        acc[inside] += 2 * np.pi * body / dur**2 * np.sin(2 * np.pi * u[inside])
    pitch = 0.002 * rng.standard_normal(len(t))
    kept = BridgeSegmenter().fit(t, acc, pitch_rad=pitch).moves_
    monkeypatch.setattr(bridge_module, "GEOMETRY_CACHE_CELLS", 0)
    fresh = BridgeSegmenter().fit(t, acc, pitch_rad=pitch).moves_
    assert len(kept) >= 3
    assert kept == fresh


def test_the_on_roller_hysteresis_is_the_step_by_step_rule():
    seg = PostureSegmenter()
    rng = np.random.default_rng(4)
    for trial in range(100):
        sag = np.cumsum(rng.normal(0, 3, 400)) + 70.0
        if trial % 4 == 0:
            sag[rng.integers(0, 400, 8)] = np.nan
        on, want = False, []
        for a in sag:
            on = a < seg.on_roller_exit_deg if on else a < seg.on_roller_max_deg
            want.append(on)
        assert seg._on_roller_hysteresis(sag).tolist() == want


def _segment_plain(seg: BridgeSegmenter, x: np.ndarray, dt: float, sigma: float, wander_q: float):
    """The segmentation's gains with index arrays and every constant computed (as before the
    shifted views and the constants on demand)."""
    n = len(x)
    lmin = max(3, int(round(seg.min_move_s / dt)))
    lmax = max(lmin, min(n, int(round(seg.max_move_s / dt))))
    kappa = seg.constant_shrink
    c1 = np.concatenate([[0.0], np.cumsum(x)])
    L = np.arange(lmin, lmax + 1)[:, None]
    jj = np.arange(n + 1)
    i = np.maximum(jj - L, 0)
    allowed = jj >= L
    if seg._pitch is not None:
        allowed &= np.abs(seg._pitch[np.minimum(jj, n - 1)] - seg._pitch[i]) <= np.radians(seg.max_pitch_change_deg)
    sin_m, cos_m, sin_i, cos_i = bridge_module._periodic_phases(L[:, 0], i)
    cs = np.zeros((len(L), n + 1))
    cc = np.zeros((len(L), n + 1))
    np.cumsum(x * sin_m, axis=1, out=cs[:, 1:])
    np.cumsum(x * cos_m, axis=1, out=cc[:, 1:])
    ssum = (cs - np.take_along_axis(cs, i, axis=1)) * cos_i - (cc - np.take_along_axis(cc, i, axis=1)) * sin_i
    s1 = c1[None, :] - c1[i]
    amp = ssum / (L / 2.0)
    const = s1 / (L * (1.0 + kappa))
    dur = L * dt
    gain = (ssum * ssum / (L / 2.0) + s1 * s1 / (L * (1.0 + kappa))) / (sigma * sigma)
    body = np.abs(amp) * dur * dur / (2 * np.pi)
    ok = allowed & (body >= 2 * seg.min_distance_cm / 100.0) & (body / dur >= 2 * seg.min_pace_cm_s / 100.0)
    ok &= body <= 2 * seg.max_distance_cm / 100.0
    if wander_q > 0:
        ok &= amp * amp >= seg.min_wander_z * wander_q * dur
    if seg._forbidden:
        ok &= ~seg._is_forbidden(i, jj[None, :], amp, dt)
    gains = np.where(ok, gain - seg.move_penalty, -np.inf).astype(np.float32)
    return BridgeSegmenter._best_path(gains, amp.astype(np.float32), const.astype(np.float32), lmin, n)


@pytest.mark.parametrize("seed", range(6))
def test_the_bridge_segmentation_s_views_give_the_plain_gains_path(seed, monkeypatch):
    """The moving sums read through shifted views, the gains in place and the constants only
    for the path: the same segments, amplitudes and constants, bit for bit, as the plain
    computation (with a pitch, the tilt's wander, ruled-out movements, and chunks of lengths)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(30, 500)) if seed < 5 else 3400  # the last one in several chunks
    dt = 0.2
    t = np.arange(n) * dt
    x = 0.01 * rng.standard_normal(n)
    for _ in range(int(rng.integers(2, 6))):
        start, dur = rng.uniform(0, n * dt - 1.0), rng.uniform(1.0, 12.0)
        u = (t - start) / dur
        inside = (u >= 0) & (u < 1)
        x[inside] += rng.choice([-1.0, 1.0]) * rng.uniform(0.03, 0.1) * np.sin(2 * np.pi * u[inside])
    seg = BridgeSegmenter()
    seg._pitch = 0.001 * np.cumsum(rng.standard_normal(n)) * (seed % 2)  # none moving for even seeds
    seg._forbidden = [(int(rng.integers(0, n)), int(rng.integers(0, n)), 1.0)] if seed % 3 == 0 else []
    seg._geometry = {}
    wander = [0.0, 1e-7][seed % 2]
    got = seg._segment(x, dt, 0.01, wander)
    assert got == _segment_plain(seg, x, dt, 0.01, wander)
    assert got  # movements found: the comparison covers amplitudes and constants
