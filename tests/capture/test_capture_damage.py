"""Damaged captures: cut at every byte, flipped bytes, random bytes, full disk, kill -9."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.capture import SIGNATURE, CaptureWriter, load_capture, read_capture
from tracker.capture import format as fmt
from tracker.errors import CaptureFormatError, DiskFullError
from tracker.protocol import packets

SETTINGS = {
    "sample_rate_hz": 100,
    "accel_range_g": 4,
    "gyro_range_dps": 500,
    "att_mtu": 23,
    "samples_per_packet": 1,
}


def _small_capture(path, n=24):
    """One record per notification; returns (payloads, record boundaries, notifications per boundary)."""
    counts = np.arange(n * 6, dtype=np.int16).reshape(n, 6)
    pk = packets.encode_stream(counts, 100, 23)
    bounds, done = [0, len(SIGNATURE)], [0, 0]
    with CaptureWriter(
        path,
        {"sensor": {"name": "TRK-0001"}, "settings": SETTINGS},
        background_flush=False,
        fsync=False,
    ) as w:
        # the header record, then its copy (format 1.1)
        _, _, header_len, _ = fmt.RECORD_HEAD.unpack_from(path.read_bytes(), len(SIGNATURE))
        bounds.append(len(SIGNATURE) + fmt.RECORD_OVERHEAD + header_len)
        done.append(0)
        bounds.append(os.path.getsize(path))
        done.append(0)
        for i, p in enumerate(pk):
            w.write_notification(1_000_000_000 + i * 10_000_000, p)
            w.flush()
            bounds.append(os.path.getsize(path))
            done.append(i + 1)
            if i == 10:
                w.write_event(1_000_000_000 + i * 10_000_000 + 1, "link_lost")
                w.flush()
                bounds.append(os.path.getsize(path))
                done.append(i + 1)
    return pk, bounds, done


@pytest.mark.slow
def test_cut_at_every_byte_replays_every_complete_record(tmp_path):
    path = tmp_path / "full.cap"
    pk, bounds, done = _small_capture(path)
    data = path.read_bytes()
    cut_path = tmp_path / "cut.cap"
    for k in range(len(data)):
        # a new file each time: rewriting one in place makes ext4 flush it to disk on every close
        cut_path.unlink(missing_ok=True)
        cut_path.write_bytes(data[:k])
        c = read_capture(cut_path)
        i = max(j for j, b in enumerate(bounds) if b <= k)
        assert c.cut_at_byte == bounds[i], k
        assert not c.complete and c.warnings
        assert c.imu.payloads() == pk[: done[i]], k
        assert not c.corrupt_spans
        if k % 7 == 0 or k - bounds[i] < 3:  # the replay path never fails on a cut file
            rec = load_capture(cut_path)
            assert len(rec) == done[i] and rec.source["cut_at_byte"] == bounds[i]
    c = read_capture(path)
    assert c.complete and c.cut_at_byte is None and c.imu.payloads() == pk and not c.warnings


def test_flipped_bytes_are_detected_and_the_rest_recovered(tmp_path):
    path = tmp_path / "full.cap"
    pk, bounds, done = _small_capture(path)
    data = path.read_bytes()
    damaged_path = tmp_path / "damaged.cap"
    first_data, end_record = bounds[4], bounds[-1]
    for k in range(first_data, end_record, 3):
        damaged = bytearray(data)
        damaged[k] ^= 0x5A
        damaged_path.unlink(missing_ok=True)  # a new file: see the cut-at-every-byte test
        damaged_path.write_bytes(bytes(damaged))
        c = read_capture(damaged_path)
        assert len(c.corrupt_spans) == 1, k
        start, stop = c.corrupt_spans[0]
        assert start <= k < stop
        assert c.complete and c.cut_at_byte is None
        assert any("damaged" in w for w in c.warnings)
        # exactly the notifications whose record was hit are missing
        hit = [j for j in range(4, len(bounds)) if bounds[j - 1] <= k < bounds[j]][0]
        lost = done[hit] - done[hit - 1]
        got = c.imu.payloads()
        assert len(got) == len(pk) - lost
        assert got == pk[: done[hit - 1]] + pk[done[hit] :]


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=400), st.booleans())
def test_fuzz_capture_reader(tmp_path, junk, with_signature):
    path = tmp_path / "fuzz.cap"
    path.unlink(missing_ok=True)  # a new file each example: see the cut-at-every-byte test
    path.write_bytes((SIGNATURE if with_signature else b"") + junk)
    try:
        c = read_capture(path)
        load_capture(path)
    except CaptureFormatError as exc:
        assert "\n" not in exc.one_line()
        return
    assert c.cut_at_byte is not None or c.complete


def test_fuzz_byte_flips_in_a_real_capture(tmp_path):
    path = tmp_path / "full.cap"
    pk, _, _ = _small_capture(path)
    data = path.read_bytes()
    rng = np.random.default_rng(5)
    for _ in range(200):
        damaged = bytearray(data)
        for k in rng.integers(len(SIGNATURE), len(data), rng.integers(1, 6)):
            damaged[k] = rng.integers(0, 256)
        path.unlink(missing_ok=True)  # a new file: see the cut-at-every-byte test
        path.write_bytes(bytes(damaged))
        try:
            c = read_capture(path)
        except CaptureFormatError:
            pytest.fail("a capture with a valid signature must always be readable")
        assert set(c.imu.payloads()) <= set(pk)


def test_disk_full_keeps_what_was_flushed(tmp_path, monkeypatch):
    path = tmp_path / "full-disk.cap"
    pk = packets.encode_stream(np.zeros((400, 6), np.int16), 100, 23)
    budget = {"left": 3000}
    real_write = os.write

    def tiny_disk(fd, data):
        if fd != writer._fd:
            return real_write(fd, data)
        if budget["left"] <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = real_write(fd, bytes(data[: budget["left"]]))
        budget["left"] -= n
        return n

    writer = CaptureWriter(path, {"settings": SETTINGS}, background_flush=False)
    monkeypatch.setattr(os, "write", tiny_disk)
    flushed = 0
    with pytest.raises(DiskFullError) as info:
        for i, p in enumerate(pk):
            writer.write_notification(i, p)
            if i % 20 == 19:
                writer.flush()
                flushed = i + 1
    assert "free some space" in info.value.one_line()
    with pytest.raises(DiskFullError):  # the writer stays failed
        writer.write_notification(0, pk[0])
    writer.close()
    monkeypatch.setattr(os, "write", real_write)
    c = read_capture(path)
    assert c.imu.payloads() == pk[:flushed] and flushed > 0
    assert c.cut_at_byte is not None and not c.complete
    assert len(load_capture(path)) == flushed


WRITER_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from tracker.capture import CaptureWriter, host_time_ns
    from tracker.protocol import packets
    rate = 400
    settings = {"sample_rate_hz": rate, "accel_range_g": 4, "gyro_range_dps": 500, "att_mtu": 23}
    w = CaptureWriter(sys.argv[1], {"settings": settings})  # default flush policy
    one = np.zeros((1, 6), np.int16)
    start = time.monotonic()
    print("started", flush=True)
    i = 0
    while True:
        due = start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        w.write_notification(host_time_ns(), packets.encode_data_packet(i, i * 2500, one, 0x20 if i == 0 else 0))
        i += 1
    """
)


@pytest.mark.slow
def test_kill_9_during_recording_loses_at_most_a_second(tmp_path):
    path = tmp_path / "killed.cap"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER_SCRIPT, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "started"
        time.sleep(1.2)  # not a wait for anything: the kill lands anywhere between two flushes
        killed_at = time.monotonic_ns()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    c = read_capture(path)
    assert not c.complete and c.cut_at_byte is not None
    assert len(c.imu) > 200  # about 1.2 s at 400 Hz were written, at least the first 0.5 s flushed
    last = int(c.imu.host_time_ns[-1])
    assert (killed_at - last) / 1e9 < 1.0
    rec = load_capture(path)
    assert len(rec) == len(c.imu) and rec.source["decode"]["lost_samples"] == 0
