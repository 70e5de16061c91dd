"""`BridgeSegmenter` against synthetic physics: raised-cosine movements of the body, a slowly
varying tilt error, white noise. Truth is the movements put in."""

from __future__ import annotations

import numpy as np
import pytest

from tracker.analysis.bridge import BridgeSegmenter

RATE_HZ = 25.0


def _signal(moves, duration_s, *, bias_m_s2=-0.02, noise_m_s2=0.01, seed=0):
    """Along-spine acceleration for body moves [(start_s, duration_s, body_m)]."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, duration_s, 1.0 / RATE_HZ)
    acc = np.full(len(t), bias_m_s2) + 0.004 * np.sin(2 * np.pi * t / 90.0)
    for start, dur, body_m in moves:
        u = (t - start) / dur
        inside = (u >= 0) & (u < 1)
        acc[inside] += 2 * np.pi * body_m / dur**2 * np.sin(2 * np.pi * u[inside])
    return t, acc + noise_m_s2 * rng.standard_normal(len(t))


def test_finds_slow_and_fast_strokes_with_their_distance_and_no_move_in_holds():
    # contact cm = body / 2, toward the hips when the body moves toward the head
    moves = [
        (10.0, 6.0, 0.20),  # 10 cm of contact at 1.7 cm/s
        (16.5, 6.0, -0.20),
        (40.0, 2.0, 0.30),  # fast: 15 cm at 7.5 cm/s
        (42.4, 2.0, -0.30),
        (80.0, 12.0, 0.40),  # 20 cm at 1.7 cm/s
    ]
    t, acc = _signal(moves, 120.0)
    seg = BridgeSegmenter().fit(t, acc)
    assert len(seg.moves_) == len(moves)
    for found, (start, dur, body_m) in zip(seg.moves_, moves, strict=True):
        assert found.start_s == pytest.approx(start, abs=0.4)
        assert found.duration_s == pytest.approx(dur, rel=0.1)
        # a 2 s stroke spans 10 steps of the 0.2 s grid (distance good to ~15 % there); the
        # refinement of each start and end on a 25 Hz grid brings it to a few %
        rel = 0.08 if dur <= 2.0 else 0.15
        assert found.contact_cm == pytest.approx(-50.0 * body_m, rel=rel)
        if dur <= 2.0:
            assert found.duration_s == pytest.approx(dur, rel=0.05)
    # the track is flat between the moves (holds) and ends at the sum of the moves
    track = seg.contact_cm_
    assert np.ptp(track[(t > 50) & (t < 79)]) < 0.5
    assert track[-1] == pytest.approx(sum(-50.0 * m[2] for m in moves), abs=2.0)


def test_a_still_recording_has_no_moves():
    t, acc = _signal([], 120.0, seed=3)
    assert BridgeSegmenter().fit(t, acc).moves_ == []


def test_a_change_of_pitch_is_not_a_stroke():
    # lifting the hips: a quick move that turns the torso by 12 degrees
    t, acc = _signal([(20.0, 1.5, 0.1)], 60.0, seed=4)
    pitch = np.radians(np.where(t < 20.0, 20.0, np.where(t > 21.5, 8.0, 20.0 - 8.0 * (t - 20.0))))
    assert BridgeSegmenter().fit(t, acc, pitch_rad=pitch).moves_ == []
    assert len(BridgeSegmenter().fit(t, acc).moves_) == 1


def _vqf_gravity_free(acc_x_m_s2, tau_s, rate_hz=RATE_HZ):
    """A sensor lying still (z up) that translates along x: the x acceleration left after
    removing gravity with VQF's inclination (as the analysis does)."""
    from tracker.analysis.signals import OrientationEstimator
    from tracker.imu import STANDARD_GRAVITY_M_S2

    n = len(acc_x_m_s2)
    acc = np.zeros((n, 3))
    acc[:, 0] = acc_x_m_s2
    acc[:, 2] = STANDARD_GRAVITY_M_S2
    est = OrientationEstimator(tau_acc_s=tau_s, motion_bias_estimation=False).estimate(
        acc, np.zeros((n, 3)), rate_hz
    )
    return acc[:, 0] - STANDARD_GRAVITY_M_S2 * est.up_sensor_[:, 0]


@pytest.mark.parametrize("duration_s", [4.0, 12.0])
def test_tilt_filter_gain_is_what_vqf_does_to_one_movement(duration_s):
    from tracker.analysis.bridge import tilt_filter_gain

    tau = 10.0
    t = np.arange(0.0, 60.0 + duration_s, 1.0 / RATE_HZ)
    u = (t - 60.0) / duration_s
    inside = (u >= 0) & (u < 1)
    acc = np.where(inside, 0.05 * np.sin(2 * np.pi * u), 0.0)
    measured = _vqf_gravity_free(acc, tau)
    fitted = 2.0 * np.mean(measured[inside] * np.sin(2 * np.pi * u[inside]))
    assert fitted / 0.05 == pytest.approx(tilt_filter_gain(duration_s / tau), abs=0.005)
    assert tilt_filter_gain(duration_s / tau) > 1.0


def test_slow_stroke_distance_is_corrected_for_the_tilt_filter():
    # a 12 s stroke of 20 cm of contact: VQF's tilt follows its acceleration and inflates the
    # fitted distance by ~15 % (tau 10 s); with the filter's time constant given, most of it
    # is taken out
    moves = [(30.0, 12.0, 0.40)]
    t, clean = _signal(moves, 90.0, bias_m_s2=0.0, noise_m_s2=0.0)
    acc = _vqf_gravity_free(clean, 10.0) + 0.005 * np.random.default_rng(7).standard_normal(len(t))
    plain = BridgeSegmenter().fit(t, acc).moves_
    corrected = BridgeSegmenter(tilt_tau_s=10.0).fit(t, acc).moves_
    assert len(plain) == len(corrected) == 1
    assert abs(plain[0].contact_cm) > 1.1 * 20.0
    # the amplitude is corrected; what remains (~6 %) is the filter's tail stretching the
    # best-fitting window by about half a second
    assert abs(corrected[0].contact_cm) == pytest.approx(20.0, rel=0.08)
    assert abs(corrected[0].contact_cm) < abs(plain[0].contact_cm) - 1.0
