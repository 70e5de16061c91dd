"""Crafted and damaged captures (issue 10, items 1-3): the committed corpus in `hostile/`, a
property-based fuzzer of the reader, one damaged byte anywhere, and linear-time resynchronisation.

The corpus is written by `hostile/make_hostile.py` (committed beside it) and `expected.json` says
what tracker must do with each file.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.capture import (
    SIGNATURE,
    CaptureWriter,
    load_capture,
    read_capture,
    write_capture_from_counts,
)
from tracker.capture import format as fmt
from tracker.cli.main import run as cli
from tracker.errors import CaptureFormatError, TrackerError
from tracker.protocol import packets, spec

HOSTILE = Path(__file__).resolve().parent / "hostile"
EXPECTED = json.loads((HOSTILE / "expected.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_crafted_capture_is_one_line_naming_the_field_or_a_note(name):
    path = HOSTILE / f"{name}.capture"
    want = EXPECTED[name]
    if want["outcome"] == "fails":
        with pytest.raises(CaptureFormatError) as info:
            load_capture(path)
        line = info.value.one_line()
        assert "\n" not in line and want["says"] in line
        return
    recording = load_capture(path)
    assert len(recording) > 0
    if want["outcome"] == "notes":
        assert any(want["says"] in note for note in recording.source["notes"]), recording.source["notes"]


@pytest.mark.parametrize("name", sorted(n for n, w in EXPECTED.items() if w["outcome"] == "fails"))
def test_analyze_of_a_crafted_capture_says_one_line(name, capsys):
    assert cli(["analyze", str(HOSTILE / f"{name}.capture")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and EXPECTED[name]["says"] in err[0]
    assert "internal error" not in err[0] and "Traceback" not in err[0]


def test_import_of_the_whole_corpus_has_no_internal_error(capsys):
    files = [str(HOSTILE / f"{name}.capture") for name in sorted(EXPECTED)]
    code = cli(["import", *files])
    out = capsys.readouterr()
    assert code == 1  # some fail: each on its own line, the rest are stored
    text = out.out + out.err
    assert "internal error" not in text and "Traceback" not in text
    failed = [line for line in out.out.splitlines() if line.startswith("failed")]
    assert len(failed) == sum(w["outcome"] == "fails" for w in EXPECTED.values())


# --- property-based fuzzing of the reader (modelled on tests/protocol's decoder fuzzers) --------
@pytest.fixture(scope="module")
def base_capture(tmp_path_factory) -> tuple[bytes, list[bytes]]:
    return _base_capture(tmp_path_factory.mktemp("fuzz"))


def _base_capture(tmp_path: Path) -> tuple[bytes, list[bytes]]:
    counts = (np.arange(300 * 6) % 500).astype(np.int16).reshape(300, 6)
    pk = packets.encode_stream(counts, 100, 23)
    path = tmp_path / "base.capture"
    with CaptureWriter(
        path,
        {"sensor": {"name": "TRK-FUZZ"}, "settings": {"sample_rate_hz": 100, "accel_range_g": 4, "gyro_range_dps": 500}},
        background_flush=False,
        fsync=False,
    ) as w:
        for i, p in enumerate(pk):
            w.write_notification(10_000_000_000 + i * 10_000_000, p)
            if i == 100:
                w.write_event(10_000_000_000 + i * 10_000_000, "link_lost", reason="fuzz")
    return path.read_bytes(), pk


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**30), 10**30) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
_KEYS = st.sampled_from(["settings", "clock", "sensor", "calibration", "utc_offset_s", "timezone", "kind", "sample_rate_hz", "silent_s", "text"])


def _json_text(obj: object) -> bytes:
    return json.dumps(obj, allow_nan=True).encode()  # NaN and Infinity as a careless writer would


_MUTATION = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(1, 255)),
    st.tuples(st.just("cut"), st.integers(0, 10**6), st.just(0)),
    st.tuples(st.just("sync"), st.integers(0, 10**6), st.integers(0, 2**32 - 1)),
    st.tuples(
        st.just("record"),
        st.integers(0, 10**6),
        st.tuples(st.sampled_from([1, 3, 4, 5, 0x7F]), st.dictionaries(_KEYS, _JSON_VALUES, max_size=4)),
    ),
)


def _mutate(data: bytes, mutations: list) -> bytes:
    out = bytearray(data)
    for kind, where, arg in mutations:
        at = where % (len(out) + 1)
        if kind == "flip" and at < len(out):
            out[at] ^= arg
        elif kind == "cut":
            del out[at:]
        elif kind == "sync":  # a sync marker with a plausible length, as garbage can hold
            out[at:at] = fmt.SYNC + bytes([2]) + (arg % (len(out) + 64)).to_bytes(4, "little")
        elif kind == "record":  # a CRC-valid JSON record with any values
            rtype, obj = arg
            out[at:at] = fmt.encode_record(rtype, 0, _json_text(obj))
    return bytes(out)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_MUTATION, min_size=1, max_size=5))
def test_fuzz_mutated_captures_never_raise_anything_but_a_one_line_error(tmp_path, base_capture, mutations):
    data, pk = base_capture
    path = tmp_path / "fuzz.capture"
    path.write_bytes(_mutate(data, mutations))
    try:
        contents = read_capture(path)
    except CaptureFormatError as exc:
        assert "\n" not in exc.one_line()
        return
    assert set(contents.imu.payloads()) <= set(pk) | set()  # only real notifications come back
    try:
        recording = load_capture(path)
    except TrackerError as exc:
        assert "\n" not in exc.one_line()
        return
    assert len(recording) <= 300 + 3 and np.all(np.isfinite(recording.acc_m_s2))
    json.dumps(recording.source, default=str)  # whatever was read can be shown and stored


# --- one damaged byte anywhere costs at most about a second -----------------------------------
@pytest.mark.slow
def test_one_damaged_byte_anywhere_costs_at_most_about_a_second(tmp_path):
    rate = 100
    counts = (np.arange(20 * rate * 6) % 700).astype(np.int16).reshape(-1, 6)
    cap = write_capture_from_counts(tmp_path / "whole.capture", counts, rate, att_mtu=23)
    whole = load_capture(cap.path)
    data = cap.path.read_bytes()
    rng = np.random.default_rng(1)
    # every byte of the signature, the header and its copy, then a sample of the rest
    first_block = data.index(fmt.SYNC + bytes([fmt.RecordType.NOTIFICATIONS]))
    places = [*range(0, first_block), *rng.integers(first_block, len(data), 150)]
    path = tmp_path / "damaged.capture"
    worst = 0
    for k in places:
        damaged = bytearray(data)
        damaged[k] ^= 0x41
        path.unlink(missing_ok=True)  # a new file: ext4 flushes a file rewritten in place on close
        path.write_bytes(bytes(damaged))
        recording = load_capture(path)
        lost = len(whole) - len(recording)
        worst = max(worst, lost)
        assert lost <= 1.05 * rate, (k, lost)
        assert recording.sampling_rate_hz == rate, k
        assert abs((recording.start_utc - whole.start_utc).total_seconds()) <= 1.0, k  # its first sample
    assert worst > 0  # the sample did hit notification blocks


def test_a_lost_settings_update_is_recovered_from_the_next_copy(tmp_path):
    one = np.full((1, 6), 1000, np.int16)
    path = tmp_path / "change.capture"
    with CaptureWriter(path, {"settings": {"sample_rate_hz": 100, "accel_range_g": 4, "gyro_range_dps": 500}},
                       background_flush=False, fsync=False) as w:  # fmt: skip
        for i in range(50):
            w.write_notification(10**10 + i * 10**7, packets.encode_data_packet(i, i * 10_000, one, 0x20 if i == 0 else 0))
        w.update_header(10**10 + 50 * 10**7, settings={"accel_range_g": 16})
        for i in range(50):
            w.write_notification(2 * 10**10 + i * 10**7, packets.encode_data_packet(i, 10**6 + i * 10_000, one, 0x20 if i == 0 else 0))
    data = bytearray(path.read_bytes())
    update = data.index(fmt.SYNC + bytes([fmt.RecordType.HEADER_UPDATE]))
    data[update + 25] ^= 0xFF  # inside the settings update
    path.write_bytes(bytes(data))
    recording = load_capture(path)
    assert len(recording) == 100
    assert recording.acc_m_s2[:50, 0] == pytest.approx(1000 * spec.accel_scale_m_s2(4))
    assert recording.acc_m_s2[50:, 0] == pytest.approx(1000 * spec.accel_scale_m_s2(16))


# --- linear time, whatever the bytes (counted in CRC bytes, not timed) ---------------------------
def _hostile_tail(n: int, rng: np.random.Generator) -> bytes:
    """Sync markers every 9 bytes, each claiming a length that fits the file."""
    out = bytearray(rng.integers(0, 256, n, dtype=np.uint8).tobytes())
    for k in range(0, n - 8, 9):
        out[k : k + 7] = fmt.SYNC + bytes([2]) + int(rng.integers(0, n - k)).to_bytes(4, "little")
    return bytes(out)


@pytest.mark.parametrize("size", [64 * 1024, 512 * 1024])
def test_resync_work_is_linear_in_the_bytes_searched(tmp_path, monkeypatch, size):
    from tracker.capture import reader

    crc_bytes = {"n": 0}
    real = zlib.crc32

    def counting(data, value=0):
        crc_bytes["n"] += len(data)
        return real(data, value)

    monkeypatch.setattr(reader.zlib, "crc32", counting)  # the one zlib module, wherever it is used
    path = tmp_path / "garbage.capture"
    path.write_bytes(SIGNATURE + _hostile_tail(size, np.random.default_rng(size)))
    contents = read_capture(path)
    assert contents.damage and contents.damage[0].at_end
    assert crc_bytes["n"] <= 40 * size + 256 * 1024  # quadratic would be ~size**2 / 18: 29,000 x size


def test_resync_finds_the_record_after_garbage_full_of_sync_markers(tmp_path):
    cap = write_capture_from_counts(tmp_path / "c.capture", (np.arange(3000 * 6) % 300).astype(np.int16).reshape(-1, 6), 100)
    data = cap.path.read_bytes()
    block = data.index(fmt.SYNC + bytes([fmt.RecordType.NOTIFICATIONS]), 200)
    garbage = _hostile_tail(200_000, np.random.default_rng(9))
    path = tmp_path / "g.capture"
    path.write_bytes(data[:block] + garbage + data[block:])
    contents = read_capture(path)
    assert contents.complete and contents.corrupt_spans == [(block, block + len(garbage))]
    assert len(contents.imu) == len(read_capture(cap.path).imu)


def test_vectorised_crc_check_agrees_with_zlib():
    from tracker.capture import resync

    rng = np.random.default_rng(4)
    data = bytearray(rng.integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    for k in range(40):
        record = fmt.encode_record(int(rng.choice([1, 2, 3])), k, rng.integers(0, 256, int(rng.integers(0, 900)), dtype=np.uint8).tobytes())
        at = int(rng.integers(0, len(data) - len(record)))
        data[at : at + len(record)] = record
    data = bytes(data)
    starts, ends = resync._candidates(np.frombuffer(data, np.uint8), 0, len(data), len(data))
    direct = np.array([zlib.crc32(data[s + 2 : e]) == fmt.CRC_RESIDUE for s, e in zip(starts, ends, strict=True)])
    assert direct.sum() >= 20 and np.array_equal(resync._intact(data, starts, ends), direct)


def test_many_damaged_spans_read_the_same_with_and_without_the_index(tmp_path, monkeypatch):
    from tracker.capture import reader

    cap = write_capture_from_counts(tmp_path / "c.capture", (np.arange(2000 * 6) % 300).astype(np.int16).reshape(-1, 6), 100, att_mtu=23)
    data = cap.path.read_bytes()
    first = data.index(fmt.SYNC + bytes([fmt.RecordType.NOTIFICATIONS]))
    empty = fmt.encode_record(fmt.RecordType.NOTIFICATIONS, 0, fmt.BLOCK_HEAD.pack(1, 0))
    rng = np.random.default_rng(2)
    spans = b"".join(rng.integers(0, 256, 8, dtype=np.uint8).tobytes() + empty for _ in range(1500))
    path = tmp_path / "spans.capture"
    path.write_bytes(data[:first] + spans + data[first:])
    indexed = read_capture(path)
    monkeypatch.setattr(reader, "MANY_SPANS", 10**9)
    plain = read_capture(path)
    assert len(indexed.corrupt_spans) == len(plain.corrupt_spans) == 1500
    assert indexed.corrupt_spans == plain.corrupt_spans and indexed.warnings == plain.warnings
    assert indexed.imu.payloads() == plain.imu.payloads() == read_capture(cap.path).imu.payloads()
    assert indexed.complete and plain.complete


def test_stream_started_details_are_not_a_settings_disagreement(tmp_path):
    """The recorder's header has the settings asked for; `stream_started` adds what the sensor
    reported (MTU, samples per packet): the copies after it agree with both."""
    one = np.full((1, 6), 1000, np.int16)
    path = tmp_path / "rec.capture"
    with CaptureWriter(path, {"settings": {"sample_rate_hz": 100, "accel_range_g": 4, "gyro_range_dps": 500}},
                       background_flush=False, fsync=False) as w:  # fmt: skip
        w.write_event(10**10, "stream_started", sample_rate_hz=100, accel_range_g=4, gyro_range_dps=500, att_mtu=247, samples_per_packet=19)
        for i in range(3000):  # 30 s: copies every 10 s
            w.write_notification(10**10 + i * 10**7, packets.encode_data_packet(i, i * 10_000, one, 0x20 if i == 0 else 0))
    recording = load_capture(path)
    assert len(recording) == 3000 and not any("disagree" in n for n in recording.source["notes"])
