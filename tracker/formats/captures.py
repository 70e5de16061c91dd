"""tracker captures through `tracker.capture` (which owns their format), checked like any input."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from tracker.errors import RecordingTooShortError
from tracker.formats.samples import MIN_DURATION_S, MIN_SAMPLES, fill_nans
from tracker.imu import ImuRecording

FORMAT = "tracker capture"


def is_capture(head: bytes) -> bool:
    """A capture starts with its magic; a file that is all a beginning of the signature is a
    capture cut within it; the capture layer also knows one whose signature is damaged."""
    from tracker.capture.format import looks_like_capture

    return bool(head) and looks_like_capture(head)


def read_capture_file(path: Path) -> ImuRecording:
    """A capture as an `ImuRecording`; a capture cut before enough samples is `RecordingTooShortError`."""
    from tracker.capture import load_capture

    recording = load_capture(path)
    t, acc, gyr = recording.t_s, recording.acc_m_s2, recording.gyr_rad_s
    cut = recording.source.get("cut_at_byte")
    if not len(t) and cut is not None:
        size = recording.source.get("file_size", cut)
        raise RecordingTooShortError(
            f"{path} is a capture cut after {size} bytes: nothing to analyse",
            path=str(path),
            hint="the recording stopped (or the copy broke off) before any sample was stored; "
            "copy the file again from where it was recorded",
        )
    if len(t) < MIN_SAMPLES or (t[-1] - t[0]) < MIN_DURATION_S:
        cut_note = (
            f" (the capture is cut after {recording.source.get('file_size', cut)} bytes)"
            if cut is not None
            else ""
        )
        what = (
            f"{path} holds only {len(t)} samples{cut_note}; at least {MIN_SAMPLES} are needed"
            if len(t) < MIN_SAMPLES
            else f"{path} holds {t[-1] - t[0]:.1f} s of samples{cut_note}; at least {MIN_DURATION_S:.0f} s are needed"
        )
        raise RecordingTooShortError(
            what,
            path=str(path),
            hint="copy the whole file again, or record a longer session"
            if cut is not None
            else "record a longer session",
        )
    notes = list(recording.source.get("notes", []))
    has_gyro = recording.has_gyro
    if not (np.all(np.isfinite(acc)) and (not has_gyro or np.all(np.isfinite(gyr)))):
        acc, gyr = acc.copy(), gyr.copy()
        notes += fill_nans(t, acc, gyr if has_gyro else None, str(path), lambda i: f"sample {i}")
    return replace(
        recording,
        acc_m_s2=acc,
        gyr_rad_s=gyr,
        source={**recording.source, "notes": notes, "format": FORMAT},
    )
