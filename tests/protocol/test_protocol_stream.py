"""StreamDecoder: gaps, duplicates, order, wraps, resets, drift, malformed packets, fuzzing."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.protocol import packets, spec
from tracker.protocol.stream import StreamDecoder


def _stream(n_samples=4000, rate=400, mtu=23, t0=1_000_000, seed=0):
    rng = np.random.default_rng(seed)
    counts = rng.integers(-20000, 20000, (n_samples, 6)).astype(np.int16)
    pk = packets.encode_stream(counts, rate, mtu, first_timestamp_us=t0)
    spp = spec.samples_per_packet(mtu)
    last = np.minimum(np.arange(len(pk)) * spp + spp, n_samples) - 1
    host = 50.0 + last / rate + rng.uniform(0.004, 0.03, len(pk))
    return counts, pk, host


def _feed_one_by_one(dec, pk, host):
    for p, h in zip(pk, host, strict=True):
        dec.feed(p, h)


@pytest.mark.parametrize("mtu", [23, 100, 247])
def test_clean_stream_is_bit_exact_live_and_batch(mtu):
    counts, pk, host = _stream(mtu=mtu)
    live, batch = StreamDecoder(400), StreamDecoder(400)
    _feed_one_by_one(live, pk, host)
    block = batch.feed_many(pk, host)
    for dec in (live, batch):
        assert np.array_equal(dec.counts(), counts)
        assert np.allclose(dec.t_sensor_s(), np.arange(len(counts)) / 400, atol=1e-9)
        s = dec.stats
        assert (s.samples, s.lost_samples, s.gaps, s.duplicates, s.malformed_total) == (
            len(counts),
            0,
            0,
            0,
            0,
        )
    assert np.allclose(block.acc_m_s2, counts[:, :3] * spec.accel_scale_m_s2(4))
    assert np.allclose(block.gyr_rad_s, counts[:, 3:] * spec.gyro_scale_rad_s(500))


def test_lost_packets_make_a_gap_in_time_and_are_counted():
    counts, pk, host = _stream(mtu=65)  # 4 samples per packet
    keep = [i for i in range(len(pk)) if i not in (10, 11, 12, 500)]
    dec = StreamDecoder(400)
    dec.feed_many([pk[i] for i in keep], host[keep])
    s = dec.stats
    assert (s.gaps, s.lost_packets, s.lost_samples) == (2, 4, 16)
    expected = np.ones(len(counts), bool)
    for i in (10, 11, 12, 500):
        expected[4 * i : 4 * i + 4] = False
    assert np.array_equal(dec.counts(), counts[expected])
    t = dec.t_sensor_s()
    assert np.allclose(t, np.flatnonzero(expected) / 400)
    assert np.isclose(np.diff(t).max(), 13 / 400)


def test_duplicates_and_out_of_order_are_dropped_and_counted():
    counts, pk, host = _stream(n_samples=200)
    order = list(range(200))
    order.insert(50, 49)  # duplicate right away
    order.insert(120, 30)  # a duplicate much later
    order[150], order[151] = order[151], order[150]  # swapped: 151 arrives before 150
    dec = StreamDecoder(400)
    _feed_one_by_one(dec, [pk[i] for i in order], np.sort(host[order]))
    s = dec.stats
    assert s.duplicates == 2 and s.out_of_order == 1
    # the late one cannot be put back in a live stream: it is a 1-sample gap, nothing duplicated
    t = dec.t_sensor_s()
    assert np.all(np.diff(t) > 0) and len(t) == 199 and s.lost_samples == 1


def test_timestamp_wraps_twice_in_a_long_stream():
    # 100 Hz for 2.5 h in 19-sample packets: the µs clock wraps at 71.6 min
    n = 100 * 9000
    counts = np.zeros((n, 6), np.int16)
    pk = packets.encode_stream(counts, 100, 247, first_timestamp_us=2**32 - 10_000_000)
    host = np.arange(len(pk)) * 0.19 + 0.2
    dec = StreamDecoder(100)
    dec.feed_many(pk, host)
    s = dec.stats
    assert s.timestamp_wraps == 3 and s.lost_samples == 0 and s.samples == n
    assert np.allclose(dec.t_sensor_s(), np.arange(n) / 100)


def test_silence_longer_than_half_the_wrap_uses_the_host_clock():
    dec = StreamDecoder(100)
    one = np.zeros((1, 6), np.int16)
    dec.feed(packets.encode_data_packet(0, 1000, one, 0x20), 10.0)
    dec.feed(packets.encode_data_packet(1, 11_000, one), 10.01)
    # the link comes back 80 min later (beyond 2**32 µs); the sensor clock ran on
    later_us = 11_000 + 80 * 60 * 1_000_000
    dec.feed(packets.encode_data_packet(0, later_us, one, 0x20), 10.01 + 80 * 60)
    assert dec.t_sensor_s()[-1] == pytest.approx(80 * 60 + 0.01, abs=1e-6)
    assert dec.stats.lost_samples == 80 * 60 * 100 - 1


def test_sensor_reset_is_placed_after_the_old_stream_by_host_time():
    counts, pk, host = _stream(n_samples=100, mtu=23, t0=50_000_000)
    dec = StreamDecoder(400)
    dec.feed_many(pk, host)
    # the sensor rebooted: its clock restarts near zero, 3 s of host time later
    again = packets.encode_stream(counts[:10], 400, 23, first_timestamp_us=2_000)
    dec.feed_many(again, host[-1] + 3.0 + np.arange(10) / 400)
    s = dec.stats
    assert s.clock_resets == 1 and s.stream_starts == 2 and s.samples == 110
    t = dec.t_sensor_s()
    assert np.all(np.diff(t) > 0)
    assert 2.9 < t[100] - t[99] < 3.1
    # a repeated STREAM_START packet is a duplicate, not a second reset
    dec.feed(again[0], host[-1] + 4.0)
    assert dec.stats.clock_resets == 1 and dec.stats.duplicates == 1


def test_reconnect_with_running_clock_counts_the_link_gap():
    counts, pk, host = _stream(n_samples=800, mtu=23)
    dec = StreamDecoder(400)
    dec.feed_many(pk[:300], host[:300])
    # link down for 1 s; the sensor restarts the stream (sequence 0, STREAM_START), clock runs on
    again = packets.encode_stream(counts[700:], 400, 23, first_timestamp_us=1_000_000 + 700 * 2500)
    dec.feed_many(again, host[700:])
    s = dec.stats
    assert s.lost_samples == 400 and s.gaps == 1 and s.clock_resets == 0 and s.lost_packets == 0
    assert np.array_equal(dec.counts(), np.vstack([counts[:300], counts[700:]]))


def test_sensor_overflow_flag_explains_a_jump():
    one = np.ones((1, 6), np.int16)
    dec = StreamDecoder(100)
    dec.feed(packets.encode_data_packet(0, 0, one, 0x20), 1.0)
    dec.feed(
        packets.encode_data_packet(1, 5_010_000, one, 0x40), 1.01
    )  # 5 s lost inside the sensor
    s = dec.stats
    assert (
        s.sensor_overflows == 1 and s.lost_samples == 500 and s.samples == 2 and s.implausible == 0
    )


def test_a_wild_packet_does_not_swallow_the_stream():
    counts, pk, host = _stream(n_samples=400, mtu=23)
    wild = packets.encode_data_packet(12345, 1_000_000 + 600_000_000, np.ones((1, 6), np.int16))
    stream = pk[:200] + [wild] + pk[200:]
    hosts = np.concatenate([host[:200], [host[199]], host[200:]])
    dec = StreamDecoder(400)
    _feed_one_by_one(dec, stream, hosts)
    assert dec.stats.implausible == 1
    assert np.array_equal(dec.counts(), counts)


@pytest.mark.parametrize("drift_ppm", [40.0, -75.0])
def test_clock_drift_is_recovered_within_a_few_ppm(drift_ppm):
    rate, n = 100, 100 * 600  # 10 minutes
    counts = np.zeros((n, 6), np.int16)
    pk = packets.encode_stream(counts, rate, 23)
    rng = np.random.default_rng(3)
    t_sensor = np.arange(n) / rate
    # one-sided latency: connection events every 15 ms plus queueing, occasionally much more
    latency = 0.003 + rng.exponential(0.010, n) + (rng.random(n) < 0.01) * 0.2
    host = 1000.0 + t_sensor * (1 + drift_ppm * 1e-6) + latency
    dec = StreamDecoder(rate)
    for a in range(0, n, 997):
        dec.feed_many(pk[a : a + 997], host[a : a + 997])
    s = dec.stats
    assert s.drift_trusted and abs(s.drift_ppm - drift_ppm) < 3.0
    rec = dec.to_recording()
    assert rec.t_s[-1] == pytest.approx(t_sensor[-1] * (1 + drift_ppm * 1e-6), abs=1e-4)
    # the first sample was taken at host 1000.0 s; the envelope is within the minimum latency
    assert 1000.0 < dec.host_time_at(0.0) < 1000.0 + 0.0035


def test_compressed_host_time_is_reported_and_not_applied():
    counts = np.zeros((100 * 120, 6), np.int16)
    pk = packets.encode_stream(counts, 100, 247)
    host = np.arange(len(pk)) * 0.019  # streamed 10x faster than real time (demo mode)
    dec = StreamDecoder(100)
    dec.feed_many(pk, host)
    s = dec.stats
    assert not s.drift_trusted and s.drift_ppm < -800_000 and "sensor time kept" in s.drift_note
    assert s.lost_samples == 0 and s.samples == len(counts)
    assert dec.to_recording().t_s[-1] == pytest.approx((len(counts) - 1) / 100)


def test_malformed_packets_are_counted_and_logged_with_hex(caplog):
    counts, pk, host = _stream(n_samples=50, mtu=23)
    bad = {
        5: b"",
        10: pk[10][:11],  # truncated
        15: bytes([9]) + pk[15][1:],  # wrong version
        20: pk[20][:1] + bytes([0]) + pk[20][2:],  # count 0
        25: bytes(range(37)),  # garbage
        30: pk[30] + bytes(5000),  # huge
    }
    stream = [bad.get(i, p) for i, p in enumerate(pk)]
    dec = StreamDecoder(400)
    with caplog.at_level(logging.WARNING, logger="tracker.protocol.stream"):
        _feed_one_by_one(dec, stream, host)
    s = dec.stats
    # the garbage starts with 0x00: a wrong version
    assert s.malformed == {
        "empty": 1,
        "truncated": 1,
        "wrong_version": 2,
        "bad_count": 1,
        "length_mismatch": 1,
    }
    assert s.malformed_total == 6
    assert s.samples == 44 and s.lost_samples == 6
    text = caplog.text
    assert pk[10][:11].hex(" ") in text and "wrong_version" in text and "empty" in text


def test_malformed_logging_is_rate_limited(caplog):
    dec = StreamDecoder(100, log_first=3, log_interval_s=10)
    with caplog.at_level(logging.WARNING, logger="tracker.protocol.stream"):
        for i in range(1500):
            dec.feed(b"\x07junk", i * 0.01)  # 15 s of garbage
    assert dec.stats.malformed == {"truncated": 1500}
    assert 3 <= len(caplog.records) <= 5
    assert "more since the last report" in caplog.records[-1].getMessage()


def test_settings_change_between_streams_scales_each_part():
    dec = StreamDecoder(100, 4, 500)
    one = np.full((1, 6), 1000, np.int16)
    dec.feed(packets.encode_data_packet(0, 0, one, 0x20), 1.0)
    dec.configure(400, 16, 2000)
    dec.feed(packets.encode_data_packet(0, 1_000_000, one, 0x20), 2.0)
    rec = dec.to_recording()
    assert rec.acc_m_s2[:, 0].tolist() == pytest.approx(
        [1000 * spec.accel_scale_m_s2(4), 1000 * spec.accel_scale_m_s2(16)]
    )
    assert rec.sampling_rate_hz == 400 and "settings_segments" in rec.source


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.binary(max_size=300), st.floats(0, 1e6, allow_nan=False)), max_size=30)
)
def test_fuzz_stream_decoder_never_raises(items):
    dec = StreamDecoder(200)
    payloads = [p for p, _ in items]
    hosts = [h for _, h in items]
    for p, h in items:
        dec.feed(p, h)
    dec.feed_many(payloads, hosts)
    t = dec.t_sensor_s()
    assert np.all(np.diff(t) > 0)
    dec.stats.to_json()


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 2**16 - 1),
            st.integers(0, 2**32 - 1),
            st.integers(1, 19),
            st.sampled_from([0, 0x20, 0x40]),
        ),
        max_size=40,
    )
)
def test_fuzz_valid_packets_with_random_headers_keep_time_increasing(headers):
    dec = StreamDecoder(400)
    for i, (seq, ts, n, flags) in enumerate(headers):
        dec.feed(packets.encode_data_packet(seq, ts, np.zeros((n, 6), np.int16), flags), i * 0.01)
    t = dec.t_sensor_s()
    assert np.all(np.diff(t) > 0)
    s = dec.stats
    assert (
        s.packets
        == len(headers)
        == s.packets_delivered + s.duplicates + s.out_of_order + s.implausible
    )


def test_recent_keys_extend_remembers_what_adding_one_by_one_remembers():
    """`extend` counts a big batch in one go; it must keep exactly the window `add` keeps."""
    from tracker.protocol.stream import _RecentKeys

    rng = np.random.default_rng(3)
    one, batch = _RecentKeys(size=64), _RecentKeys(size=64)
    for n in [0, 3, 8, 63, 64, 65, 200, 1, 9, 40, 7, 100]:
        keys = rng.integers(0, 50, n).astype(np.int64)  # repeats: the counts matter
        for k in keys.tolist():
            one.add(k)
        batch.extend(keys)
        assert list(batch._order) == list(one._order)
        assert batch._count == one._count
        assert all((k in batch) == (k in one) for k in range(50))
