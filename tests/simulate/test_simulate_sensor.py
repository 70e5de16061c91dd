"""The sensor model: rates, noise, quantisation to int16 counts, packet loss."""

from __future__ import annotations

import numpy as np
import pytest

from tracker.protocol import spec
from tracker.simulate import (
    Segment,
    SensorModel,
    SessionScript,
    drop_packets,
    random_script,
    simulate_session,
)


@pytest.fixture(scope="module")
def script():
    return random_script(30, posture="mixed", duration_s=90)


@pytest.mark.parametrize("rate", [25.0, 50.0, 100.0, 200.0, 400.0])
def test_rates_noise_and_counts(script, rate):
    sim = simulate_session(script, seed=30, sampling_rate_hz=rate)
    rec = sim.recording
    n = int(np.floor(script.duration_s * rate + 1e-9)) + 1
    assert len(rec) == n == len(sim.truth.t_s)
    np.testing.assert_allclose(np.diff(rec.t_s), 1.0 / rate)
    assert rec.sampling_rate_hz == rate
    # counts are the raw int16 words; the recording is exactly counts * scale
    assert sim.counts.dtype == np.int16 and sim.counts.shape == (n, 6)
    assert np.array_equal(
        rec.acc_m_s2, sim.counts[:, :3].astype(float) * spec.accel_scale_m_s2(sim.accel_range_g)
    )
    assert np.array_equal(
        rec.gyr_rad_s, sim.counts[:, 3:].astype(float) * spec.gyro_scale_rad_s(sim.gyro_range_dps)
    )
    # white noise with a fixed density: rms grows with sqrt(rate)
    model = SensorModel()
    resid_acc = rec.acc_m_s2 - sim.ideal_acc_m_s2 - sim.truth.accel_bias_m_s2
    resid_gyr = rec.gyr_rad_s - sim.ideal_gyr_rad_s - sim.truth.gyro_bias_rad_s
    q_acc = spec.accel_scale_m_s2(sim.accel_range_g) ** 2 / 12  # quantisation adds LSB^2/12
    q_gyr = spec.gyro_scale_rad_s(sim.gyro_range_dps) ** 2 / 12
    expect_acc = np.sqrt(model.accel_noise_density**2 * rate / 2 + q_acc)
    expect_gyr = np.sqrt(model.gyro_noise_density**2 * rate / 2 + q_gyr)
    assert resid_acc.std() == pytest.approx(expect_acc, rel=0.08)
    assert resid_gyr.std() == pytest.approx(expect_gyr, rel=0.08)


def test_noise_level_at_100_hz_is_the_documented_one(script):
    sim = simulate_session(script, seed=1, sampling_rate_hz=100.0)
    resid = sim.recording.acc_m_s2 - sim.ideal_acc_m_s2 - sim.truth.accel_bias_m_s2
    assert resid.std() == pytest.approx(0.02, rel=0.08)
    resid = sim.recording.gyr_rad_s - sim.ideal_gyr_rad_s - sim.truth.gyro_bias_rad_s
    assert resid.std() == pytest.approx(0.003, rel=0.1)


def test_ranges_and_clipping():
    # a fast stand-up with a 2 g range saturates nothing at rest but reports what it clips
    script = SessionScript(segments=(Segment("stand", 3.0),))
    sim = simulate_session(script, seed=2, sensor=SensorModel(accel_range_g=2, gyro_range_dps=125))
    assert sim.clipped == 0
    assert sim.recording.source["accel_range_g"] == 2
    np.testing.assert_allclose(
        np.linalg.norm(sim.recording.acc_m_s2, axis=1).mean(), 9.80665, atol=0.08
    )
    with pytest.raises(Exception, match="not sensor settings"):
        simulate_session(script, seed=2, sensor=SensorModel(accel_range_g=3))


def test_packet_loss_drops_whole_packets_in_bursts(script):
    full = simulate_session(script, seed=3, sampling_rate_hz=100.0)
    lossy = drop_packets(
        full, loss_fraction=0.1, mean_burst_packets=3.0, samples_per_packet=10, rng=7
    )
    n = len(full.recording)
    kept = lossy.sample_index
    assert 0.04 < 1 - len(kept) / n < 0.2
    assert np.all(np.diff(kept) > 0)
    # t_s and samples come from the full stream: never invented, gaps show in t_s
    np.testing.assert_allclose(lossy.recording.t_s, kept / 100.0)
    assert np.array_equal(lossy.counts, full.counts[kept])
    assert np.array_equal(lossy.recording.acc_m_s2, full.recording.acc_m_s2[kept])
    lost = np.setdiff1d(np.arange(n), kept)
    packets = np.unique(lost // 10)
    assert np.array_equal(
        np.sort(lost),
        np.sort(np.concatenate([np.arange(p * 10, min(n, p * 10 + 10)) for p in packets])),
    )
    # bursts: more lost packets have a lost neighbour than independent losses would give
    assert np.mean(np.diff(packets) == 1) > 0.4
    assert lossy.recording.source["lost_samples"] == len(lost)
    # the convenience flag does the same inside simulate_session
    sim = simulate_session(script, seed=3, packet_loss=0.05)
    assert len(sim.recording) < n and sim.truth.t_s.shape == (n,)


def test_calibration_attached_on_request(script):
    sim = simulate_session(script, seed=4, attach_calibration=True)
    assert sim.recording.calibration is not None
    np.testing.assert_allclose(sim.recording.calibration.sensor_to_body, sim.truth.sensor_to_body)
    assert simulate_session(script, seed=4).recording.calibration is None
    fixed = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])
    assert np.array_equal(
        simulate_session(script, seed=4, sensor_to_body=fixed).truth.sensor_to_body, fixed
    )
    with pytest.raises(Exception, match="rotation matrix"):
        simulate_session(script, seed=4, sensor_to_body=np.eye(3) * 2)
