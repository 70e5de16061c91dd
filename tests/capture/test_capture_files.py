"""Capture files: round trip, replay through the live decoder, header, events, errors, privacy."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from tracker.capture import (
    FORMAT_VERSION,
    SIGNATURE,
    CaptureHeader,
    CaptureWriter,
    load_capture,
    read_capture,
    write_capture_from_counts,
)
from tracker.errors import CaptureFormatError, StorageError
from tracker.imu import MountingCalibration
from tracker.protocol import control, packets, spec


def _counts(n, seed=0):
    return np.random.default_rng(seed).integers(-20000, 20000, (n, 6)).astype(np.int16)


CAL = MountingCalibration(
    np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]]), "pairing", {"residual_deg": 1.5}
).to_json()


@pytest.mark.parametrize("mtu", [23, 247])
def test_synthetic_capture_replays_bit_exact(tmp_path, mtu):
    counts = _counts(4000)
    cap = write_capture_from_counts(
        tmp_path / "a.cap", counts, 400, 8, 1000, mtu, calibration=CAL, drift_ppm=25
    )
    rec = load_capture(cap.path)
    assert len(rec) == 4000 and rec.sampling_rate_hz == 400
    assert np.allclose(rec.acc_m_s2, counts[:, :3] * spec.accel_scale_m_s2(8))
    assert np.allclose(rec.gyr_rad_s, counts[:, 3:] * spec.gyro_scale_rad_s(1000))
    assert np.all(np.diff(rec.t_s) > 0) and rec.t_s[0] == 0
    assert rec.calibration is not None and np.array_equal(
        rec.calibration.sensor_to_body, np.array(CAL["sensor_to_body"])
    )
    src = rec.source
    assert src["kind"] == "capture" and src["complete"] and src["cut_at_byte"] is None
    assert src["sensor"]["serial"] == "0000C0FF1A2B" and src["settings"]["att_mtu"] == mtu
    assert src["decode"]["lost_samples"] == 0 and src["decode"]["malformed_total"] == 0
    assert src["battery_pct_last"] == 94
    # the first sample was taken at the header's UTC anchor; the envelope adds the minimum latency
    anchor = 1_767_000_000
    assert 0 <= rec.start_utc.timestamp() - anchor < 0.01


def test_file_is_private(tmp_path):
    cap = write_capture_from_counts(tmp_path / "p.cap", _counts(10), 100)
    assert stat.S_IMODE(os.stat(cap.path).st_mode) == 0o600


def test_writer_refuses_to_overwrite(tmp_path):
    cap = write_capture_from_counts(tmp_path / "o.cap", _counts(10), 100)
    with pytest.raises(StorageError, match="already exists"):
        CaptureWriter(
            cap.path,
            {"settings": {"sample_rate_hz": 100, "accel_range_g": 4, "gyro_range_dps": 500}},
        )


def test_header_without_settings_is_a_programming_error(tmp_path):
    with pytest.raises(ValueError, match="sample_rate_hz"):
        CaptureWriter(tmp_path / "h.cap", {"sensor": {}})


def test_events_header_updates_and_losses_survive(tmp_path):
    counts = _counts(400 * 30)
    bad = b"\x01\x05\x00"
    cap = write_capture_from_counts(
        tmp_path / "e.cap",
        counts,
        400,
        att_mtu=23,
        lost_packets=[100, 101, 102],
        duplicated_packets=[200],
        injected={300: bad},
        link_drop=(10.0, 2.0),
    )
    contents = read_capture(cap.path)
    assert [e.kind for e in contents.events] == ["link_lost", "reconnected"]
    assert contents.events[0].data["reason"] == "synthetic link drop"
    assert contents.complete and not contents.warnings
    assert len(contents.imu) == cap.packets_written
    rec = load_capture(cap.path)
    assert np.array_equal(
        np.rint(rec.acc_m_s2 / spec.accel_scale_m_s2(4)).astype(np.int16), counts[cap.delivered, :3]
    )
    d = rec.source["decode"]
    assert d["duplicates"] == 1 and d["malformed"] == {"truncated": 1}
    assert d["lost_samples"] == int((~cap.delivered).sum()) and d["gaps"] == 2
    assert np.isclose(np.diff(rec.t_s).max(), 2.0 + 1 / 400, atol=0.01)  # the link gap, in time


def test_notifications_keep_raw_bytes_and_times(tmp_path):
    path = tmp_path / "raw.cap"
    payloads = [bytes([i % 256]) * (i % 30) for i in range(500)]  # anything, even empty: evidence
    with CaptureWriter(
        path,
        CaptureHeader(
            sensor={"name": "x"},
            settings={"sample_rate_hz": 50, "accel_range_g": 2, "gyro_range_dps": 250},
        ),
        background_flush=False,
        max_block_bytes=2000,
    ) as w:
        for i, p in enumerate(payloads):
            w.write_notification(1000 + i, p)
            if i % 100 == 0:
                w.write_notification(2000 + i, control.encode_battery_level(50), source="battery")
        w.update_header(5000, calibration=CAL)
        w.write_event(6000, "note", text="hello")
    c = read_capture(path)
    assert c.imu.payloads() == payloads and c.imu.host_time_ns.tolist() == list(range(1000, 1500))
    assert list(c.imu)[3] == (1003, payloads[3])
    t, lv = c.battery_levels()
    assert lv.tolist() == [50] * 5 and t.tolist() == [2000, 2100, 2200, 2300, 2400]
    assert c.header["calibration"] == CAL and c.initial_header["calibration"] is None
    assert c.header_updates[0].imu_index == 500 and c.events[0].data == {"text": "hello"}
    assert c.header["tracker_version"] and c.header["format_version"] == FORMAT_VERSION == "1.1"
    assert c.records > 10  # blocks were split at max_block_bytes


def test_settings_update_applies_from_its_position(tmp_path):
    path = tmp_path / "s.cap"
    one = np.full((1, 6), 1000, np.int16)
    with CaptureWriter(
        path, {"settings": {"sample_rate_hz": 100, "accel_range_g": 4, "gyro_range_dps": 500}}
    ) as w:
        w.write_notification(1_000_000_000, packets.encode_data_packet(0, 0, one, 0x20))
        w.update_header(
            1_500_000_000,
            settings={"sample_rate_hz": 200, "accel_range_g": 16, "gyro_range_dps": 2000},
        )
        w.write_notification(2_000_000_000, packets.encode_data_packet(0, 1_000_000, one, 0x20))
    rec = load_capture(path)
    assert rec.acc_m_s2[:, 0] == pytest.approx(
        [1000 * spec.accel_scale_m_s2(4), 1000 * spec.accel_scale_m_s2(16)]
    )
    assert rec.sampling_rate_hz == 200


@pytest.mark.parametrize(
    "content,match",
    [
        (b"PK\x03\x04 a zip file, not a capture\n", "is not a tracker capture"),
        (b"t,ax,ay,az,gx,gy,gz\n0,0,0,9.8,0,0,0\n", "is not a tracker capture"),
        (b"tracker-capture 2.0\n" + bytes(40), "format 2.0, this tracker reads 1.x"),
        (b"tracker-capture x.y\n", "unreadable capture format version"),
        (bytes(range(256)) * 4, "is not a tracker capture"),
    ],
)
def test_not_a_capture_is_one_clear_error(tmp_path, content, match):
    path = tmp_path / "bad.cap"
    path.write_bytes(content)
    with pytest.raises(CaptureFormatError, match=match) as info:
        read_capture(path)
    line = info.value.one_line()
    assert "\n" not in line and info.value.hint and str(path) in line
    with pytest.raises(CaptureFormatError):
        load_capture(path)


def test_missing_file(tmp_path):
    with pytest.raises(CaptureFormatError, match="does not exist"):
        read_capture(tmp_path / "nope.cap")


def test_newer_minor_version_with_unknown_records_is_read(tmp_path):
    from tracker.capture import format as fmt

    cap = write_capture_from_counts(tmp_path / "m.cap", _counts(100), 100)
    data = cap.path.read_bytes().replace(SIGNATURE, b"tracker-capture 1.7\n", 1)
    end = data.rfind(fmt.SYNC)  # insert an unknown record type before the end record
    data = data[:end] + fmt.encode_record(0x42, 0, b"future") + data[end:]
    path = tmp_path / "newer.cap"
    path.write_bytes(data)
    c = read_capture(path)
    assert c.format_version == "1.7" and c.complete and len(c.imu) == cap.packets_written
    assert any("0x42" in w for w in c.warnings)
    assert len(load_capture(path)) == 100


def test_damaged_header_is_replaced_by_its_copy(tmp_path):
    cap = write_capture_from_counts(tmp_path / "d.cap", _counts(100), 100)
    data = bytearray(cap.path.read_bytes())
    data[len(SIGNATURE) + 30] ^= 0xFF  # inside the header record
    path = tmp_path / "dh.cap"
    path.write_bytes(bytes(data))
    c = read_capture(path)
    assert c.corrupt_spans and c.header_from and len(c.imu) == cap.packets_written
    whole, damaged = load_capture(cap.path), load_capture(path)
    assert np.array_equal(whole.acc_m_s2, damaged.acc_m_s2) and whole.start_utc == damaged.start_utc
    assert any("copy" in n for n in damaged.source["notes"])
