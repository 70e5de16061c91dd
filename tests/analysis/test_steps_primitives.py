"""The analysis core's primitives (tracker/analysis/steps) on hand-built signals with known
answers, and the promise each stateful one makes: `run` on a whole array, `step` sample by
sample and `run` on any cut into blocks give the same output."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.analysis.steps import rules
from tracker.analysis.steps.decimate import BlockMean, block_mean
from tracker.analysis.steps.filters import Butterworth
from tracker.analysis.steps.measure import StrokeMeasure
from tracker.analysis.steps.movement import fit_movement
from tracker.analysis.steps.movement import progress as movement_progress
from tracker.analysis.steps.orientation import VqfOrientation, up_from_quaternion
from tracker.analysis.steps.pieces import PieceCutter, TurningPoints
from tracker.analysis.steps.runs import fill_nearest, label_runs, runs, split_by
from tracker.analysis.steps.tilt import AccelStillness, OnePoleCascade, TiltOrientation
from tracker.analysis.steps.windows import (
    LowestMean,
    StillWindows,
    TrailingMean,
    TrailingSpan,
    centred_extreme,
    dilate,
    window_extreme,
)
from tracker.guidance import Guidance
from tracker.imu import quaternion_to_matrix
from tracker.results import Hold, Stroke

RATE = 25.0


def _cuts(n: int, sizes: list[int]) -> list[slice]:
    """`n` samples cut into consecutive blocks of the given sizes (repeated as needed)."""
    out, a, k = [], 0, 0
    while a < n:
        b = min(n, a + max(1, sizes[k % len(sizes)]))
        out.append(slice(a, b))
        a, k = b, k + 1
    return out


blocks = st.lists(st.integers(1, 60), min_size=1, max_size=8)


def _ramp(t: np.ndarray, start: float, duration: float) -> np.ndarray:
    """Share of a raised-cosine movement done at `t`."""
    u = np.clip((t - start) / duration, 0.0, 1.0)
    return u - np.sin(2 * np.pi * u) / (2 * np.pi)


# --- runs ------------------------------------------------------------------------------------------
def test_runs_labels_and_pieces():
    mask = np.array([0, 1, 1, 0, 0, 1, 0, 1], dtype=bool)
    assert runs(mask) == [(1, 3), (5, 6), (7, 8)]
    assert runs(np.zeros(4, dtype=bool)) == []
    labels = np.array(["a", "a", "b", "a"], dtype=object)
    assert label_runs(labels) == [("a", 0, 2), ("b", 2, 3), ("a", 3, 4)]
    segment = np.array([0, 0, 1, 1, 1, 2])
    assert split_by(segment, 1, 6) == [(1, 2), (2, 5), (5, 6)]
    x = np.array([1.0, np.nan, np.nan, 4.0, np.nan])
    where = np.array([True, True, False, True, True])
    np.testing.assert_array_equal(fill_nearest(x, where), [1.0, 4.0, np.nan, 4.0, 4.0])


# --- windows ---------------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-100, 100), min_size=1, max_size=80), st.integers(1, 12))
def test_window_extremes_are_exact(values, n):
    x = np.array(values)
    got_max = window_extreme(x, n, np.maximum)
    got_min = window_extreme(x, n, np.minimum)
    want = [(x[k : k + n].max(), x[k : k + n].min()) for k in range(len(x) - n + 1)] if n > 1 else None
    if n == 1:
        np.testing.assert_array_equal(got_max, x)
        return
    assert len(got_max) == max(0, len(x) - n + 1)
    for k, (hi, lo) in enumerate(want or []):
        assert got_max[k] == hi and got_min[k] == lo


def test_centred_extremes_mirror_the_ends_as_scipy_does():
    from scipy.ndimage import maximum_filter1d, minimum_filter1d

    x = np.random.default_rng(0).normal(size=200)
    for n in (1, 2, 7, 8, 75):
        np.testing.assert_array_equal(centred_extreme(x, n, np.maximum), maximum_filter1d(x, n))
        np.testing.assert_array_equal(centred_extreme(x, n, np.minimum), minimum_filter1d(x, n))
    mask = np.zeros(30, dtype=bool)
    mask[10] = True
    assert np.flatnonzero(dilate(mask, 5)).tolist() == [8, 9, 10, 11, 12]


@settings(max_examples=30, deadline=None)
@given(blocks)
def test_still_windows_and_trailing_means_do_not_depend_on_blocks(sizes):
    x = np.cumsum(np.random.default_rng(1).normal(scale=0.3, size=300))
    whole = StillWindows(20, 1.0).run(x)
    stepped = StillWindows(20, 1.0)
    assert [stepped.step(v) for v in x] == whole.tolist()
    blocked = StillWindows(20, 1.0)
    np.testing.assert_array_equal(np.concatenate([blocked.run(x[s]) for s in _cuts(len(x), sizes)]), whole)
    means = TrailingMean(9).run(x)
    again = TrailingMean(9)
    np.testing.assert_allclose(np.concatenate([again.run(x[s]) for s in _cuts(len(x), sizes)]), means)
    np.testing.assert_allclose(means[20], x[12:21].mean())


@settings(max_examples=30, deadline=None)
@given(blocks, st.integers(1, 30))
def test_trailing_span_is_the_windows_max_less_min(sizes, n):
    """`TrailingSpan` (monotonic queues): the span of the last n values, ties and all, exactly,
    sample by sample or in blocks of any size."""
    x = np.round(np.cumsum(np.random.default_rng(n).normal(size=300)), 1)  # rounded: many ties
    brute = np.array([x[max(0, k - n + 1) : k + 1].max() - x[max(0, k - n + 1) : k + 1].min() for k in range(len(x))])
    span = TrailingSpan(n)
    np.testing.assert_array_equal([span.step(v) for v in x.tolist()], brute)
    blocked = TrailingSpan(n)
    np.testing.assert_array_equal(np.concatenate([blocked.run(x[s]) for s in _cuts(len(x), sizes)]), brute)


@settings(max_examples=30, deadline=None)
@given(blocks, st.integers(1, 12))
def test_lowest_means_do_not_depend_on_blocks(sizes, n):
    """The flattest pitch (`LowestMean`): step, run and run on any blocks agree, and the answer
    is the lowest mean of n samples that lie inside one run of `inside`."""
    rng = np.random.default_rng(5)
    x = np.cumsum(rng.normal(size=300))
    inside = rng.random(300) > 0.08
    whole = LowestMean(n).run(x, inside)
    stepped = LowestMean(n)
    np.testing.assert_allclose([stepped.step(v, i) for v, i in zip(x, inside, strict=True)], whole, atol=1e-9)
    blocked = LowestMean(n)
    got = np.concatenate([blocked.run(x[s], inside[s]) for s in _cuts(len(x), sizes)])
    np.testing.assert_allclose(got, whole, atol=1e-9)
    brute = min(
        x[k : k + n].mean() for k in range(len(x) - n + 1) if inside[k : k + n].all()
    )
    assert whole[-1] == pytest.approx(brute)


def test_rescaled_state_is_the_state_of_the_rescaled_signal():
    """A change of unit mid-stream (the live hips-down stage when the roller diameter it uses
    changes): rescaling a filter's, a still window's and a piece cutter's state gives what they
    would hold had the signal been in the new unit all along."""
    x = 30.0 + 10.0 * np.sin(np.arange(400) / 20.0) + np.random.default_rng(6).normal(0, 0.2, 400)
    k = 0.8
    a, b = Butterworth.lowpass(0.8, RATE), Butterworth.lowpass(0.8, RATE)
    a.run(x[:200])
    b.run(k * x[:200])
    a.rescale(k)
    np.testing.assert_allclose(a.run(k * x[200:]), b.run(k * x[200:]), atol=1e-9)
    w1, w2 = StillWindows(50, 1.0), StillWindows(50, 1.0)
    w1.run(x[:200])
    w2.run(k * x[:200])
    w1.rescale(k)
    assert w1.run(k * x[200:]).tolist() == w2.run(k * x[200:]).tolist()
    c1, c2 = PieceCutter(1.5, 0.3, 2.0), PieceCutter(1.5, 0.3, 2.0)
    c1.start(0, x[0])
    c2.start(0, k * x[0])
    cuts1, cuts2 = [], []
    for i in range(1, 400):
        v1 = x[i] if i < 200 else k * x[i]
        if i == 200:
            c1.rescale(k)
        s1 = abs(v1 - (x[i - 1] if i <= 200 else k * x[i - 1])) * RATE
        cuts1.append(c1.step(i, v1, s1))
        cuts2.append(c2.step(i, k * x[i], abs(k * x[i] - k * x[i - 1]) * RATE))
    assert cuts1[200:] == cuts2[200:]


@pytest.mark.parametrize("ramp", [0.5, 0.3, 0.12])
def test_a_movement_is_timed_whatever_its_cruise(ramp):
    """`fit_movement` finds a movement's start, end and distance from a track with a breath on
    it, a raised cosine (ramp 0.5) or a long cruise (ramp 0.12), from rough first guesses."""
    t = np.arange(0.0, 30.0, 0.2)
    breath = 0.3 * np.sin(2 * np.pi * 0.25 * t)
    y = 40.0 - 18.0 * movement_progress((t - 8.0) / 12.0, ramp) + breath
    got = fit_movement(t, y, 6.5, 21.5, min_s=0.8, search=0.4)
    assert got is not None
    assert got.start_s == pytest.approx(8.0, abs=0.6) and got.end_s == pytest.approx(20.0, abs=0.6)
    assert got.distance_cm == pytest.approx(-18.0, rel=0.05)
    # a raised cosine on a clean track is not taken for another shape
    if ramp == 0.5:
        clean = fit_movement(t, 40.0 - 18.0 * movement_progress((t - 8.0) / 12.0), 7.0, 21.0, min_s=0.8, search=0.4)
        assert clean is not None and clean.ramp == 0.5


def test_still_windows_find_a_hold_with_breathing():
    """A stroke, then 10 s on one spot with 0.6 cm of breathing: still once a whole window of
    3 s lies on the spot, never during the stroke."""
    t = np.arange(0.0, 16.0, 1 / RATE)
    p = 30.0 + 15.0 * _ramp(t, 1.0, 5.0) + 0.3 * np.sin(2 * np.pi * 0.25 * t)
    still = StillWindows(int(3 * RATE), 1.0).run(p)
    assert not still[t < 6.0].any()
    # the first still window starts in the stroke's slow end (its last cm and the breath within
    # the tolerance), every later one is still, and each is what the definition says
    first = t[np.argmax(still)]
    assert 6.0 - 1.5 <= first - 3.0 <= 6.0
    assert still[t >= first].all()
    n = int(3 * RATE)
    brute = [k >= n - 1 and np.ptp(p[k - n + 1 : k + 1]) <= 1.0 for k in range(len(p))]
    assert still.tolist() == brute


# --- filters ---------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(blocks, st.sampled_from(["lowpass", "highpass", "bandpass"]))
def test_butterworth_run_and_step_agree_for_any_blocks(sizes, btype):
    x = np.random.default_rng(2).normal(size=400) + 5.0
    cutoff = (0.05, 1.0) if btype == "bandpass" else 0.8
    whole = Butterworth(2, cutoff, RATE, btype).run(x)
    stepped = Butterworth(2, cutoff, RATE, btype)
    np.testing.assert_allclose([stepped.step(v) for v in x], whole, rtol=0, atol=1e-12)
    blocked = Butterworth(2, cutoff, RATE, btype)
    np.testing.assert_allclose(
        np.concatenate([blocked.run(x[s]) for s in _cuts(len(x), sizes)]), whole, rtol=0, atol=1e-12
    )


def test_butterworth_is_scipys_filter():
    from scipy.signal import butter, sosfilt, sosfilt_zi, sosfiltfilt

    x = np.random.default_rng(3).normal(size=500)
    lp = Butterworth.lowpass(0.8, RATE)
    sos = butter(2, 0.8, fs=RATE, output="sos")
    np.testing.assert_allclose(lp.run(x), sosfilt(sos, x, zi=sosfilt_zi(sos) * x[0])[0], atol=1e-12)
    np.testing.assert_allclose(
        Butterworth.lowpass(0.8, RATE).zero_phase(x, padlen=90), sosfiltfilt(sos, x, padlen=90), atol=1e-12
    )
    # a cut-off above 0.45 of the rate is brought below it
    assert Butterworth.lowpass(20.0, RATE).cutoff_hz == pytest.approx(0.45 * RATE)


def test_a_causal_lowpass_starts_settled_and_lags_by_its_group_delay():
    lp = Butterworth.lowpass(0.8, RATE)
    np.testing.assert_allclose(lp.run(np.full(50, 7.0)), 7.0, atol=1e-12)  # no start-up transient
    t = np.arange(0.0, 30.0, 1 / RATE)
    ramp = 2.0 * t  # 2 cm/s
    y = Butterworth.lowpass(0.8, RATE).run(ramp)
    lag_s = np.median((ramp[t > 10] - y[t > 10]) / 2.0)
    assert lag_s == pytest.approx(lp.delay_s, rel=0.02)
    assert Butterworth.lowpass(0.8, RATE).zero_phase(ramp)[t > 10].mean() == pytest.approx(ramp[t > 10].mean(), rel=1e-3)


# --- turns and stops -------------------------------------------------------------------------------
def test_turning_points_need_the_hysteresis():
    """A zig-zag 20 -> 40 -> 25 -> 45 cm with 1 cm wiggles: two turns, at the extremes."""
    p = np.concatenate([np.linspace(20, 40, 50), np.linspace(40, 25, 40), np.linspace(25, 45, 50)])
    p = p + 0.5 * np.sin(np.arange(len(p)) * 1.3)
    turns = TurningPoints(1.5).run(p)
    assert len(turns) == 2
    assert abs(turns[0] - 49) <= 2 and abs(turns[1] - 89) <= 2
    assert TurningPoints(1.5).run(30.0 + 0.6 * np.sin(np.arange(200) * 0.2)) == []


def _two_legs(floor_ratio: float, second_cm: float = 10.0) -> np.ndarray:
    """Up 12 cm in 4 s, then on up `second_cm` in 4 s; between the two the speed falls to
    `floor_ratio` of the first leg's peak (0: a stop for a moment)."""
    t = np.arange(0.0, 12.0, 1 / RATE)

    def bump(start: float, cm: float) -> np.ndarray:  # raised-cosine speed, cm/s
        u = np.clip((t - start) / 4.0, 0.0, 1.0)
        return cm / 4.0 * (1.0 - np.cos(2 * np.pi * u))

    peak = 12.0 / 4.0 * 2.0
    floor = np.where((t > 3.0) & (t < 7.0), floor_ratio * peak, 0.0)
    speed = np.maximum(np.maximum(bump(1.0, 12.0), bump(5.0, second_cm)), floor)
    return 20.0 + np.cumsum(speed) / RATE


