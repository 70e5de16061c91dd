"""Fuzzing the PMD parsers: radio bytes are untrusted, so any bytes give a value or a PmdError.

decode_frame and parse_cp_response never raise anything else; a well-formed header of a frame
tracker decodes never raises at all for any content (it decodes the complete samples); and the
emulated sensors' encoder round-trips through the decoder exactly.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.protocol import pmd, pmd_sensor

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(
    payload=st.binary(max_size=260),
    previous=st.integers(0, 2**64 - 1),
    rate=st.integers(-5, 500),
    factor=st.floats(allow_nan=True, allow_infinity=True, width=32),
)
def test_decode_frame_raises_only_pmd_error(payload, previous, rate, factor):
    try:
        frame = pmd.decode_frame(payload, previous_timestamp_ns=previous, sample_rate_hz=rate, factor=factor)
    except pmd.PmdError as exc:
        assert exc.reason and str(exc)
        return
    assert len(frame.samples) == len(frame.timestamps_ns)
    assert all(len(s) == 3 for s in frame.samples)


_DECODED = [(2, 0x00), (2, 0x01), (2, 0x02), (2, 0x80), (2, 0x81), (5, 0x80), (5, 0x81)]


@FUZZ
@given(
    kind=st.sampled_from(_DECODED),
    content=st.binary(max_size=240),
    timestamp=st.integers(10**18, 2**63),
    rate=st.sampled_from([25, 52, 100, 200]),
)
def test_well_formed_headers_never_raise(kind, content, timestamp, rate):
    """A frame tracker decodes, with a sane timestamp, any content: samples, never an exception."""
    mtype, ftype = kind
    payload = bytes([mtype]) + timestamp.to_bytes(8, "little") + bytes([ftype]) + content
    frame = pmd.decode_frame(payload, previous_timestamp_ns=0, sample_rate_hz=rate, factor=0.5)
    assert len(frame.samples) == len(frame.timestamps_ns)
    assert frame.timestamps_ns == sorted(frame.timestamps_ns)


@FUZZ
@given(payload=st.binary(max_size=64))
def test_parse_cp_response_raises_only_pmd_error(payload):
    try:
        r = pmd.parse_cp_response(payload)
    except pmd.PmdError:
        return
    assert r.status_name.startswith(("SUCCESS", "ERROR_", "UNKNOWN_ERROR"))
    assert isinstance(r.settings, dict)


@FUZZ
@given(payload=st.binary(max_size=64))
def test_sensor_side_request_parser_never_raises(payload):
    result = pmd_sensor.parse_request(payload)
    assert isinstance(result, pmd_sensor.PmdRequest | tuple)


_INT16 = st.integers(-32768, 32767)


@FUZZ
@given(
    samples=st.lists(st.tuples(_INT16, _INT16, _INT16), min_size=1, max_size=300),
    compressed=st.booleans(),
    mtype=st.sampled_from(["ACC", "GYRO"]),
)
def test_encoder_round_trips(samples, compressed, mtype):
    if mtype == "GYRO":
        compressed = True  # the SDK reads gyro frames only delta-compressed
    ftype = 0 if compressed else 1
    frame_bytes = pmd_sensor.encode_frame(mtype, 10**18, ftype, samples, compressed=compressed)
    frame = pmd.decode_frame(frame_bytes, previous_timestamp_ns=10**18 - 10**9, factor=1.0)
    if mtype == "ACC" and compressed:  # type 0: counts are G units times factor x 1000
        assert frame.samples == [tuple(v * 1000 for v in s) for s in samples]
    else:
        assert [tuple(int(v) for v in s) for s in frame.samples] == samples
    assert not frame.truncated and frame.timestamps_ns[-1] == 10**18
