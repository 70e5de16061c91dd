"""The live session calls some primitives once per analysis-rate sample on plain floats, where
offline calls them on arrays: each per-sample form gives the array form's numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tracker.analysis.kinematics import (
    MIN_PITCH_RAD,
    RollerDiameter,
    RollerDiameterTracker,
    hips_down_position_at,
    hips_down_position_cm,
    roller_diameter,
)
from tracker.analysis.posture import PostureSegmenter
from tracker.analysis.steps.filters import Butterworth
from tracker.analysis.steps.orientation import up_from_quaternion
from tracker.analysis.steps.windows import LowestMean
from tracker.live.account import median


def test_median_is_numpys():
    rng = np.random.default_rng(1)
    for n in range(1, 120):
        values = rng.normal(size=n).round(rng.integers(0, 3)).tolist()  # ties too
        assert median(values) == float(np.median(values)), n
    assert math.isnan(median([1.0, math.nan, 2.0])) and math.isnan(median([]))


def test_hips_down_position_of_one_pitch_is_the_arrays():
    pitch = np.concatenate([np.linspace(-0.2, 1.4, 400), [MIN_PITCH_RAD, np.nextafter(MIN_PITCH_RAD, 0.0)]])
    got = np.array([hips_down_position_at(float(p), 15.0) for p in pitch])
    np.testing.assert_array_equal(got, hips_down_position_cm(pitch, 15.0))
    assert math.isnan(hips_down_position_at(math.nan, 15.0))


def test_motion_weight_of_two_floats_is_the_arrays():
    ps = PostureSegmenter()
    rng = np.random.default_rng(2)
    q_a, q_t = rng.uniform(0, 0.3, 500), rng.uniform(0, 0.05, 500)
    got = [ps.motion_weight(float(a), float(t)) for a, t in zip(q_a, q_t, strict=True)]
    np.testing.assert_array_equal(got, ps.motion_weight(q_a, q_t))
    assert 0.0 in got and 1.0 in got and any(0.0 < w < 1.0 for w in got)


def test_up_of_a_few_quaternions_is_the_arrays():
    q = np.random.default_rng(3).normal(size=(40, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    whole = up_from_quaternion(q)
    for a in range(0, 40, 4):
        np.testing.assert_array_equal(up_from_quaternion(q[a : a + 4]), whole[a : a + 4])
    assert up_from_quaternion(q[:0]).shape == (0, 3)


@pytest.mark.parametrize("configured", [9.0, 15.0])
def test_the_diameter_used_step_by_step_is_the_recordings_so_far(configured):
    """`RollerDiameterTracker.used_cm` (rebuilt only when it can change) is, after every sample,
    the diameter built afresh from the flattest pitch and the time so far, and what
    `roller_diameter` says of the samples so far (to the rounding of its running means)."""
    rng = np.random.default_rng(4)
    t = np.arange(0, 60, 0.04)
    pitch = np.radians(20 + 8 * np.sin(2 * np.pi * t / 9) - 0.1 * t) + 0.002 * rng.normal(size=len(t))
    inside = (t % 17) > 2
    live = RollerDiameterTracker(25.0, configured, 50.0)
    lowest, count, used = LowestMean(75), 0, []
    for p, h in zip(pitch, inside, strict=True):
        live.step(float(p), bool(h))
        used.append(live.used_cm)
        low, count = lowest.step(float(p), bool(h)), count + int(h)
        assert used[-1] == RollerDiameter.from_pitch(configured, 50.0, low, count / 25.0).used_cm
    for k in (10, 400, 499, 500, 501, 900, len(t) - 1):
        whole = roller_diameter(pitch[: k + 1], inside[: k + 1], 25.0, configured, 50.0)
        assert used[k] == pytest.approx(whole.used_cm, rel=1e-12), k
    assert live.current.hips_down_s == count / 25.0 and live.current.used_cm == used[-1]
    assert len(set(used)) > 2  # the bound moved as flatter pitches came


def test_a_filters_state_round_trips():
    """The state kept as plain floats reads and sets as the (sections, 2) array it was."""
    f = Butterworth(2, (0.05, 1.0), 25.0, "bandpass")
    x = np.random.default_rng(5).normal(size=100)
    f.run(x[:50])
    g = Butterworth(2, (0.05, 1.0), 25.0, "bandpass")
    assert f.zi is not None and f.zi.shape == (2, 2)
    g.zi = f.zi
    np.testing.assert_array_equal(g.run(x[50:]), f.run(x[50:]))


@pytest.mark.parametrize("rate_hz", [100.0, 400.0])
@pytest.mark.parametrize("gyro", [True, False])
def test_the_raw_stage_filters_several_blocks_at_once_as_block_by_block(rate_hz, gyro, monkeypatch):
    """Once the warm start is over, the raw stage runs the orientation filter (VQF, or without
    a gyroscope the tilt stage) over all the decimation blocks of a push in one call: the same
    samples, to the bit, as one block at a time (and the batching does happen)."""
    from tracker.live.raw import LiveOrientation, RawStage
    from tracker.live.tilt import LiveTiltOrientation

    rng = np.random.default_rng(3)
    n = int(90 * rate_hz)
    t = np.arange(n) / rate_hz
    acc = np.array([0.5, 0.3, 9.7]) + 0.3 * np.sin(0.7 * t)[:, None] + 0.05 * rng.standard_normal((n, 3))
    gyr = 0.01 + 0.2 * np.cos(0.5 * t)[:, None] * np.array([1.0, 0.3, -0.5]) + 0.01 * rng.standard_normal((n, 3))

    class Keep:
        def __init__(self):
            self.out = []

        def sample(self, s):
            row = (s.t_s, *s.up, *s.up_slow, *s.acc_m_s2, *s.gyr_rad_s, *s.gyr_raw_rad_s, s.rest, s.bridged)
            self.out.append(tuple("nan" if isinstance(v, float) and math.isnan(v) else v for v in row))

        def redo(self, redo):
            self.out.append(("redo", redo.t_s.tolist(), redo.up.tolist()))

        def long_gap(self, a, b):
            self.out.append(("gap", a, b))

    def run(batch: bool):
        keep = Keep()
        factor = int(rate_hz // 25)
        orientation = LiveOrientation(rate_hz, 25.0, 10.0) if gyro else LiveTiltOrientation(rate_hz)
        raw = RawStage(rate_hz, factor, orientation, keep)
        calls = []
        native = raw.orientation.native
        monkeypatch.setattr(raw.orientation, "native", lambda *a: calls.append(len(a[0])) or native(*a))
        if not batch:
            monkeypatch.setattr(raw.orientation, "batchable", lambda: False)
        g = gyr if gyro else np.full_like(gyr, np.nan)
        for a in range(0, n, 37):
            raw.push(t[a : a + 37], acc[a : a + 37], g[a : a + 37])
        return keep.out, max(calls)

    batched, most = run(True)
    plain, one = run(False)
    assert batched == plain
    assert most > one  # several blocks went through the filter at once
