"""Sensor Logger's HTTP pushes: the message format (PUSHING.md), bodies kept in parts, and the
decoder that turns them into samples exactly as the app's own export of the same recording is
read (tracker/formats/sensor_logger.py), whatever the platform and however the pushes are cut."""

from __future__ import annotations

import contextlib
import json

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phone_exports import phone_streams, write_sensor_logger

from tracker.emulator.phone import push_messages
from tracker.formats import load_recording
from tracker.imu import StreamAligner, align_streams
from tracker.protocol.phone_push import (
    MAX_PART,
    MOTION_NAMES,
    BodyAssembler,
    PushFormatError,
    body_parts,
    parse_message,
)
from tracker.protocol.phone_stream import PhoneStreamDecoder
from tracker.simulate import random_script, simulate_session

# The schema's example from PUSHING.md, completed with the XYZReading fields it defines
DOC_MESSAGE = {
    "messageId": 0,
    "sessionId": "identifier",
    "deviceId": "identifier",
    "payload": [
        {"name": "accelerometer", "time": 1698501144401773000, "values": {"z": -0.1038, "y": -0.0009, "x": 0.0611}, "accuracy": 3},
        {"name": "location", "time": 1698501145514000000, "values": {"latitude": 0.0, "longitude": 0.0, "altitude": 214.2}},
        {"name": "gyroscope", "time": 1698501144411773000, "values": {"z": 0.01, "y": 0.02, "x": 0.03}},
    ],
}


def test_the_documents_message_reads_as_its_motion_readings():
    msg = parse_message(json.dumps(DOC_MESSAGE).encode())
    assert (msg.message_id, msg.session_id, msg.device_id) == (0, "identifier", "identifier")
    assert msg.names == {"accelerometer": 1, "location": 1, "gyroscope": 1}
    acc = msg.readings["accelerometer"]
    assert acc.time_ns.tolist() == [1698501144401773000]
    assert acc.xyz.tolist() == [[0.0611, -0.0009, -0.1038]]  # x, y, z whatever order the JSON has
    assert "location" not in msg.readings


def test_a_time_rounded_to_a_double_or_written_as_digits_still_reads():
    m = dict(DOC_MESSAGE, payload=[
        {"name": "gyroscope", "time": 1.698501144401773e18, "values": {"x": 1, "y": 2, "z": 3}},
        {"name": "gravity", "time": "1698501144401773000", "values": {"x": "1.5", "y": 2, "z": 3}},
    ])  # fmt: skip
    msg = parse_message(json.dumps(m).encode())
    assert msg.readings["gyroscope"].time_ns[0] == int(1.698501144401773e18)
    assert msg.readings["gravity"].xyz.tolist() == [[1.5, 2.0, 3.0]]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b'{"payload": [', "not_json"),
        (b"\xff\xfe{}", "not_json"),
        (b"[1, 2]", "not_a_message"),
        (b"{}", "not_a_message"),
        (b'{"payload": 3}', "not_a_message"),
        (b'{"payload": [{"time": 1}]}', "not_a_message"),
        (b"[" * 100_000, "not_json"),
        (b'{"payload": [{"name": "x", "values": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]}", "not_json"),
    ],
)
def test_a_body_that_is_not_a_message_says_why(body, reason):
    with pytest.raises(PushFormatError) as err:
        parse_message(body)
    assert err.value.reason == reason


def test_readings_without_a_usable_time_or_values_are_skipped_and_counted():
    bad = [
        {"name": "accelerometer", "time": True, "values": {"x": 1, "y": 2, "z": 3}},
        {"name": "accelerometer", "time": -5, "values": {"x": 1, "y": 2, "z": 3}},
        {"name": "accelerometer", "time": 1698501144401773000, "values": {"x": "NaN", "y": 2, "z": 3}},
        {"name": "accelerometer", "time": 1698501144401773000, "values": {"x": 1e300, "y": 2, "z": 3}},
        {"name": "accelerometer", "time": 1698501144401773000, "values": [1, 2, 3]},
        {"name": "gyroscope", "time": 1698501144401773000, "values": {"x": 1, "y": 2}},
    ]
    msg = parse_message(json.dumps(dict(DOC_MESSAGE, payload=bad)).encode())
    assert msg.skipped == 6 and msg.readings == {}


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                                                      lambda c: st.lists(c, max_size=4) | st.dictionaries(st.sampled_from(["payload", "name", "time", "values", "x", "y", "z", "messageId"]), c, max_size=5),
                                                      max_leaves=20).map(lambda v: json.dumps(v).encode())))  # fmt: skip
