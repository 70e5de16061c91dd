"""Layer 2: raw notifications on disk, append-only and crash-safe (docs/capture-format.md).

CaptureWriter(path, header) -> .write_notification / .write_event / .update_header / .close
read_capture(path) -> CaptureContents        every intact record, cut and damage reported
load_capture(path) -> ImuRecording           through the live StreamDecoder; source["notes"] say
                                             what damage and cuts cost (tracker.capture.decode)
Every JSON record is checked by tracker.capture.schema; resynchronising after damage is linear
(tracker.capture.resync).
write_capture_from_counts(path, counts, ...) a synthetic capture for tests and fixtures
"""

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from tracker.capture.synthetic import SyntheticCapture, write_capture_from_counts
    from tracker.capture.writer import CaptureHeader, CaptureWriter, clock_anchor, host_time_ns

# Writing is loaded on first use: reading a capture (`tracker analyze`, `tracker import`) needs
# neither the writer nor the protocol encoders behind the synthetic captures.
_WRITING = {
    "CaptureHeader": "writer",
    "CaptureWriter": "writer",
    "clock_anchor": "writer",
    "host_time_ns": "writer",
    "SyntheticCapture": "synthetic",
    "write_capture_from_counts": "synthetic",
}


def __getattr__(name: str) -> Any:
    if name in _WRITING:
        import importlib

        return getattr(importlib.import_module(f"tracker.capture.{_WRITING[name]}"), name)
    raise AttributeError(f"module 'tracker.capture' has no attribute {name!r}")

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
