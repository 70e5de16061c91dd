"""Layer 2: raw notifications on disk, append-only and crash-safe (docs/capture-format.md).

CaptureWriter(path, header) -> .write_notification / .write_event / .update_header / .close
read_capture(path) -> CaptureContents        every intact record, cut and damage reported
load_capture(path) -> ImuRecording           through the live StreamDecoder; source["notes"] say
                                             what damage and cuts cost (tracker.capture.decode)
Every JSON record is checked by tracker.capture.schema; resynchronising after damage is linear
(tracker.capture.resync).
write_capture_from_counts(path, counts, ...) a synthetic capture for tests and fixtures
"""

from tracker.capture.decode import capture_notes, decode_capture, load_capture, settings_plan
from tracker.capture.format import FORMAT_VERSION, SIGNATURE, RecordType, Source
from tracker.capture.reader import (
    CaptureContents,
    CaptureEvent,
    DamagedSpan,
    HeaderUpdate,
    Notifications,
    read_capture,
)
from tracker.capture.synthetic import SyntheticCapture, write_capture_from_counts
from tracker.capture.writer import CaptureHeader, CaptureWriter, clock_anchor, host_time_ns

__all__ = [
    "FORMAT_VERSION",
    "SIGNATURE",
    "CaptureContents",
    "CaptureEvent",
    "CaptureHeader",
    "CaptureWriter",
    "DamagedSpan",
    "HeaderUpdate",
    "Notifications",
    "RecordType",
    "Source",
    "SyntheticCapture",
    "capture_notes",
    "clock_anchor",
    "decode_capture",
    "host_time_ns",
    "load_capture",
    "read_capture",
    "settings_plan",
    "write_capture_from_counts",
]
