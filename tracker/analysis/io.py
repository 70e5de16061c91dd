"""Input at the edge, kept for the code and notebooks that import it from here.

Reading files is its own layer now: `tracker.formats` (captures, tracker CSV, Sensor Logger and
phyphox exports, `--columns` maps, unit detection). `load_recording(path)` and `load_csv(path)`
below are that layer's entry point.
"""

from __future__ import annotations

from pathlib import Path

from tracker.formats import (
    MAX_NAN_RUN_S,
    MIN_DURATION_S,
    MIN_SAMPLES,
    ColumnMapping,
    UnitOverrides,
    gyro_scale_estimate,
    load_recording,
)
from tracker.formats.tracker_csv import EXPECTED
from tracker.formats.units import MAX_SAMPLING_RATE_HZ, MIN_SAMPLING_RATE_HZ
from tracker.imu import ImuRecording


def load_csv(
    path: str | Path, *, columns: ColumnMapping | str | None = None, units: UnitOverrides | None = None
) -> ImuRecording:
    """A CSV file with the header `t,ax,ay,az,gx,gy,gz` (any order, extra columns ignored), or any
    CSV through `columns`; the same as `load_recording` for a CSV."""
    return load_recording(path, columns=columns, units=units)


__all__ = [
    "EXPECTED",
    "MAX_NAN_RUN_S",
    "MAX_SAMPLING_RATE_HZ",
    "MIN_DURATION_S",
    "MIN_SAMPLES",
    "MIN_SAMPLING_RATE_HZ",
    "gyro_scale_estimate",
    "load_csv",
    "load_recording",
]
