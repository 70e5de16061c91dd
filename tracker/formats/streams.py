"""One sensor's samples on its own clock, and putting two of them on one timeline.

Phones log the accelerometer and the gyroscope as separate streams, each with its own times and
rate (and sometimes a separate gravity stream). Each stream is cleaned on its own (rows with
missing values dropped, repeated times dropped, order checked), then `tracker.imu.align_streams`
puts the others on the accelerometer's timeline without filling gaps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tracker.errors import CsvFormatError, InputFileError, RecordingTooShortError
from tracker.formats.samples import MAX_DUPLICATE_FRACTION, MAX_NAN_FRACTION, MIN_DURATION_S
from tracker.imu import align_streams

MAX_ALIGN_GAP_S = 0.25
"""Longest gap in the second stream that is bridged by interpolation (see `align_streams`)."""


@dataclass
class Stream:
    """Samples of one sensor: times in s (on a clock shared with the other streams), (N, 3) values."""

    name: str
    """What it is, for messages: "Gyroscope.csv"."""
    t_s: np.ndarray
    xyz: np.ndarray
    lines: np.ndarray
    notes: list[str] = field(default_factory=list)

    @property
    def span(self) -> str:
        return f"{self.t_s[0]:.1f}-{self.t_s[-1]:.1f} s" if len(self.t_s) else "no samples"


def clean_stream(
    name: str, t: np.ndarray, xyz: np.ndarray, lines: np.ndarray, *, trailing_padding: bool = False
) -> Stream:
    """Drop rows with missing values (a few; or trailing padding), drop repeated times, check order."""
    notes: list[str] = []
    bad = np.isnan(t) | np.isnan(xyz).any(axis=1)
    if trailing_padding and bad.any():
        # phyphox pads a shorter column with NaN up to the longest one in the same file
        good = np.flatnonzero(~bad)
        end = int(good[-1]) + 1 if len(good) else 0
        t, xyz, lines, bad = t[:end], xyz[:end], lines[:end], bad[:end]
    if bad.any():
        if bad.mean() > MAX_NAN_FRACTION:
            raise CsvFormatError(
                f"{name}: {int(bad.sum())} of {len(t)} rows have missing values (first on line {lines[bad][0]})",
                path=name,
                hint="export the recording again; if the file was cut, copy it again",
            )
        notes.append(f"{name}: dropped {int(bad.sum())} rows with missing values")
        t, xyz, lines = t[~bad], xyz[~bad], lines[~bad]
    if len(t) < 2:
        raise RecordingTooShortError(
            f"{name} holds {len(t)} sample(s)", path=name, hint="record a longer session"
        )
    dt = np.diff(t)
    back = np.flatnonzero(dt < 0)
    if back.size:
        i = int(back[0]) + 1
        raise CsvFormatError(
            f"{name} line {lines[i]}: time goes backwards ({t[i - 1]:.6f} -> {t[i]:.6f} s)",
            path=name,
            hint="export the recording again; the rows must be in time order",
        )
    dup = dt == 0
    if dup.any():
        if dup.mean() > MAX_DUPLICATE_FRACTION:
            raise CsvFormatError(
                f"{name}: {int(dup.sum())} of {len(t)} rows repeat the previous time",
                path=name,
                hint="export the recording again",
            )
        keep = np.concatenate([[True], ~dup])
        notes.append(f"{name}: dropped {int(dup.sum())} rows that repeated the previous timestamp")
        t, xyz, lines = t[keep], xyz[keep], lines[keep]
    return Stream(name, t, xyz, lines, notes)


def align(
    base: Stream, other: Stream, where: str, *, what: str = "gyroscope"
) -> tuple[Stream, np.ndarray]:
    """`other` interpolated onto `base`'s times (base rows outside it or in its gaps are dropped).

    Returns the kept part of `base` and the (K, 3) aligned values. Streams that do not overlap, or
    overlap too briefly to analyse, are an error that names both spans.
    """
    t, xyz, values = align_streams(
        base.t_s, base.xyz, other.t_s, other.xyz, max_gap_s=MAX_ALIGN_GAP_S
    )
    if len(t) < 2:
        raise InputFileError(
            f"{where}: {base.name} ({base.span}) and {other.name} ({other.span}) do not overlap in time",
            path=where,
            hint=f"the accelerometer and the {what} must come from the same recording: export them together",
        )
    if t[-1] - t[0] < MIN_DURATION_S:
        raise RecordingTooShortError(
            f"{where}: {base.name} ({base.span}) and {other.name} ({other.span}) overlap for only "
            f"{t[-1] - t[0]:.1f} s; at least {MIN_DURATION_S:.0f} s are needed",
            path=where,
            hint=f"the accelerometer and the {what} must come from the same recording: export them together",
        )
    keep = np.isin(base.t_s, t)
    notes = list(base.notes)
    inside = int(np.count_nonzero(~keep[np.flatnonzero(keep)[0] : np.flatnonzero(keep)[-1] + 1]))
    ends_s = (base.t_s[-1] - base.t_s[0]) - (t[-1] - t[0])
    if inside:
        notes.append(
            f"{other.name} has gaps: {inside} {base.name} samples without {what} data around "
            "them were left out (the gaps stay gaps)"
        )
    if ends_s > 0.5:
        notes.append(
            f"{base.name} and {other.name} overlap for {t[-1] - t[0]:.1f} s: the {ends_s:.1f} s "
            f"recorded without the {what} were left out"
        )
    return Stream(base.name, t, xyz, base.lines[keep], notes), values