def test_no_body_raises_anything_but_a_push_format_error(body):
    with contextlib.suppress(PushFormatError):
        parse_message(body)


def _read_leniently(body: bytes):
    """`parse_message`'s value-by-value path alone (every body takes it when the typed one fails)."""
    from tracker.protocol import phone_push

    raw = phone_push._DECODER.decode(body)
    msg = phone_push._message(raw)
    phone_push._lenient_readings(msg, raw.payload)
    return msg


_AXIS = st.one_of(  # the numbers a JSON message can hold, in and out of range, or null
    st.floats(-2e4, 2e4), st.floats(allow_nan=False, allow_infinity=False), st.integers(-20_000, 20_000),
    st.integers(-(2**70), 2**70), st.none(),
)  # fmt: skip
_EDGE = st.one_of(st.floats(-1e4, 1e4), st.sampled_from([1e4, -1e4, 1e4 + 1e-9, -10_001, 0, -0.0]))
_CLEAN = st.fixed_dictionaries({  # as the app pushes them, with values at the edge of the range
    "name": st.sampled_from(MOTION_NAMES), "time": st.integers(1, 2**63 - 1),
    "values": st.fixed_dictionaries({"x": _EDGE, "y": _EDGE, "z": _EDGE}),
})  # fmt: skip
_READING = _CLEAN | st.fixed_dictionaries(
    {"name": st.sampled_from([*MOTION_NAMES, " Gyroscope ", "location", "battery"])},
    optional={
        "time": st.one_of(st.integers(-1, 2**64), st.floats(allow_nan=False), st.sampled_from(["17", "x"]), st.booleans()),
        "values": st.one_of(st.fixed_dictionaries({}, optional={"x": _AXIS, "y": _AXIS, "z": _AXIS, "lat": _AXIS}), st.none()),
    },
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(_READING, max_size=10), st.one_of(st.integers(), st.booleans(), st.none(), st.text(max_size=4)))
def test_the_typed_reader_reads_what_the_value_by_value_reader_reads(payload, message_id):
    """`parse_message` reads the app's own messages (numbers as numbers) by column; it reads what
    the value-by-value path, the one every other body takes, reads of the same message."""
    from tracker.protocol.phone_push import _TYPED_DECODER

    body = json.dumps({"messageId": message_id, "sessionId": "s", "deviceId": 7, "payload": payload}).encode()
    try:
        slow = _read_leniently(body)
    except msgspec.DecodeError:  # a number beyond a double: not a message either way
        with pytest.raises(PushFormatError):
            parse_message(body)
        return
    _TYPED_DECODER.decode(body)  # the typed path is the one under test
    fast = parse_message(body)
    assert (fast.message_id, fast.session_id, fast.device_id) == (slow.message_id, slow.session_id, slow.device_id)
    assert (fast.names, fast.skipped, fast.readings.keys()) == (slow.names, slow.skipped, slow.readings.keys())
    for name, got in fast.readings.items():
        want = slow.readings[name]
        assert got.time_ns.dtype == want.time_ns.dtype and got.xyz.dtype == want.xyz.dtype
        assert got.xyz.shape == want.xyz.shape
        np.testing.assert_array_equal(got.time_ns, want.time_ns)
        np.testing.assert_array_equal(got.xyz, want.xyz)
        assert np.signbit(got.xyz).tolist() == np.signbit(want.xyz).tolist()  # -0.0 stays -0.0