def test_a_stop_without_a_reversal_cuts_the_piece():
    cutter = PieceCutter(turn_cm=1.5, valley_ratio=0.3, min_stroke_cm=2.0)
    cuts = cutter.run(_two_legs(0.0), RATE)
    assert len(cuts) == 1 and abs(cuts[0] / RATE - 5.0) <= 0.1
    # a slow-down that stays above the ratio is no stop, nor is a second leg too short to count
    assert PieceCutter(1.5, 0.3, 2.0).run(_two_legs(0.5), RATE) == []
    assert PieceCutter(1.5, 0.3, 2.0).run(_two_legs(0.0, second_cm=1.5), RATE) == []


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**16))
def test_piece_cutter_step_is_run(seed):
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, 40.0, 1 / RATE)
    p = 30 + np.cumsum(rng.normal(scale=0.4, size=len(t)))
    want = PieceCutter(1.5, 0.3, 2.0).run(p, RATE)
    cutter = PieceCutter(1.5, 0.3, 2.0)
    cutter.start(0, p[0])
    got = [cutter.step(i, p[i], abs(p[i] - p[i - 1]) * RATE) for i in range(1, len(p))]
    assert sorted({c for c in got if c is not None}) == want


# --- stroke measurement ----------------------------------------------------------------------------
def test_a_raised_cosine_stroke_is_measured_as_put_in():
    g = Guidance()
    t = np.arange(0.0, 12.0, 1 / RATE)
    p = 25.0 + 14.0 * _ramp(t, 2.0, 6.0)  # 14 cm toward the head in 6 s
    posture = np.full(len(t), "hips_down", dtype=object)
    s = StrokeMeasure(g).measure(t, p, posture)
    assert s is not None
    assert s.distance_cm == pytest.approx(14.0, abs=1e-6)
    assert s.start_s == pytest.approx(2.0, abs=0.05) and s.end_s == pytest.approx(8.0, abs=0.05)
    assert s.pace_cm_s == pytest.approx(14.0 / 6.0, rel=0.01)
    assert (s.direction, s.region, s.start_cm, s.end_cm) == ("toward_head", g.region_at(32.0), 25.0, 39.0)
    back = StrokeMeasure(g).measure(t, p[::-1].copy(), posture)
    assert back is not None and back.direction == "toward_hips"


