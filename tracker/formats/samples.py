"""Raw sample columns to tidy SI samples: the checks every text format goes through.

| problem                               | handling                                                     |
| ------------------------------------- | ------------------------------------------------------------ |
| rows without a time                   | dropped and noted (a few); more -> error                     |
| time going backwards                  | error with the line number                                   |
| duplicated timestamps                 | the repeated rows are dropped (the first one is kept) and noted; too many -> error |
| time in ms, µs or ns, or Unix time    | see `tracker.formats.units`; Unix time also gives the start  |
| acceleration in g, rotation in deg/s  | see `tracker.formats.units`; all unit problems in one message |
| missing values (empty cells, NaN)     | runs up to `MAX_NAN_RUN_S` are interpolated and noted; more -> error |
| non-uniform sampling, gaps            | kept as they are (samples are never invented here); the analysis resamples short gaps and splits at long ones (see `tracker.analysis.signals`) and says so in its notes |
| too short, too sparse, too slow       | `RecordingTooShortError` / `CsvFormatError` with the minimum  |

A recording without a gyroscope (all rotation values missing) is kept as accelerometer-only:
its `gyr_rad_s` stays NaN and no gyro check applies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from tracker.errors import CsvFormatError, RecordingTooShortError
from tracker.formats.units import (
    MAX_SAMPLING_RATE_HZ,
    MIN_SAMPLING_RATE_HZ,
    TimeUnit,
    UnitOverrides,
    UnitProblem,
    accel_problem,
    gyro_problem,
    read_time_unit,
    unit_problems_text,
)

MIN_DURATION_S = 10.0
"""Shortest recording worth analysing: a hold needs 3 s, and the filters need a few seconds to settle."""
MIN_SAMPLES = 50
MAX_NAN_RUN_S = 0.5
"""Longest run of missing values that is interpolated; longer runs are an error."""
MAX_NAN_FRACTION = 0.02
MAX_DUPLICATE_FRACTION = 0.05


@dataclass
class Samples:
    """Checked samples: time in s from the first sample, SI units, and what was done to them."""

    t_s: np.ndarray
    acc_m_s2: np.ndarray
    gyr_rad_s: np.ndarray
    notes: list[str] = field(default_factory=list)
    start_utc: datetime | None = None
    t0: float = 0.0
    """The first sample's time as written in the file (in its own unit)."""

    @property
    def rate_hz(self) -> float:
        return float(1.0 / np.median(np.diff(self.t_s)))


def tidy_samples(
    t: np.ndarray,
    acc: np.ndarray,
    gyr: np.ndarray | None,
    lines: np.ndarray,
    where: str,
    *,
    units: UnitOverrides | None = None,
    time_unit: TimeUnit | None = None,
    expected: str = "t,ax,ay,az,gx,gy,gz in s, m/s², rad/s",
) -> Samples:
    """Check and tidy raw columns; every unit problem is reported in one `CsvFormatError`.

    `t` (N,), `acc` (N, 3), `gyr` (N, 3) or None (no gyroscope), in the file's units; `lines` are
    the rows' line numbers (for messages). `units` are the user's stated units (they skip
    detection); `time_unit` is a unit the format itself fixes. The arrays may be modified.
    """
    units = units or UnitOverrides()
    notes: list[str] = []
    if gyr is None:
        gyr = np.full((len(t), 3), np.nan)
    t, acc, gyr, lines = _drop_rows_without_time(t, acc, gyr, lines, where, notes)
    if len(t) < 2:
        raise RecordingTooShortError(
            f"{where} has {len(t)} sample(s); at least {MIN_DURATION_S:.0f} s are needed",
            path=where,
            hint="record a longer session",
        )
    _check_order(t, lines, where)
    t, acc, gyr, lines = _drop_duplicates(t, acc, gyr, lines, where, notes)

    problems: list[UnitProblem] = []
    reading = read_time_unit(float(t[0]), float(np.median(np.diff(t))), units.time or time_unit)
    if reading.problem is not None:
        problems.append(reading.problem)
    if reading.note is not None and (units.time is not None or reading.start_utc is not None):
        notes.append(reading.note)
    t0 = float(t[0])
    t_s = (t - t0) * reading.unit.seconds
    del t

    has_gyro = not bool(np.isnan(gyr).all())
    _fill_nans(t_s, acc, gyr if has_gyro else None, where, lambda i: f"line {lines[i]}", notes)

    if units.accel is not None:
        acc *= units.accel.m_s2
    problem = accel_problem(acc, units.accel)
    if problem is not None:
        problems.append(problem)
    if has_gyro:
        if units.gyro is not None:
            gyr *= units.gyro.rad_s
        else:
            problem = gyro_problem(t_s, acc, gyr, notes)
            if problem is not None:
                problems.append(problem)
    if problems:
        message, hint = unit_problems_text(problems)
        raise CsvFormatError(f"{where}: {message}", path=where, hint=hint)
    check_timing(t_s, where, notes)
    return Samples(t_s, acc, gyr, notes, reading.start_utc, t0)


def _drop_rows_without_time(t, acc, gyr, lines, where, notes):
    missing_t = np.isnan(t)
    if not missing_t.any():
        return t, acc, gyr, lines
    if missing_t.mean() > MAX_NAN_FRACTION:
        raise CsvFormatError(
            f"{where}: {int(missing_t.sum())} rows have no time (first on line {lines[missing_t][0]})",
            path=where,
            hint="every row needs a time t",
        )
    keep = ~missing_t
    notes.append(f"dropped {int(missing_t.sum())} rows without a time value")
    return t[keep], acc[keep], gyr[keep], lines[keep]


