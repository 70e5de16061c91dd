"""`PmdStreamDecoder`: PMD frames to timed SI samples, with gaps, duplicates, broken frames,
a restarted clock, and a Verity Sense's two streams aligned as `align_streams` would."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.imu import align_streams
from tracker.protocol import pmd, pmd_sensor
from tracker.protocol.pmd_stream import PmdStreamDecoder

T0 = 599_616_000_000_000_000  # an H10's default time, 2019-01-01
MG = pmd.MILLI_G_M_S2


def acc_frames(n_frames, per_frame=20, rate=100, start_index=0, t0=T0, phase=0.0, gyro=False, delta=False):
    """(payloads, sample times ns, ints) of consecutive frames: raw type 1 ACC (an H10's), or
    delta-compressed type 0 ACC (`delta`) or GYRO (`gyro`) (a Verity Sense's)."""
    period = 1e9 / rate
    payloads, times, values = [], [], []
    for f in range(n_frames):
        idx = np.arange(start_index + f * per_frame, start_index + (f + 1) * per_frame)
        t = [t0 + round((i + phase) * period) for i in idx]
        ints = np.column_stack([idx % 50 - 25, -(idx % 7), 1000 + idx % 11]).astype(int)
        if gyro or delta:
            name = "GYRO" if gyro else "ACC"
            payloads.append(pmd_sensor.encode_frame(name, t[-1], 0, ints.tolist(), compressed=True))
        else:
            payloads.append(pmd_sensor.encode_frame("ACC", t[-1], 1, ints.tolist()))
        times += t
        values.append(ints)
    return payloads, np.array(times, np.int64), np.concatenate(values)


def h10_decoder(**kw):
    return PmdStreamDecoder(("ACC",), {"ACC": {"sample_rate": 100, "factor": 1.0}}, **kw)


def test_h10_frames_become_accelerometer_only_si_samples():
    payloads, times, ints = acc_frames(10)
    dec = h10_decoder()
    blocks = [dec.feed(p, i * 0.2) for i, p in enumerate(payloads)]
    assert all(b is not None and len(b) == 20 for b in blocks)
    rec = dec.to_recording()
    assert not rec.has_gyro and np.isnan(rec.gyr_rad_s).all()
    np.testing.assert_array_equal(rec.acc_m_s2, ints * MG)
    # the first frame by the sample rate, the others by the SDK's rule: the sensor's own times
    np.testing.assert_allclose(rec.t_s, (times - times[0]) / 1e9, atol=1e-9)
    assert dec.stats.samples == 200 and dec.stats.lost_samples == 0 and dec.stats.malformed_total == 0


def test_a_lost_frame_is_a_gap_not_stretched_samples():
    payloads, times, _ = acc_frames(6)
    dec = h10_decoder()
    for i, p in enumerate(payloads):
        if i != 3:
            dec.feed(p, i * 0.2)
    rec = dec.to_recording()
    kept = np.concatenate([times[:60], times[80:]])
    np.testing.assert_allclose(rec.t_s, (kept - kept[0]) / 1e9, atol=1e-6)
    assert dec.stats.lost_samples == 20 and dec.stats.gaps == 1


def test_duplicates_and_late_frames_are_dropped_and_counted():
    payloads, _, _ = acc_frames(4)
    dec = h10_decoder()
    for p in [payloads[0], payloads[1], payloads[1], payloads[2], payloads[0], payloads[3]]:
        dec.feed(p, 0.0)
    assert dec.stats.duplicates == 1 and dec.stats.out_of_order == 1
    assert dec.samples_kept == 80


def test_broken_frames_are_counted_and_logged_with_their_hex_never_raised(caplog):
    payloads, _, _ = acc_frames(3)
    good = payloads[1]
    broken = [
        b"",  # nothing
        good[:9],  # cut inside the header
        bytes([0x02]) + good[1:9] + bytes([0x7F]) + good[10:],  # frame type 127
        bytes([0x00]) + good[1:],  # an ECG frame tracker did not start
        bytes([0x05]) + good[1:9] + bytes([0x80]) + good[10:20],  # gyro on an H10 stream
        bytes([0x02]) + good[1:9] + bytes([0x83]) + good[10:],  # ACC delta type 3: the SDK reads none
    ]
    dec = h10_decoder()
    with caplog.at_level(logging.WARNING, logger="tracker.protocol.pmd_stream"):
        dec.feed(payloads[0], 0.0)
        for b in broken:
            assert dec.feed(b, 0.1) is None
        dec.feed(payloads[1][:-5], 0.2)  # cut short: its complete samples are kept
        dec.feed(payloads[2], 0.3)
    st_ = dec.stats
    assert st_.malformed == {"too_short": 2, "unsupported_frame": 2, "unexpected_measurement": 2}
    assert st_.cut_frames == 1 and dec.samples_kept == 20 + 19 + 20
    assert st_.packets == 3 + len(broken)
    assert any(good[1:9].hex() in r.getMessage() for r in caplog.records)  # the bytes, as hex


def test_frames_before_the_settings_are_held_then_decoded():
    payloads, times, ints = acc_frames(3)
    dec = PmdStreamDecoder(("ACC",))
    assert all(dec.feed(p, 0.0) is None for p in payloads)
    assert dec.samples_kept == 0 and dec.stats.held == 3
    dec.stream_started({"pmd": {"ACC": {"sample_rate": 100, "factor": 1.0, "range": 8}}})
    np.testing.assert_array_equal(dec.to_recording().acc_m_s2, ints * MG)


def test_a_restarted_sensor_clock_starts_a_new_segment_by_host_time():
    first, _, _ = acc_frames(3)
    again, _, _ = acc_frames(3, t0=T0 - 3_600 * 10**9)  # the H10 restarted at its default time
    dec = h10_decoder()
    for i, p in enumerate(first):
        dec.feed(p, 0.2 * i)
    for i, p in enumerate(again):
        dec.feed(p, 10.0 + 0.2 * i)  # 10 s of host time later
    rec = dec.to_recording()
    assert dec.stats.clock_resets == 1 and len(rec) == 120
    assert np.all(np.diff(rec.t_s) > 0)
    jump = rec.t_s[60] - rec.t_s[59]
    assert 9.0 < jump < 11.0


def test_verity_streams_are_aligned_on_the_accelerometer_timeline():
    rate = 52
    acc, acc_t, acc_ints = acc_frames(12, per_frame=13, rate=rate, delta=True)
    gyr, gyr_t, gyr_ints = acc_frames(12, per_frame=13, rate=rate, phase=0.5, gyro=True)
    factor_g, factor_dps = 8 / 32768, 2000 / 32768
    dec = PmdStreamDecoder(
        ("ACC", "GYRO"),
        {"ACC": {"sample_rate": rate, "factor": factor_g}, "GYRO": {"sample_rate": rate, "factor": factor_dps}},
    )
    order = [p for pair in zip(acc, gyr, strict=True) for p in pair]
    for i, p in enumerate(order):
        dec.feed(p, 0.125 * i)
    rec = dec.to_recording()
    # the same as aligning the whole streams at once
    a_si = np.trunc(acc_ints * np.float32(factor_g * 1000)) * MG
    g_si = np.radians(gyr_ints * factor_dps)
    t_expect, a_expect, g_expect = align_streams((acc_t - acc_t[0]) / 1e9, a_si, (gyr_t - acc_t[0]) / 1e9, g_si)
    t0 = (acc_t[1] - acc_t[0]) / 1e9  # acc sample 0 comes before the first gyro sample: dropped
    np.testing.assert_allclose(rec.t_s + t0, t_expect, atol=1e-6)
    np.testing.assert_allclose(rec.acc_m_s2, a_expect, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(rec.gyr_rad_s, g_expect, rtol=1e-6, atol=1e-6)
    assert rec.has_gyro and dec.stats.unaligned == 12 * 13 - len(rec)


@settings(max_examples=40, deadline=None)
@given(chunks=st.lists(st.integers(1, 20), min_size=2, max_size=12), seed=st.integers(0, 1000))
def test_incremental_alignment_equals_aligning_everything_at_once(chunks, seed):
    """Any interleaving of ACC and GYRO frames of any sizes gives the batch alignment."""
    rng = np.random.default_rng(seed)
    rate, period = 52, 1e9 / 52
    dec = PmdStreamDecoder(("ACC", "GYRO"), {"ACC": {"sample_rate": rate}, "GYRO": {"sample_rate": rate}})
    frames, all_t = [], {"ACC": [], "GYRO": []}
    vals = {"ACC": [], "GYRO": []}
    for name, phase in (("ACC", 0.0), ("GYRO", 0.3)):
        k = 0
        for n in chunks:
            idx = np.arange(k, k + n)
            t = [T0 + round((i + phase) * period) for i in idx]
            ints = rng.integers(-500, 500, (n, 3))
            frames.append((t[-1], name, pmd_sensor.encode_frame(name, t[-1], 0, ints.tolist(), compressed=True)))
            all_t[name] += t
            vals[name].append(ints)
            k += n
    frames.sort(key=lambda f: (f[0], f[1]))  # arrival in time order of their last sample
    for _, _, payload in frames:
        dec.feed(payload, 0.0)
    rec = dec.to_recording()
    a = np.concatenate(vals["ACC"]) * 1000 * MG
    g = np.radians(np.concatenate(vals["GYRO"]).astype(float))
    origin = min(all_t["ACC"][0], all_t["GYRO"][0])
    t_exp, a_exp, g_exp = align_streams(
        (np.array(all_t["ACC"]) - origin) / 1e9, a, (np.array(all_t["GYRO"]) - origin) / 1e9, g
    )
    if not len(t_exp):
        assert len(rec) == 0
        return
    np.testing.assert_allclose(rec.t_s, t_exp - t_exp[0], atol=2e-6)
    np.testing.assert_allclose(rec.acc_m_s2, a_exp, atol=1e-9)
    np.testing.assert_allclose(rec.gyr_rad_s, g_exp, atol=1e-6)


def test_a_verity_whose_gyro_never_streamed_is_accelerometer_only():
    acc, _, _ = acc_frames(3, per_frame=13, rate=52, delta=True)
    dec = PmdStreamDecoder(("ACC", "GYRO"), {"ACC": {"sample_rate": 52, "factor": 0.001}, "GYRO": {"sample_rate": 52}})
    for p in acc:
        assert dec.feed(p, 0.0) is None  # waiting for gyro samples that never come
    rec = dec.to_recording()
    assert len(rec) == 39 and not rec.has_gyro
    assert "accelerometer-only" in " ".join(rec.source["notes"])


def test_kinds_and_bad_arguments():
    assert PmdStreamDecoder.for_kind("polar-verity").measurements == ("ACC", "GYRO")
    assert PmdStreamDecoder.for_kind("polar-h10", {"pmd": {"ACC": {"sample_rate": 200}}}).sample_rate_hz == 200
    with pytest.raises(ValueError):
        PmdStreamDecoder.for_kind("tracker-imu")
    with pytest.raises(ValueError):
        PmdStreamDecoder(("GYRO",))


def test_feeding_a_batch_equals_feeding_one_at_a_time():
    """Replay decodes a capture in batches (aligning once per batch); live feeds frame by frame."""
    rate = 52
    acc, _, _ = acc_frames(20, per_frame=13, rate=rate, delta=True)
    gyr, _, _ = acc_frames(20, per_frame=13, rate=rate, phase=0.5, gyro=True)
    frames = [p for pair in zip(acc, gyr, strict=True) for p in pair]
    settings = {"ACC": {"sample_rate": rate, "factor": 8 / 32768}, "GYRO": {"sample_rate": rate, "factor": 0.06}}
    one, batch = PmdStreamDecoder(("ACC", "GYRO"), settings), PmdStreamDecoder(("ACC", "GYRO"), settings)
    for i, p in enumerate(frames):
        one.feed(p, 0.1 * i)
    block = batch.feed_many(frames[:17], 0.1 * np.arange(17))
    batch.feed_many(frames[17:], 0.1 * np.arange(17, len(frames)))
    a, b = one.to_recording(), batch.to_recording()
    assert block is not None and len(block) > 0
    np.testing.assert_array_equal(a.t_s, b.t_s)
    np.testing.assert_array_equal(a.acc_m_s2, b.acc_m_s2)
    np.testing.assert_array_equal(a.gyr_rad_s, b.gyr_rad_s)
