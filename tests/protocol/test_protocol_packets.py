"""Data packets, control point, status, battery: round trips and untrusted bytes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.protocol import control, packets, spec
from tracker.protocol.packets import MalformedReason as R

samples_st = st.integers(1, spec.MAX_SAMPLES_PER_PACKET).flatmap(
    lambda n: st.lists(
        st.lists(st.integers(-32768, 32767), min_size=6, max_size=6), min_size=n, max_size=n
    )
)
flags_st = st.sampled_from([0, 0x20, 0x40, 0x80, 0x60, 0xA0, 0xC0, 0xE0])


@settings(max_examples=300, deadline=None)
@given(seq=st.integers(0, 2**16 - 1), ts=st.integers(0, 2**32 - 1), rows=samples_st, flags=flags_st)
def test_data_packet_round_trip(seq, ts, rows, flags):
    samples = np.array(rows, dtype=np.int16)
    raw = packets.encode_data_packet(seq, ts, samples, flags)
    assert len(raw) == 8 + 12 * len(rows)
    pkt = packets.decode_data_packet(raw)
    assert isinstance(pkt, packets.DataPacket)
    assert (pkt.version, pkt.sequence, pkt.timestamp_us, int(pkt.flags)) == (1, seq, ts, flags)
    assert np.array_equal(pkt.samples, samples)
    batch = packets.decode_data_packets([raw, raw])
    assert batch.valid.all() and np.array_equal(batch.samples, np.vstack([samples, samples]))
    assert batch.sequence.tolist() == [seq, seq] and batch.timestamp_us.tolist() == [ts, ts]
    assert batch.flags.tolist() == [flags, flags]


def test_encoder_wraps_sequence_and_timestamp():
    pkt = packets.decode_data_packet(
        packets.encode_data_packet(65536 + 5, 2**32 + 7, np.zeros((1, 6)))
    )
    assert (pkt.sequence, pkt.timestamp_us) == (5, 7)


@pytest.mark.parametrize("count", range(1, 20))
def test_every_count_in_a_mixed_batch(count):
    rng = np.random.default_rng(count)
    payloads, expected = [], []
    for j in range(7):  # mixed lengths in one batch: every count group is gathered separately
        n = count if j % 2 else 1 + (j * 5) % 19
        s = rng.integers(-32768, 32767, (n, 6)).astype(np.int16)
        payloads.append(packets.encode_data_packet(j, 1000 * j, s))
        expected.append(s)
    batch = packets.decode_data_packets(payloads)
    assert batch.valid.all()
    assert np.array_equal(batch.samples, np.vstack(expected))
    assert batch.sample_start.tolist() == np.cumsum([0] + [len(e) for e in expected[:-1]]).tolist()


def test_encode_stream_cuts_like_the_sensor():
    counts = np.arange(45 * 6, dtype=np.int16).reshape(45, 6)
    counts[40, 2] = 32767
    pk = packets.encode_stream(
        counts, 400, att_mtu=247, first_sequence=10, first_timestamp_us=2**32 - 5000
    )
    decoded = [packets.decode_data_packet(p) for p in pk]
    assert [d.count for d in decoded] == [19, 19, 7]
    assert [d.sequence for d in decoded] == [10, 11, 12]
    assert [d.timestamp_us for d in decoded] == [
        2**32 - 5000,
        (2**32 - 5000 + 19 * 2500) % 2**32,
        38 * 2500 - 5000,
    ]
    assert [int(d.flags) for d in decoded] == [0x20, 0, 0x80]
    assert np.array_equal(np.vstack([d.samples for d in decoded]), counts)
    assert len(packets.encode_stream(counts, 100, att_mtu=23)) == 45


good = packets.encode_data_packet(7, 99, np.ones((2, 6), np.int16))
MALFORMED = [
    (b"", R.EMPTY),
    (b"\x01", R.TRUNCATED),
    (good[:7], R.TRUNCATED),
    (good[:-1], R.TRUNCATED),
    (good + b"\x00", R.LENGTH_MISMATCH),
    (bytes([2]) + good[1:], R.WRONG_VERSION),
    (bytes([0]) + good[1:], R.WRONG_VERSION),
    (good[:1] + bytes([0x20]) + good[2:8], R.BAD_COUNT),  # count 0
    (good[:1] + bytes([20]) + good[2:] + bytes(12 * 18), R.BAD_COUNT),  # count 20
    (b"\xde\xad\xbe\xef" * 5, R.WRONG_VERSION),
    (bytes([1, 19]) + bytes(6) + bytes(12 * 19) + bytes(1000), R.LENGTH_MISMATCH),  # huge
]


@pytest.mark.parametrize("raw,reason", MALFORMED)
def test_malformed_data_packets_are_values_not_exceptions(raw, reason):
    result = packets.decode_data_packet(raw)
    assert isinstance(result, packets.Malformed)
    assert result.reason is reason
    assert raw[:64].hex(" ") in str(result) and result.hex == raw.hex(" ")
    batch = packets.decode_data_packets([raw, good])
    assert packets.REASON_BY_CODE[int(batch.reason[0])] is reason
    assert batch.reason[1] == 0 and batch.samples.shape == (2, 6)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=260), max_size=8))
def test_scalar_and_batch_decoders_agree_on_random_bytes(blobs):
    batch = packets.decode_data_packets(blobs)
    for i, raw in enumerate(blobs):
        one = packets.decode_data_packet(raw)
        if isinstance(one, packets.Malformed):
            assert packets.REASON_BY_CODE[int(batch.reason[i])] is one.reason
        else:
            assert batch.reason[i] == 0
            s = int(batch.sample_start[i])
            assert np.array_equal(batch.samples[s : s + one.count], one.samples)


def test_decode_packet_array_rejects_offsets_outside_the_buffer():
    with pytest.raises(ValueError):
        packets.decode_packet_array(np.zeros(10, np.uint8), np.array([5]), np.array([8]))


@pytest.mark.parametrize("rate", spec.SAMPLE_RATES_HZ)
def test_control_rate_round_trip(rate):
    raw = control.encode_control_request(spec.Opcode.SET_SAMPLE_RATE, sample_rate_hz=rate)
    assert control.decode_control_request(raw) == control.ControlRequest(
        spec.Opcode.SET_SAMPLE_RATE, sample_rate_hz=rate
    )


@pytest.mark.parametrize("acc", spec.ACCEL_RANGES_G)
@pytest.mark.parametrize("gyr", spec.GYRO_RANGES_DPS)
def test_control_ranges_round_trip(acc, gyr):
    raw = control.encode_control_request(
        spec.Opcode.SET_RANGES, accel_range_g=acc, gyro_range_dps=gyr
    )
    req = control.decode_control_request(raw)
    assert (req.accel_range_g, req.gyro_range_dps) == (acc, gyr)


@pytest.mark.parametrize(
    "raw,result",
    [
        (b"", spec.ResultCode.INVALID_LENGTH),
        (b"\x00", spec.ResultCode.OPCODE_NOT_SUPPORTED),
        (b"\x80\x01\x01", spec.ResultCode.OPCODE_NOT_SUPPORTED),
        (b"\x01\x00", spec.ResultCode.INVALID_LENGTH),
        (b"\x03\x90\x01\x00", spec.ResultCode.INVALID_LENGTH),
        (b"\x03\x19\x00", spec.ResultCode.SUCCESS),  # 25 Hz
        (b"\x03\x1a\x00", spec.ResultCode.INVALID_PARAMETER),
        (b"\x04\x03\xf4\x01", spec.ResultCode.INVALID_PARAMETER),  # 3 g
        (b"\x04\x04\xf5\x01", spec.ResultCode.INVALID_PARAMETER),  # 501 dps
        (b"\x05\x00", spec.ResultCode.INVALID_PARAMETER),
        (b"\x05\x1f", spec.ResultCode.INVALID_PARAMETER),
        (b"\x05\x1e", spec.ResultCode.SUCCESS),
    ],
)
def test_control_request_result_codes(raw, result):
    req = control.decode_control_request(raw)
    if result is spec.ResultCode.SUCCESS:
        assert isinstance(req, control.ControlRequest)
    else:
        assert (
            isinstance(req, control.ControlRequestRejected) and req.result is result and req.detail
        )


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=40))
def test_control_and_status_decoders_never_raise(raw):
    control.decode_control_request(raw)
    control.decode_control_response(raw)
    control.decode_status_record(raw)
    control.decode_battery_level(raw)
    control.decode_advertisement(raw)


def test_control_response_unknown_code_and_longer_response():
    resp = control.decode_control_response(b"\x80\x03\x42\xff\xff")
    assert (
        resp.request_opcode == 3
        and not resp.ok
        and resp.result_name == "UNKNOWN_0x42"
        and resp.hint
    )
    assert control.decode_control_response(b"\x80\x03").reason is R.TRUNCATED
    assert control.decode_control_response(b"\x81\x03\x01").reason is R.BAD_VALUE
    assert (
        control.decode_control_response(b"\x80\x01\x05").hint
        == spec.RESULT_HINTS[spec.ResultCode.BUSY]
    )


def test_status_record_rules():
    rec = control.StatusRecord(1, 1, 200, 16, 2000, 14, 2**32 - 1)
    raw = control.encode_status_record(rec)
    assert len(raw) == spec.STATUS_SIZE and control.decode_status_record(raw) == rec
    assert control.decode_status_record(raw[:11]).reason is R.TRUNCATED
    newer = control.decode_status_record(bytes([2]) + raw[1:])
    assert newer.reason is R.WRONG_VERSION and newer.version == 2
    longer = control.decode_status_record(raw + b"\x01\x02\x03")
    assert longer == rec and longer.extra == b"\x01\x02\x03" and longer.streaming


@pytest.mark.parametrize(
    "raw,expected",
    [
        (b"\x00", 0),
        (b"\x64", 100),
        (b"\x65", R.BAD_VALUE),
        (b"\xff", R.BAD_VALUE),
        (b"", R.EMPTY),
        (b"\x50\x00", R.LENGTH_MISMATCH),
    ],
)
def test_battery_level(raw, expected):
    value = control.decode_battery_level(raw)
    assert value == expected if isinstance(expected, int) else value.reason is expected


def test_advertisement_fits_and_name_comes_from_serial():
    name = control.sensor_name("0000c0ff1a2b")
    assert name == "TRK-1A2B"
    assert len(control.encode_advertisement(name)) == 31
    with pytest.raises(ValueError):
        control.encode_advertisement("TRK-TOO-LONG")
    assert control.decode_advertisement(b"\x05\x09ab").reason is R.TRUNCATED


def test_scaling_matches_the_document_formulas():
    acc, gyr = packets.counts_to_si(np.array([[8192, -32768, 0, 32767, 0, -1]]), 4, 500)
    assert acc[0].tolist() == pytest.approx([9.80665, -4 * 9.80665, 0])
    assert gyr[0, 0] == pytest.approx(np.deg2rad(500) * 32767 / 32768)
    counts, clipped = packets.si_to_counts(
        np.array([[9.80665, 0, 100.0]]), np.zeros((1, 3)), 4, 500
    )
    assert counts[0, :3].tolist() == [8192, 0, 32767] and clipped.tolist() == [True]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, spec.MAX_SAMPLES_PER_PACKET), st.integers(1, 12), st.booleans()),
        min_size=1,
        max_size=90,
    ),
    st.integers(0, 2**16),
)
def test_runs_of_packets_decode_as_packet_by_packet(runs, seed):
    """Streams as they come: runs of equal packets, a shorter last one, damaged ones between;
    with few runs each is copied as a block, with many (more than `_MAX_RUNS`) they are
    gathered. Either way the batch says what decoding each packet alone says."""
    rng = np.random.default_rng(seed)
    payloads, seq = [], 0
    for count, repeat, damaged in runs:
        for _ in range(repeat):
            rows = rng.integers(-32768, 32767, size=(count, 6), dtype=np.int16)
            payloads.append(packets.encode_data_packet(seq, seq * 2500, rows))
            seq += 1
        if damaged:
            payloads.append(packets.encode_data_packet(seq, 0, rows)[:-3])  # cut short
    batch = packets.decode_data_packets(payloads)
    for i, raw in enumerate(payloads):
        one = packets.decode_data_packet(raw)
        if isinstance(one, packets.Malformed):
            assert batch.reason[i] != 0
            continue
        assert batch.reason[i] == 0
        assert (batch.sequence[i], batch.timestamp_us[i]) == (one.sequence, one.timestamp_us)
        s = int(batch.sample_start[i])
        assert np.array_equal(batch.samples[s : s + one.count], one.samples)
    assert len(batch.samples) == sum(c * r for c, r, _d in runs)
