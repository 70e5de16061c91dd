"""StreamDecoder recovery: a new chain is accepted once a few packets agree (lost STREAM_START,
sensor reboot, clock jump), a wild or late packet never takes over, and live == batch always."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.capture import load_capture, write_capture_from_counts
from tracker.protocol import packets, spec
from tracker.protocol.stream import StreamDecoder

RATE = 400
PERIOD_US = 1e6 / RATE


def _counts(n, seed=0):
    return np.random.default_rng(seed).integers(-20000, 20000, (n, 6)).astype(np.int16)


def _host(n_packets, first_sample, spp=1, start_s=50.0, seed=1):
    """Receive times: the packet's last sample time plus a one-sided latency."""
    last = first_sample + np.arange(n_packets) * spp + spp - 1
    return start_s + last / RATE + np.random.default_rng(seed).uniform(0.004, 0.03, n_packets)


def _both(pk, host):
    """The same notifications fed live (one by one) and as one batch."""
    live, batch = StreamDecoder(RATE), StreamDecoder(RATE)
    for p, h in zip(pk, host, strict=True):
        live.feed(p, h)
    batch.feed_many(pk, host)
    return live, batch


def _same(a, b):
    assert np.array_equal(a.counts(), b.counts())
    assert np.array_equal(a.t_sensor_s(), b.t_sensor_s())
    assert a.stats.to_json() == b.stats.to_json()


def _accounted(dec):
    s = dec.stats
    assert s.packets == (
        s.packets_delivered + s.duplicates + s.out_of_order + s.implausible + s.malformed_total
    )


def test_lost_stream_start_after_a_reconnect_resyncs_and_counts_the_gap_from_timestamps(caplog):
    counts = _counts(2600)
    first = packets.encode_stream(counts[:300], RATE, 23, first_timestamp_us=1_000_000)
    # the link is down for 5 s (more than max_unexplained_gap_s); the sensor restarts the stream (sequence 0, STREAM_START) with
    # its clock running on, but that first packet is lost
    again = packets.encode_stream(
        counts[2300:], RATE, 23, first_timestamp_us=1_000_000 + 2300 * 2500
    )[1:]
    pk = first + again
    host = np.concatenate([_host(300, 0), _host(len(again), 2301)])
    with caplog.at_level(logging.WARNING, logger="tracker.protocol.stream"):
        live, batch = _both(pk, host)
    _same(live, batch)
    for dec in (live, batch):
        s = dec.stats
        assert np.array_equal(dec.counts(), np.vstack([counts[:300], counts[2301:]]))
        assert (s.resyncs, s.clock_resets, s.implausible, s.lost_samples, s.gaps) == (
            1,
            0,
            0,
            2001,
            1,
        )
        t = dec.t_sensor_s()
        assert t[300] - t[299] == pytest.approx(2002 / RATE)  # placed by its own timestamps
        _accounted(dec)
    resync_logs = [r for r in caplog.records if "resynchronised" in r.getMessage()]
    assert len(resync_logs) == len(caplog.records) == 2  # logged once per decoder, nothing else
    assert "2001 samples lost" in resync_logs[0].getMessage()