def _check_order(t: np.ndarray, lines: np.ndarray, where: str) -> None:
    back = np.flatnonzero(np.diff(t) < 0)
    if back.size:
        i = int(back[0]) + 1
        raise CsvFormatError(
            f"{where} line {lines[i]}: time goes backwards ({t[i - 1]:g} -> {t[i]:g})",
            path=where,
            hint="sort the rows by t, or split the file where the clock restarted",
        )


def _drop_duplicates(t, acc, gyr, lines, where, notes):
    dup = np.diff(t) == 0
    if not dup.any():
        return t, acc, gyr, lines
    if dup.mean() > MAX_DUPLICATE_FRACTION:
        raise CsvFormatError(
            f"{where}: {int(dup.sum())} of {len(t)} rows repeat the previous time (first on line "
            f"{lines[int(np.flatnonzero(dup)[0]) + 1]})",
            path=where,
            hint="write t with enough decimals (microseconds) so every sample has its own time",
        )
    keep = np.concatenate([[True], ~dup])
    notes.append(
        f"dropped {int(dup.sum())} rows that repeated the previous timestamp (kept the first)"
    )
    return t[keep], acc[keep], gyr[keep], lines[keep]


def check_timing(t_s: np.ndarray, where: str, notes: list[str]) -> None:
    """Enough samples, long enough, at a rate a motion analysis can use; notes uneven sampling."""
    duration = float(t_s[-1] - t_s[0])
    if duration < MIN_DURATION_S or len(t_s) < MIN_SAMPLES:
        raise RecordingTooShortError(
            f"{where} holds {duration:.1f} s ({len(t_s)} samples); at least {MIN_DURATION_S:.0f} s "
            f"and {MIN_SAMPLES} samples are needed",
            path=where,
            hint="record a longer session",
        )
    dt = np.diff(t_s)
    median_dt = float(np.median(dt))
    rate = 1.0 / median_dt
    if rate < MIN_SAMPLING_RATE_HZ:
        raise CsvFormatError(
            f"{where}: sampling rate {rate:.3g} Hz is too low to analyse (minimum {MIN_SAMPLING_RATE_HZ:g} Hz)",
            path=where,
            hint="record at 25 Hz or more",
        )
    if rate > MAX_SAMPLING_RATE_HZ:
        raise CsvFormatError(
            f"{where}: sampling rate {rate:.3g} Hz is implausible (median step {median_dt:g} s)",
            path=where,
            hint="check the unit of the time column (--time-unit s|ms|us|ns)",
        )
    jitter = float(np.percentile(dt, 90) / median_dt) if len(dt) > 10 else 1.0
    if jitter > 1.5:
        notes.append(
            f"sampling is not uniform (90th-percentile step {jitter:.1f}x the median); resampled for analysis"
        )


def _fill_nans(
    t: np.ndarray,
    acc: np.ndarray,
    gyr: np.ndarray | None,
    where: str,
    locate: Callable[[int], str],
    notes: list[str],
) -> None:
    """Interpolate short runs of missing values in place; raise on long or many."""
    columns = [acc[:, j] for j in range(3)] + (
        [gyr[:, j] for j in range(3)] if gyr is not None else []
    )
    row_bad = np.zeros(len(t), dtype=bool)
    for c in columns:
        row_bad |= ~np.isfinite(c)
    if not row_bad.any():
        return
    if row_bad.mean() > MAX_NAN_FRACTION:
        first = int(np.flatnonzero(row_bad)[0])
        raise CsvFormatError(
            f"{where}: {int(row_bad.sum())} of {len(t)} rows have missing values (first at {locate(first)})",
            path=where,
            hint="fill or delete the rows with empty cells (at most "
            f"{MAX_NAN_FRACTION:.0%} may be missing)",
        )
    edges = np.diff(np.concatenate([[0], row_bad.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    for s, e in zip(starts, ends, strict=True):
        t0 = t[s - 1] if s > 0 else t[s]
        t1 = t[e] if e < len(t) else t[e - 1]
        if t1 - t0 > MAX_NAN_RUN_S or s == 0 or e == len(t):
            raise CsvFormatError(
                f"{where}: missing values from {locate(int(s))} to {locate(int(e) - 1)} ({t1 - t0:.2f} s)",
                path=where,
                hint=f"runs of empty cells longer than {MAX_NAN_RUN_S:g} s (or at the start or end) cannot "
                "be filled in; delete those rows or re-export the data",
            )
    for c in columns:
        bad = ~np.isfinite(c)
        if bad.any():
            c[bad] = np.interp(t[bad], t[~bad], c[~bad])
    notes.append(
        f"interpolated {int(row_bad.sum())} samples with missing values in {len(starts)} short run(s)"
    )


def fill_nans(
    t: np.ndarray, acc: np.ndarray, gyr: np.ndarray | None, where: str, locate: Callable[[int], str]
) -> list[str]:
    """Public form of the missing-value rule (captures use it too); returns the notes."""
    notes: list[str] = []
    _fill_nans(t, acc, gyr, where, locate, notes)
    return notes