def test_a_breath_high_on_the_back_and_a_posture_change_are_no_strokes():
    g = Guidance()
    t = np.arange(0.0, 6.0, 1 / RATE)
    posture = np.full(len(t), "hips_down", dtype=object)
    # 2.5 cm at 48 cm on a 15 cm roller is 0.9 degrees of pitch: a breath, not a stroke
    breath = 48.0 + 2.5 * _ramp(t, 1.0, 2.0)
    assert StrokeMeasure(g, roller_diameter_cm=15.0).measure(t, breath, posture) is None
    assert StrokeMeasure(g).measure(t, breath, posture) is not None  # (without the pitch test)
    m = StrokeMeasure(g, max_pace_cm_s=25.0)
    assert not m.plausible(Stroke(0.0, 1.0, 30.0, 30.0, "mid_thoracic"))  # too fast
    assert not m.plausible(Stroke(0.0, 10.0, 60.0, 6.0, "mid_thoracic"))  # longer than the back
    assert m.plausible(Stroke(0.0, 10.0, 20.0, 2.0, "mid_thoracic"))


# --- warning rules ---------------------------------------------------------------------------------
def _stroke(start: float, pace: float) -> Stroke:
    return Stroke(start, start + 2.0, 2.0 * pace, pace, "mid_thoracic")