def test_a_body_is_kept_in_parts_and_put_back_together():
    body = bytes(range(256)) * 1000  # 256 kB: four parts
    parts = body_parts(body)
    assert len(parts) == 4 and all(len(p) <= MAX_PART + 2 for p in parts)
    assembler = BodyAssembler()
    assert [assembler.add(p) for p in parts] == [None, None, None, body]
    # a part lost in damage: that body is counted once and never decoded; the next one is whole
    for lost in range(4):
        assembler = BodyAssembler()
        out = [assembler.add(p) for i, p in enumerate(parts) if i != lost] + [assembler.add(q) for q in body_parts(b"next")]
        assert out[-1] == b"next" and assembler.incomplete == 1 and body not in out
    assembler = BodyAssembler()
    assert assembler.add(b"\x00") is None and assembler.malformed_parts == 1


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_the_incremental_aligner_keeps_the_rows_align_streams_keeps(data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    base_t = np.unique(rng.uniform(0, 10, data.draw(st.integers(1, 200))))
    other_t = np.unique(rng.uniform(rng.uniform(-1, 3), rng.uniform(5, 11), data.draw(st.integers(1, 200))))
    if data.draw(st.booleans()):
        other_t = np.unique(np.concatenate([other_t, base_t[:3]]))  # equal times on both clocks
    base, other = rng.normal(size=(len(base_t), 3)), rng.normal(size=(len(other_t), 3))
    want = align_streams(base_t, base, other_t, other, max_gap_s=0.3)
    aligner, got, i, j = StreamAligner(0.3), [], 0, 0
    while i < len(base_t) or j < len(other_t):  # the two streams arrive in pieces, interleaved
        k = data.draw(st.integers(1, 30))
        if j >= len(other_t) or (i < len(base_t) and data.draw(st.booleans())):
            got.append(aligner.push_base(base_t[i : i + k], base[i : i + k]))
            i += k
        else:
            got.append(aligner.push_other(other_t[j : j + k], other[j : j + k]))
            j += k
    t = np.concatenate([g[0] for g in got])
    np.testing.assert_array_equal(t, want[0])
    np.testing.assert_allclose(np.concatenate([g[2] for g in got]).reshape(-1, 3), want[2], atol=1e-12)
    assert aligner.dropped == len(base_t) - len(t) - aligner.pending


@pytest.fixture(scope="module")
def streams():
    sim = simulate_session(random_script(2001, posture="hips_down", duration_s=60), seed=2001, sampling_rate_hz=100)
    return phone_streams(sim, acc_rate=100.0, gyr_rate=104.0, seed=1)


def _decode(messages, platform, standardised=False, parts=False):
    decoder = PhoneStreamDecoder({"phone": {"platform": platform, "standardised": standardised}})
    for m in messages:
        if parts:
            for p in body_parts(m.body):
                decoder.feed(p, m.at_s)
        else:
            decoder.feed_body(m.body, m.at_s)
    return decoder


@pytest.mark.parametrize(("platform", "standardised"), [("android", False), ("ios", False), ("ios", True)])
def test_pushes_decode_as_the_apps_export_of_the_same_recording_reads(tmp_path, streams, platform, standardised):
    """The same iOS/Android sign rule (shared code) and the same alignment: the pushed session and
    the exported one give the same samples, up to the 6 decimals the pushes carry."""
    export = write_sensor_logger(tmp_path / "export.zip", streams, platform=platform, standardised=standardised)
    from_file = load_recording(export)
    pushed = _decode(push_messages(streams, platform=platform, standardised=standardised), platform, standardised).to_recording()
    n = min(len(from_file), len(pushed))
    assert abs(len(from_file) - len(pushed)) <= 2  # the file's first accelerometer sample starts its clock
    off = int(np.searchsorted(pushed.t_s + float(pushed.start_utc.timestamp()), float(from_file.start_utc.timestamp()) - 1e-6))
    np.testing.assert_allclose(pushed.acc_m_s2[off : off + n - 2], from_file.acc_m_s2[: n - 2], atol=2e-6)
    np.testing.assert_allclose(pushed.gyr_rad_s[off : off + n - 2], from_file.gyr_rad_s[: n - 2], atol=2e-6)
    assert abs((pushed.start_utc - from_file.start_utc).total_seconds()) < 0.02
    flipped = "iOS acceleration signs flipped to the Android convention (COORDINATES.md)"
    assert (flipped in pushed.source["notes"]) == (platform == "ios" and not standardised)
    # gravity reads +9.8 along "up" (the Android convention) on every platform
    assert np.median(np.linalg.norm(pushed.acc_m_s2, axis=1)) == pytest.approx(9.81, abs=0.3)
    np.testing.assert_allclose(np.median(pushed.acc_m_s2, axis=0), np.median(streams.total, axis=0), atol=0.05)


def test_how_the_pushes_are_cut_does_not_change_the_samples(streams):
    one = _decode(push_messages(streams, batch_s=1.0), "android").to_recording()
    for batch_s, parts in ((0.25, False), (3.0, True), (7.0, True)):
        other = _decode(push_messages(streams, batch_s=batch_s), "android", parts=parts).to_recording()
        np.testing.assert_array_equal(other.t_s, one.t_s)
        np.testing.assert_array_equal(other.acc_m_s2, one.acc_m_s2)
        np.testing.assert_array_equal(other.gyr_rad_s, one.gyr_rad_s)


def test_repeats_other_phones_lost_messages_and_late_readings_are_counted_not_used(streams):
    messages = push_messages(streams, batch_s=1.0)
    clean = _decode(messages, "android").to_recording()
    decoder = PhoneStreamDecoder({"phone": {"platform": "android"}})
    stranger = json.loads(messages[5].body)
    stranger["deviceId"] = "someone-else"
    for i, m in enumerate(messages):
        if i == 10:
            continue  # a push that never came
        if i == 8:  # the readings of message 6 again, before its own: late, dropped
            late = json.loads(m.body)
            late["payload"] = json.loads(messages[6].body)["payload"] + late["payload"]
            decoder.feed_body(json.dumps(late).encode(), m.at_s)
        else:
            decoder.feed_body(m.body, m.at_s)
        if i in (3, 4):
            decoder.feed_body(m.body, m.at_s)  # the app pushed it again
        if i == 6:
            decoder.feed_body(json.dumps(stranger).encode(), m.at_s)
            assert decoder.last_error is not None and decoder.last_error.reason == "other_device"
    st_ = decoder.stats
    assert (st_.duplicates, st_.other_device, st_.missing_messages) == (2, 1, 1)
    assert st_.late_readings == sum(1 for r in json.loads(messages[6].body)["payload"] if r["name"] in ("totalacceleration", "accelerometer", "gravity", "gyroscope"))
    rec = decoder.to_recording()
    # the lost second is a gap (never filled), counted in samples; everything else is as clean
    assert st_.gaps == 1 and 90 <= st_.lost_samples <= 110
    assert len(clean) - len(rec) == pytest.approx(100, abs=10)
    keep = np.isin(clean.t_s, rec.t_s)
    np.testing.assert_array_equal(clean.acc_m_s2[keep], rec.acc_m_s2)


def test_a_phone_without_gyroscope_gives_an_accelerometer_only_recording(streams):
    messages = push_messages(streams)
    decoder = PhoneStreamDecoder()
    for m in messages:
        body = json.loads(m.body)
        body["payload"] = [r for r in body["payload"] if r["name"] != "gyroscope"]
        assert decoder.feed_body(json.dumps(body).encode(), m.at_s) is None  # nothing for a live view
    rec = decoder.to_recording()
    assert not rec.has_gyro and len(rec) > 5000
    assert any("no gyroscope" in n for n in rec.source["notes"])


def test_without_a_stated_platform_gravity_apart_is_read_as_android_and_says_so(streams):
    rec = _decode(push_messages(streams, platform="ios", standardised=True), None).to_recording()
    assert any("platform was not stated" in n for n in rec.source["notes"])
    np.testing.assert_allclose(np.median(rec.acc_m_s2, axis=0), np.median(streams.total, axis=0), atol=0.05)
