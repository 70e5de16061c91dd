"""The notebook entry points: `tracker.analyze(data)` and `tracker.signals(data)`.

    import tracker
    result = tracker.analyze("session.capture")          # or a CSV, or a DataFrame
    result.strokes_frame()                                # pandas, the store's columns
    tracker.signals(df, roller_diameter_cm=12).plot(x="t_s", y="position_cm")

`data` is any of

* a pandas DataFrame with the columns t, ax, ay, az, gx, gy, gz (any order, others ignored):
  t in s, ax..az the specific force in m/s² (+9.81 up at rest), gx..gz the rotation rate in
  rad/s (all NaN, or the columns left out, for an accelerometer-only sensor); checked as a CSV
  file is (units, order, duplicates, missing values);
* a path (`str` or `os.PathLike`) to anything `tracker.analysis.load_recording` reads: a
  tracker capture, a CSV, the phone formats;
* a `tracker.imu.ImuRecording`.

Options (keywords): any `tracker.guidance.Guidance` setting (`roller_diameter_cm=12.5`,
`too_fast_pace_cm_s=6`, ...), or `guidance=` a whole `Guidance`; `parameters=` an
`AnalysisParameters`; `calibration=` a `MountingCalibration` (how the sensor sits on the body,
from `tracker pair`); `sampling_rate_hz=` for a DataFrame whose rate is not its median step.
"""

from __future__ import annotations

import os
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from tracker.errors import UsageError
from tracker.guidance import Guidance
from tracker.imu import CSV_COLUMNS, ImuRecording, MountingCalibration
from tracker.results import SessionAnalysis

_EXPECTED = "t,ax,ay,az,gx,gy,gz in s, m/s², rad/s"
_OPTIONS = ("guidance", "parameters", "calibration", "sampling_rate_hz")


def analyze(data: Any, **options: Any) -> SessionAnalysis:
    """Analyse one session (see the module docstring for `data` and the options). The result's
    `strokes_frame()`, `holds_frame()`, `warnings_frame()`, `phases_frame()` and
    `track_frame()` are pandas DataFrames."""
    from tracker.analysis.pipeline import analyze as run

    recording, guidance, parameters = _inputs(data, options)
    return run(recording, guidance, parameters=parameters)


def signals(data: Any, **options: Any) -> Any:
    """The intermediate signals of the same analysis as a pandas DataFrame, one row per
    analysis-rate sample (25 Hz): t_s (s), pitch_deg (°), position_cm and smooth_position_cm
    (cm along the back from the hips, NaN off the roller), phase, posture."""
    from tracker.analysis.pipeline import analyze_with_details

    recording, guidance, parameters = _inputs(data, options)
    return analyze_with_details(recording, guidance, parameters=parameters)[1].frame()


def recording_from_frame(
    frame: Any,
    *,
    sampling_rate_hz: float | None = None,
    calibration: MountingCalibration | None = None,
) -> ImuRecording:
    """An `ImuRecording` from a DataFrame with the columns t, ax..gz (see the module docstring)."""
    columns = [str(c) for c in frame.columns]
    missing = [c for c in CSV_COLUMNS[:4] if c not in columns]
    if missing:
        raise UsageError(
            f"the DataFrame has no column {', '.join(missing)} (it has {', '.join(columns[:10]) or 'none'})",
            hint=f"give columns {_EXPECTED}",
        )
    t = frame["t"].to_numpy(dtype=float, copy=True)
    acc = frame[["ax", "ay", "az"]].to_numpy(dtype=float, copy=True)
    if all(c in columns for c in CSV_COLUMNS[4:]):
        gyr = frame[["gx", "gy", "gz"]].to_numpy(dtype=float, copy=True)
    elif any(c in columns for c in CSV_COLUMNS[4:]):
        absent = [c for c in CSV_COLUMNS[4:] if c not in columns]
        raise UsageError(
            f"the DataFrame has no column {', '.join(absent)}",
            hint=f"give all of gx, gy, gz in rad/s, or none of them (no gyroscope); {_EXPECTED}",
        )
    else:
        gyr = np.full((len(t), 3), np.nan)
    t_s, acc, gyr, notes = _checked(t, acc, gyr)
    rate = float(sampling_rate_hz) if sampling_rate_hz else float(1.0 / np.median(np.diff(t_s)))
    return ImuRecording(
        t_s, acc, gyr, rate, calibration=calibration, source={"format": "DataFrame", "notes": notes}
    )


def _checked(t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """The checks a CSV file goes through (units, order, duplicates, missing values)."""
    where = "the DataFrame"
    lines = np.arange(len(t)) + 1
    from tracker.formats import tidy_samples

    samples = tidy_samples(t, acc, gyr, lines, where, expected=_EXPECTED)
    return samples.t_s, samples.acc_m_s2, samples.gyr_rad_s, samples.notes


def _inputs(data: Any, options: dict[str, Any]) -> tuple[ImuRecording, Guidance, Any]:
    from tracker.analysis.pipeline import AnalysisParameters

    guidance_fields = {f.name for f in fields(Guidance)}
    unknown = sorted(set(options) - guidance_fields - set(_OPTIONS))
    if unknown:
        raise UsageError(
            f"unknown option(s) {', '.join(unknown)}",
            hint=f"use a Guidance setting ({', '.join(sorted(guidance_fields)[:6])}, ...) or one of {', '.join(_OPTIONS)}",
        )
    guidance = options.get("guidance") or Guidance()
    overrides = {k: v for k, v in options.items() if k in guidance_fields}
    if overrides:
        guidance = guidance.with_overrides(**overrides)
    parameters = options.get("parameters") or AnalysisParameters()
    calibration = options.get("calibration")
    recording = _recording(data, options.get("sampling_rate_hz"), calibration)
    if calibration is not None and recording.calibration is not calibration:
        recording = replace(recording, calibration=calibration)
    return recording, guidance, parameters


def _recording(data: Any, rate: float | None, calibration: MountingCalibration | None) -> ImuRecording:
    if isinstance(data, ImuRecording):
        return data
    if isinstance(data, (str, os.PathLike)):
        from tracker.analysis.io import load_recording

        return load_recording(Path(data))
    if hasattr(data, "columns") and hasattr(data, "to_numpy"):
        return recording_from_frame(data, sampling_rate_hz=rate, calibration=calibration)
    raise UsageError(
        f"cannot analyse a {type(data).__name__}",
        hint=f"give a pandas DataFrame ({_EXPECTED}), a file path, or a tracker.imu.ImuRecording",
    )