def test_too_fast_runs_break_at_slow_strokes_and_holds():
    g = Guidance()
    strokes = [_stroke(0, 8), _stroke(2, 9), _stroke(4, 2), _stroke(6, 7), _stroke(8, 7), _stroke(20, 8)]
    hold = Hold(10.0, 19.0, 9.0, 30.0, "mid_thoracic")
    got = rules.TooFastRuns(g).run(strokes, [hold])
    assert [(w.start_s, w.end_s) for w in got] == [(0.0, 4.0), (6.0, 10.0)]
    assert got[0].value == pytest.approx(8.5) and "2 strokes in a row at 8.5 cm/s" in got[0].message
    # step by step the same runs come out, each warning growing with its run
    live = rules.TooFastRuns(g)
    seen = []
    for s in strokes:
        if s.start_s >= hold.start_s:
            live.hold()
        w = live.step(s)
        if w is not None:
            seen.append((w.start_s, w.end_s))
    assert seen == [(0.0, 4.0), (6.0, 10.0)]


def test_one_set_of_messages():
    g = Guidance()
    h = Hold(0.0, 75.0, 75.0, 20.0, "lower_thoracic")
    assert "lower ribs (lower thoracic) for 75 s" in rules.hold_too_long_warning(h, g).message
    w = rules.region_overuse_warning("lumbar", 150.0, 10.0, 90.0, g)
    assert "2.5 min on your lower back (lumbar spine)" in w.message and w.value == 150.0
    assert "31 min on the roller" in rules.session_too_long_warning(1860.0, 1800.0, 1860.0, g).message
    past = rules.lumbar_warning(5.0, 25.0, seconds=11.0)
    assert "was under your lower back (lumbar spine) for 11 s" in past.message and past.value == 11.0
    assert "is under your lower back" in rules.lumbar_warning(5.0, 5.2, ongoing=True).message