def test_lost_stream_start_through_a_capture_file(tmp_path):
    """The recorder's view: one decoder across the reconnect, events in the file, replayed."""
    counts = _counts(RATE * 20)
    spp = spec.samples_per_packet(247)
    drop_lo = int(np.ceil(6.0 * RATE))  # first sample at or after the drop
    first_of_stream2 = -(-drop_lo // spp)
    cap = write_capture_from_counts(
        tmp_path / "r.cap",
        counts,
        RATE,
        att_mtu=247,
        link_drop=(6.0, 3.0),
        lost_packets=[first_of_stream2],
    )
    rec = load_capture(cap.path)
    d = rec.source["decode"]
    assert d["resyncs"] == 1 and d["implausible"] == 0 and d["clock_resets"] == 0
    got = np.rint(rec.acc_m_s2 / spec.accel_scale_m_s2(4)).astype(np.int16)
    assert np.array_equal(got, counts[cap.delivered, :3])
    assert d["lost_samples"] == int((~cap.delivered).sum())


def test_sensor_reboot_without_stream_start_is_placed_by_host_time():
    counts = _counts(300)
    old = packets.encode_stream(counts[:100], RATE, 23, first_timestamp_us=50_000_000)
    # the sensor rebooted: its clock restarts near zero, the first packet of the new stream is lost
    new = packets.encode_stream(counts[100:], RATE, 23, first_timestamp_us=2_000)[1:]
    host = np.concatenate([_host(100, 0), _host(len(new), 0, start_s=50.0 + 3.0 + 100 / RATE)])
    live, batch = _both(old + new, host)
    _same(live, batch)
    s = live.stats
    assert (s.resyncs, s.clock_resets, s.samples, s.implausible + s.out_of_order) == (1, 1, 299, 0)
    t = live.t_sensor_s()
    assert np.all(np.diff(t) > 0) and 2.9 < t[100] - t[99] < 3.1


def test_sensor_clock_jump_mid_stream_is_followed_by_host_time():
    counts = _counts(400)
    pk = packets.encode_stream(counts, RATE, 23, first_timestamp_us=1_000_000)
    jumped = [
        packets.encode_data_packet(i, 1_000_000 + i * 2500 + 10_000_000, counts[i : i + 1])
        for i in range(200, 400)
    ]  # the timestamps jump 10 s ahead; the sequence counter and the host clock do not
    host = _host(400, 0)
    live, batch = _both(pk[:200] + jumped, host)
    _same(live, batch)
    s = live.stats
    assert (s.resyncs, s.clock_resets, s.samples, s.lost_samples) == (1, 1, 400, 0)
    assert np.array_equal(live.counts(), counts)
    t = live.t_sensor_s()
    assert 0 < t[200] - t[199] < 0.04  # the host-time gap, not 10 s


def test_sequence_jump_with_continuous_time_is_not_counted_as_lost_packets():
    counts = _counts(400)
    pk = packets.encode_stream(counts, RATE, 23, first_timestamp_us=1_000_000)
    pk = pk[:200] + [
        packets.encode_data_packet(i + 30_000, 1_000_000 + i * 2500, counts[i : i + 1])
        for i in range(200, 400)
    ]
    live, batch = _both(pk, _host(400, 0))
    _same(live, batch)
    s = live.stats
    assert (s.samples, s.lost_packets, s.lost_samples, s.sequence_jumps, s.resyncs) == (
        400,
        0,
        0,
        1,
        0,
    )


@pytest.mark.parametrize("n_wild", [1, 2])
def test_wild_packets_do_not_hijack_or_corrupt_the_counters(n_wild, caplog):
    counts = _counts(400)
    pk = packets.encode_stream(counts, RATE, 23, first_timestamp_us=1_000_000)
    # up to resync_packets - 1 wild packets that even agree with each other
    wild = [
        packets.encode_data_packet(12345 + j, 1_000_000 + 600_000_000 + j * 2500, counts[:1])
        for j in range(n_wild)
    ]
    host = _host(400, 0)
    stream = pk[:200] + wild + pk[200:]
    hosts = np.concatenate([host[:200], [host[199]] * n_wild, host[200:]])
    with caplog.at_level(logging.WARNING, logger="tracker.protocol.stream"):
        live, batch = _both(stream, hosts)
    _same(live, batch)
    s = live.stats
    assert np.array_equal(live.counts(), counts)
    assert (s.implausible, s.resyncs, s.lost_packets, s.lost_samples) == (n_wild, 0, 0, 0)
    assert any(
        f"dropped {n_wild} data packet(s) from sequence 12345" in r.getMessage()
        for r in caplog.records
    )
    _accounted(live)


def test_late_packets_of_the_same_chain_never_start_a_new_one():
    counts = _counts(200)
    pk = packets.encode_stream(counts, RATE, 23, first_timestamp_us=1_000_000)
    order = [*range(100), *range(103, 111), 100, 101, 102, *range(111, 200)]
    host = np.sort(_host(200, 0))
    live, batch = _both([pk[i] for i in order], host)
    _same(live, batch)
    s = live.stats
    assert (s.out_of_order, s.resyncs, s.clock_resets, s.lost_samples, s.samples) == (
        3,
        0,
        0,
        3,
        197,
    )
    assert np.all(np.diff(live.t_sensor_s()) > 0)


def test_resync_packets_must_be_at_least_two():
    with pytest.raises(ValueError, match="resync_packets"):
        StreamDecoder(RATE, resync_packets=1)


# --- property: random disruptions; live == batch, and a new chain always recovers ------------
_OPS = st.lists(
    st.tuples(
        st.sampled_from(
            ["lose", "dup", "swap", "wild", "restart", "restart_nostart", "reboot", "seqjump"]
        ),
        st.integers(1, 60),
    ),
    max_size=6,
)


def _disrupted(ops, seed):
    """A stream of 1..3-sample packets with disruptions; returns (payloads, hosts, tail) where the
    last `tail` payloads are a clean run of the final chain."""
    rng = np.random.default_rng(seed)
    spp = int(rng.integers(1, 4))
    out: list[bytes] = []
    hosts: list[float] = []
    state = {"seq": 0, "ts": int(rng.integers(0, 2**32)), "host": 100.0, "start": True}

    def emit(n):
        for _ in range(n):
            flags = 0x20 if state["start"] else 0
            out.append(
                packets.encode_data_packet(
                    state["seq"], state["ts"], np.zeros((spp, 6), np.int16) + len(out), flags
                )
            )
            state["start"] = False
            state["seq"] += 1
            state["ts"] += spp * int(PERIOD_US)
            state["host"] += spp / RATE
            hosts.append(state["host"] + float(rng.uniform(0.004, 0.03)))

    emit(int(rng.integers(5, 40)))
    for op, n in ops:
        if op == "lose":
            del out[-1], hosts[-1]
        elif op == "dup":
            out.append(out[-1])
            hosts.append(hosts[-1] + 0.001)
        elif op == "swap" and len(out) > 2:
            out[-1], out[-2] = out[-2], out[-1]
        elif op == "wild":
            out.append(
                packets.encode_data_packet(
                    int(rng.integers(0, 2**16)),
                    int(rng.integers(0, 2**32)),
                    np.ones((1, 6), np.int16),
                )
            )
            hosts.append(hosts[-1])
        elif op in ("restart", "restart_nostart", "reboot"):
            gap_s = n / 10
            state["host"] += gap_s
            state["ts"] = (
                int(rng.integers(0, 2**32)) if op == "reboot" else state["ts"] + int(gap_s * 1e6)
            )
            state["seq"] = 0
            state["start"] = op == "restart"
            if op != "restart":
                state["seq"] = 1  # the STREAM_START packet was lost
        elif op == "seqjump":
            state["seq"] += 1000 * n
        emit(n)
    tail = 20
    emit(tail)
    return out, np.array(hosts), tail


@settings(max_examples=150, deadline=None)
@given(_OPS, st.integers(0, 2**31), st.integers(1, 50))
def test_property_live_equals_batch_and_the_final_chain_is_delivered(ops, seed, chunk):
    pk, host, tail = _disrupted(ops, seed)
    live = StreamDecoder(RATE)
    for p, h in zip(pk, host, strict=True):
        live.feed(p, h)
    batch = StreamDecoder(RATE)
    for a in range(0, len(pk), chunk):
        batch.feed_many(pk[a : a + chunk], host[a : a + chunk])
    _same(live, batch)
    _accounted(live)
    assert np.all(np.diff(live.t_sensor_s()) > 0)
    # whatever happened before, the clean run at the end is delivered (its marker values are the
    # packet indices, written into the samples)
    got = set(live.counts()[:, 0].tolist())
    assert set(range(len(pk) - tail + 3, len(pk))) <= got
