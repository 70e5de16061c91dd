"""CaptureWriter and the disk: the notification path never waits for a write or an fsync, and a
disk error in the background thread is reported to the caller, never swallowed."""

from __future__ import annotations

import errno
import os
import threading

import numpy as np
import pytest

from tracker.capture import CaptureWriter, read_capture
from tracker.errors import DiskFullError
from tracker.protocol import packets

SETTINGS = {"sample_rate_hz": 100, "accel_range_g": 4, "gyro_range_dps": 500}
PK = packets.encode_stream(np.arange(200 * 6, dtype=np.int16).reshape(200, 6), 100, 23)


def test_write_notification_does_not_wait_for_a_background_fsync(tmp_path, monkeypatch):
    path = tmp_path / "slow-disk.cap"
    writer = CaptureWriter(path, {"settings": SETTINGS}, flush_interval_s=0.05)
    inside, release = threading.Event(), threading.Event()
    real_fsync = os.fsync

    def stuck_fsync(fd):  # the background thread's fsync hangs until the test lets it go
        if fd == writer._fd and threading.current_thread() is not threading.main_thread():
            inside.set()
            release.wait(10)
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", stuck_fsync)
    writer.write_notification(0, PK[0])
    assert inside.wait(5), "the background thread never flushed"
    done = threading.Event()

    def callback_thread():  # what the asyncio loop does while the disk is slow
        for i in range(1, 200):
            writer.write_notification(i, PK[i])
        writer.write_event(500, "note", text="still responsive")
        done.set()

    threading.Thread(target=callback_thread, daemon=True).start()
    finished = done.wait(3)
    release.set()
    assert finished, "write_notification blocked while the background thread was in fsync"
    writer.close()
    c = read_capture(path)
    assert (
        c.complete and c.imu.payloads() == PK and c.events[0].data == {"text": "still responsive"}
    )


def test_a_background_disk_error_is_raised_by_the_next_call_and_by_close(tmp_path, monkeypatch):
    path = tmp_path / "bg-full.cap"
    writer = CaptureWriter(path, {"settings": SETTINGS}, flush_interval_s=0.05)
    failed = threading.Event()
    real_write = os.write

    def full_disk(fd, data):
        if fd == writer._fd:
            failed.set()
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full_disk)
    writer.write_notification(0, PK[0])
    assert failed.wait(5)
    # nobody called the writer since the background failure: close must not hide it
    with pytest.raises(DiskFullError, match="disk full"):
        writer.close()
    writer.close()  # closing twice is still fine


def test_the_error_is_raised_once_then_close_only_closes(tmp_path, monkeypatch):
    path = tmp_path / "bg-full2.cap"
    writer = CaptureWriter(path, {"settings": SETTINGS}, flush_interval_s=0.05)
    failed = threading.Event()
    real_write = os.write

    def full_disk(fd, data):
        if fd == writer._fd:
            failed.set()
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full_disk)
    writer.write_notification(0, PK[0])
    assert failed.wait(5)
    with pytest.raises(DiskFullError):
        writer.write_notification(1, PK[1])
    writer.close()  # already reported: the recorder's cleanup must not fail twice
    monkeypatch.setattr(os, "write", real_write)
    assert not read_capture(path).complete