def test_the_synthetic_history_speaks_with_the_same_messages():
    from tracker.history.synthetic import synthetic_session

    rng = np.random.default_rng(2)
    sessions = [synthetic_session(rng, on_roller_min=20.0, median_pace_cm_s=6.0) for _ in range(3)]
    warnings = [w for s in sessions for w in s.warnings]
    assert {w.kind for w in warnings} >= {"too_fast", "region_overuse"}
    for w in warnings:
        if w.kind == "too_fast":
            assert "strokes in a row at" in w.message
        if w.kind == "region_overuse":
            assert "per region per session is enough" in w.message
        if w.kind == "lumbar":
            assert "The roller was under your lower back (lumbar spine) for" in w.message


# --- decimation and orientation ---------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(blocks, st.integers(1, 9))
def test_block_means_do_not_depend_on_blocks(sizes, factor):
    x = np.random.default_rng(4).normal(size=(203, 3))
    bm = BlockMean(factor)
    got = [bm.run(x[s]) for s in _cuts(len(x), sizes)]
    np.testing.assert_allclose(np.concatenate([g for g in got if len(g)]), block_mean(x, factor))
    assert bm.pending == len(x) % factor


def test_up_is_the_third_row_of_the_rotation():
    q = np.random.default_rng(5).normal(size=(10, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    np.testing.assert_allclose(up_from_quaternion(q), quaternion_to_matrix(q)[:, 2, :], atol=1e-15)
    np.testing.assert_allclose(quaternion_to_matrix(np.array([1.0, 0, 0, 0])), np.eye(3))


def test_vqf_on_blocks_is_vqf_on_the_whole():
    rng = np.random.default_rng(6)
    acc = np.array([0.0, 0.0, 9.81]) + 0.05 * rng.normal(size=(300, 3))
    gyr = 0.01 + 0.002 * rng.normal(size=(300, 3))
    whole = VqfOrientation(100.0, 10.0).run(acc, gyr)
    stage = VqfOrientation(100.0, 10.0)
    parts = [stage.run(acc[s], gyr[s]) for s in _cuts(300, [7, 50, 1])]
    np.testing.assert_array_equal(np.concatenate([p.up_sensor for p in parts]), whole.up_sensor)
    np.testing.assert_array_equal(np.concatenate([p.gyr_rad_s for p in parts]), whole.gyr_rad_s)


# --- activity (tracker.analysis.steps.activity) ------------------------------------------------------
def _moving_imu(n: int = 600) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Specific force, rate and an up vector that step, sway and hold still by turns."""
    rng = np.random.default_rng(9)
    t = np.arange(n) / RATE
    steps = (np.sin(2 * np.pi * t / 12.0) > 0) * 2.0 * np.sin(2 * np.pi * 1.8 * t)
    acc = np.column_stack([0.3 * np.sin(0.2 * t), np.zeros(n), 9.81 + steps]) + rng.normal(scale=0.02, size=(n, 3))
    gyr = np.column_stack([0.2 * np.sin(0.7 * t), 0.05 * np.cos(0.3 * t), np.zeros(n)]) + rng.normal(scale=0.003, size=(n, 3))
    angle = np.where(t < 8, 0.0, np.where(t < 16, -1.4, 1.9))  # standing, lying back, folded over
    up = np.column_stack([np.sin(angle), np.zeros(n), np.cos(angle)])
    return acc, gyr, up


@settings(max_examples=20, deadline=None)
@given(blocks)
def test_activity_primitives_do_not_depend_on_blocks(sizes):
    from tracker.analysis.steps.activity import (
        HeldPoses,
        Quietness,
        StepCadence,
        TrailingSums,
        Wander,
    )

    acc, gyr, up = _moving_imu()
    mag = np.linalg.norm(acc, axis=1)
    cuts = _cuts(len(acc), sizes)
    makers = {
        "sums": (lambda: TrailingSums(17, channels=3), lambda p, s: p.run(acc[s]), lambda p, i: p.step(acc[i])),
        "steps": (lambda: StepCadence(RATE), lambda p, s: np.column_stack(p.run(mag[s])), lambda p, i: p.step(mag[i])),
        "quiet": (lambda: Quietness(RATE), lambda p, s: np.column_stack(p.run(acc[s], gyr[s])), lambda p, i: p.step(acc[i], gyr[i])),
        "wander": (lambda: Wander(RATE), lambda p, s: np.column_stack(p.run(acc[s], gyr[s])), lambda p, i: p.step(acc[i], gyr[i])),
        "poses": (lambda: HeldPoses(RATE, hold_s=2.0), lambda p, s: p.run(up[s], gyr[s]), lambda p, i: p.step(up[i], gyr[i])),
    }  # fmt: skip
    for name, (make, run, step) in makers.items():
        whole = np.asarray(run(make(), slice(None)), dtype=float)
        one = make()
        stepped = np.array([np.asarray(step(one, i), dtype=float) for i in range(len(acc))]).reshape(whole.shape)
        np.testing.assert_allclose(stepped, whole, rtol=0, atol=1e-9, err_msg=name)
        blocked = make()
        again = np.concatenate([np.asarray(run(blocked, s), dtype=float).reshape(-1, *whole.shape[1:]) for s in cuts])
        np.testing.assert_allclose(again, whole, rtol=0, atol=1e-9, err_msg=name)


def test_activity_primitives_measure_what_they_say():
    from tracker.analysis.steps.activity import HeldPoses, StepCadence
    from tracker.analysis.steps.windows import TrailingSums

    np.testing.assert_allclose(TrailingSums(3).run(np.arange(6.0)), [0.0, 0.5, 1.0, 2.0, 3.0, 4.0])
    t = np.arange(0.0, 20.0, 1 / RATE)
    rms, cadence = StepCadence(RATE).run(9.81 + 2.0 * np.sin(2 * np.pi * 1.8 * t))
    assert rms[-1] == pytest.approx(2.0 / np.sqrt(2), rel=0.15) and cadence[-1] == pytest.approx(1.8, abs=0.3)
    still, _ = StepCadence(RATE).run(np.full(len(t), 9.81))
    assert still.max() < 1e-9
    # standing, then lying on the back (-90), then folded over (+100): 190 degrees apart
    angle = np.radians(np.repeat([0.0, -90.0, 100.0], 250))
    up = np.column_stack([np.sin(angle), np.zeros(len(angle)), np.cos(angle)])
    turning = np.zeros((len(angle), 3))
    turning[245:255, 1] = turning[495:505, 1] = 1.0  # rad/s: moving from one pose to the next
    rng = HeldPoses(RATE).run(up, turning)
    assert rng[200] == 0.0 and rng[450] == pytest.approx(90.0) and rng[-1] == pytest.approx(190.0)
@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 80), min_size=1, max_size=8), st.integers(1, 40), st.integers(1, 3))
def test_trailing_sums_are_the_same_to_the_bit_however_the_samples_arrive(sizes, n, channels):
    """`TrailingSums` keeps block prefix sums: `run` on any cut into blocks, mixed with `step`
    calls, gives what one `run` on the whole gives, to the bit, and that is the mean of the last
    n values (fewer at the start)."""
    from tracker.analysis.steps.windows import TrailingSums

    x = 9.81 + np.random.default_rng(n).normal(size=(257, channels))
    whole = TrailingSums(n, channels).run(x)
    brute = np.array([x[max(0, k - n + 1) : k + 1].mean(axis=0) for k in range(len(x))])
    np.testing.assert_allclose(whole, brute, rtol=0, atol=1e-12)
    mixed, got = TrailingSums(n, channels), []
    for i, s in enumerate(_cuts(len(x), sizes)):
        if i % 2:
            got += [mixed.step_values(row.tolist()) for row in x[s]]
        else:
            got += mixed.run(x[s]).tolist()
    np.testing.assert_array_equal(np.array(got), whole)
    one = TrailingSums(n)
    np.testing.assert_array_equal([one.step1(v) for v in x[:, 0]], TrailingSums(n).run(x[:, 0]))


def test_trailing_sums_do_not_drift_over_two_hours():
    """Two hours at the analysis rate of a specific force with a sensor's noise on it (the quiet
    detector compares a 3-sample mean with the sample itself): the last windows are their exact
    means to within a few units in the last place, as on the first minute. One cumulative sum
    from the start would be off by about 1e-10 by then (its total has grown to millions)."""
    import math

    from tracker.analysis.steps.windows import TrailingSums

    x = 9.81 + 1e-3 * np.random.default_rng(3).normal(size=2 * 3600 * 25)
    for n in (3, 500):
        got = TrailingSums(n).run(x)
        for k in (*range(600, 700), *range(len(x) - 100, len(x))):
            assert abs(got[k] - math.fsum(x[k - n + 1 : k + 1]) / n) < 1e-13, (n, k)


# --- the gyro-free orientation stage (accelerometer only) ------------------------------------------
def _tilting(n: int, rate: float, seed: int = 7) -> np.ndarray:
    """(n, 3) specific force of a sensor pitching by 20° and back about its y axis, with a
    heartbeat-like knock and noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    pitch = np.radians(20.0) * np.sin(2 * np.pi * 0.1 * t)
    acc = 9.80665 * np.column_stack([np.sin(pitch), np.zeros(n), np.cos(pitch)])
    acc[:, 0] += 0.05 * np.sin(2 * np.pi * 9.0 * t) + 0.02 * rng.normal(size=n)
    return acc


@settings(max_examples=25, deadline=None)
@given(blocks)
def test_tilt_stage_and_its_parts_do_not_depend_on_blocks(sizes):
    acc = _tilting(400, 100.0)
    whole = TiltOrientation(100.0).run(acc)
    stage = TiltOrientation(100.0)
    parts = [stage.run(acc[s]) for s in _cuts(len(acc), sizes)]
    for field in ("up_sensor", "gyr_rad_s", "rest", "bias_rad_s"):
        np.testing.assert_allclose(
            np.concatenate([getattr(p, field) for p in parts]), getattr(whole, field), atol=1e-12
        )
    one = TiltOrientation(100.0)
    np.testing.assert_allclose(np.array([one.step_one(a) for a in acc]), whole.up_sensor, atol=1e-12)
    lp, lp2 = OnePoleCascade(2.0, 100.0), OnePoleCascade(2.0, 100.0)
    np.testing.assert_allclose(
        np.concatenate([lp2.run(acc[s]) for s in _cuts(len(acc), sizes)]), lp.run(acc), atol=1e-12
    )
    st_, st2 = AccelStillness(50, 0.03), AccelStillness(50, 0.03)
    np.testing.assert_array_equal(np.concatenate([st2.run(acc[s]) for s in _cuts(len(acc), sizes)]), st_.run(acc))


def test_one_pole_cascade_is_the_textbook_recursion():
    x = np.random.default_rng(8).normal(size=(200, 2)) + [1.0, -3.0]
    got = OnePoleCascade(1.5, 50.0, order=2).run(x)
    a = np.exp(-2 * np.pi * 1.5 / 50.0)
    s1, s2, want = x[0].copy(), x[0].copy(), []
    for v in x:
        s1 = (1 - a) * v + a * s1
        s2 = (1 - a) * s1 + a * s2
        want.append(s2.copy())
    np.testing.assert_allclose(got, np.array(want), atol=1e-12)
    assert OnePoleCascade(1.5, 50.0).delay_s == pytest.approx(2 / (2 * np.pi * 1.5))


def test_tilt_stage_finds_up_and_the_rotation_it_shows():
    """Up is gravity's direction within a quarter of a degree once the stage has settled (its
    lag accounted for; the low-pass takes half a percent off a 0.1 Hz swing); the rate it reports is the pitching about y, and none about gravity; no
    gyroscope, so no bias."""
    rate = 100.0
    acc = _tilting(3000, rate)
    out = TiltOrientation(rate).run(acc)
    t = np.arange(3000) / rate
    delay = TiltOrientation(rate).delay_s
    pitch = np.radians(20.0) * np.sin(2 * np.pi * 0.1 * (t - delay))
    want = np.column_stack([np.sin(pitch), np.zeros_like(t), np.cos(pitch)])
    err = np.degrees(np.arccos(np.clip(np.sum(out.up_sensor * want, axis=1), -1, 1)))
    assert err[500:].max() < 0.25
    # up turning toward +x is the body turning the other way about y
    rate_y = -np.radians(20.0) * 2 * np.pi * 0.1 * np.cos(2 * np.pi * 0.1 * (t - delay))
    # (a derivative of the filtered noise, sample by sample: within 2 °/s; its 0.25 s mean closer)
    np.testing.assert_allclose(out.gyr_rad_s[500:, 1], rate_y[500:], atol=0.035)
    k = np.ones(25) / 25
    np.testing.assert_allclose(
        np.convolve(out.gyr_rad_s[:, 1], k, "valid")[500:], np.convolve(rate_y, k, "valid")[500:], atol=0.008
    )
    assert np.abs(np.sum(out.gyr_rad_s * out.up_sensor, axis=1)).max() < 1e-9
    assert np.isnan(out.bias_rad_s).all() and TiltOrientation(rate).bias_estimate() is None


def test_accelerometer_stillness_windows():
    """Still: the acceleration's variance over the window within the tolerance; the knock of a
    movement breaks it for as long as it is in the window, and nothing is still before the
    first window is full."""
    rate = 50.0
    rng = np.random.default_rng(9)
    acc = np.tile([0.0, 0.0, 9.81], (500, 1)) + 0.005 * rng.normal(size=(500, 3))
    acc[200:225, 0] += 0.5 * np.sin(np.linspace(0, 2 * np.pi, 25))
    still = AccelStillness(int(rate), 0.03).run(acc)
    assert not still[:49].any() and still[49:200].all()
    # (a window holding only the knock's first or last few small samples may still pass)
    assert not still[205:268].any() and still[274:].all()


def test_accelerometer_stillness_is_the_windows_variance_far_from_where_it_started():
    """The variance comes from trailing sums about the first sample seen: after the sensor has
    turned over (gravity on another axis, the sums' values ~10 m/s² from that reference) it is
    still the variance of each window (checked against numpy's, away from the threshold), the
    same to the bit in blocks of any size (the live analysis's short blocks go sample by sample
    on plain floats), and the short path's up and rate agree with the long one's."""
    rate, n, tol = 50.0, 50, 0.03
    rng = np.random.default_rng(12)
    turn = np.clip((np.arange(1500) - 300) / 100.0, 0.0, 1.0) * np.pi / 2  # lies on its side after
    acc = 9.81 * np.column_stack([np.sin(turn), np.zeros(1500), np.cos(turn)])
    acc += rng.normal(size=(1500, 3)) * np.where(np.arange(1500) % 400 < 200, 0.004, 0.03)[:, None]
    still = AccelStillness(n, tol).run(acc)
    var = np.array([acc[k - n + 1 : k + 1].var(axis=0).sum() for k in range(n - 1, len(acc))])
    clear = np.abs(var - tol**2) > 1e-9
    np.testing.assert_array_equal(still[n - 1 :][clear], (var <= tol**2)[clear])
    # quiet (4 mm/s² per axis) for 200 samples, then noisy (30 mm/s²) for 200, on its side from 400
    assert not still[: n - 1].any() and still[450:600].all() and still[1250:1400].all()
    assert not still[1050:1200].any()
    for sizes in ([1], [3, 40], [16, 17]):
        parts = AccelStillness(n, tol)
        np.testing.assert_array_equal(np.concatenate([parts.run(acc[s]) for s in _cuts(len(acc), sizes)]), still)
    whole = TiltOrientation(rate).run(acc)
    short = TiltOrientation(rate)
    got = [short.run(acc[s]) for s in _cuts(len(acc), [4])]
    np.testing.assert_array_equal(np.concatenate([g.rest for g in got]), whole.rest)
    for field in ("up_sensor", "gyr_rad_s"):
        np.testing.assert_allclose(np.concatenate([getattr(g, field) for g in got]), getattr(whole, field), rtol=0, atol=1e-12)
