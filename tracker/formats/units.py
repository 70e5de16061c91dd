"""Units of a recording's time, acceleration and rotation rate: explicit choices, or detection.

A file that names its units (Sensor Logger, phyphox) is read in those units. A plain CSV is expected
in s, m/s² and rad/s; when its numbers say otherwise, detection names every suspect quantity at once
(time, acceleration and rotation together, not only the first) with the conversion and the option
that skips detection (`--time-unit`, `--accel-unit`, `--gyro-unit`).

Detection, and why each rule holds:

* time: a first value that reads as a date between 2000 and 2100 in s, ms, µs or ns since 1970
  (Unix time) fixes the unit, because those four ranges do not overlap; the date is the session's
  start. Otherwise the median step must give a sampling rate that a motion sensor uses (10 to
  5000 Hz): a step of 10 at 100 Hz is milliseconds, not seconds.
* acceleration: at rest an accelerometer reads gravity, so the median |a| is near 9.8 in m/s², near 1
  in g and near 1000 in milli-g.
* rotation rate: the accelerometer sees gravity tilt in the sensor frame, dg/dt = -ω × g. Only the
  part of ω across gravity tilts it; rotation about the vertical leaves g where it is. So the gyro
  is compared with the accelerometer over short windows in which the gyro's tilting rotation is
  clear, the sensor is close to still (|a| near g, so its direction is gravity's) and rotation
  about the vertical does not dominate (where centripetal acceleration would bend the apparent
  vertical). The fitted ratio is about 1 for rad/s and π/180 for deg/s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum, StrEnum
from typing import Any

import numpy as np

from tracker.imu import STANDARD_GRAVITY_M_S2

MIN_SAMPLING_RATE_HZ = 10.0
"""Below this the strokes' turns and the transitions are no longer resolved."""
MAX_SAMPLING_RATE_HZ = 5000.0

EPOCH_MIN_S = 946_684_800.0  # 2000-01-01T00:00:00Z
EPOCH_MAX_S = 4_102_444_800.0  # 2100-01-01T00:00:00Z


class TimeUnit(StrEnum):
    """Unit of a CSV's time column."""

    S = "s"
    MS = "ms"
    US = "us"
    NS = "ns"

    @property
    def seconds(self) -> float:
        return {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}[self.value]

    @property
    def word(self) -> str:
        return {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}[
            self.value
        ]


class AccelUnit(StrEnum):
    """Unit of a CSV's acceleration columns."""

    M_S2 = "m/s2"
    G = "g"

    @property
    def m_s2(self) -> float:
        return 1.0 if self is AccelUnit.M_S2 else STANDARD_GRAVITY_M_S2


class GyroUnit(StrEnum):
    """Unit of a CSV's rotation-rate columns."""

    RAD_S = "rad/s"
    DEG_S = "deg/s"

    @property
    def rad_s(self) -> float:
        return 1.0 if self is GyroUnit.RAD_S else math.pi / 180.0


@dataclass(frozen=True)
class UnitOverrides:
    """Units the user stated (`--time-unit`, `--accel-unit`, `--gyro-unit`); None: detect."""

    time: TimeUnit | None = None
    accel: AccelUnit | None = None
    gyro: GyroUnit | None = None

    @classmethod
    def of(
        cls, time: str | None = None, accel: str | None = None, gyro: str | None = None
    ) -> UnitOverrides:
        """From option strings; an unknown unit is a `ValueError` naming the choices."""
        return cls(
            _choice(TimeUnit, time, "--time-unit"),
            _choice(AccelUnit, accel, "--accel-unit"),
            _choice(GyroUnit, gyro, "--gyro-unit"),
        )

    def any(self) -> bool:
        return any(v is not None for v in (self.time, self.accel, self.gyro))

    def flags(self) -> str:
        parts = []
        if self.time is not None:
            parts.append(f"--time-unit {self.time.value}")
        if self.accel is not None:
            parts.append(f"--accel-unit {self.accel.value}")
        if self.gyro is not None:
            parts.append(f"--gyro-unit {self.gyro.value}")
        return " ".join(parts)


def _choice(kind: type[Enum], value: str | None, option: str) -> Any:
    if value is None or isinstance(value, kind):
        return value
    try:
        return kind(str(value).strip().lower())
    except ValueError:
        choices = "|".join(str(k.value) for k in kind)
        raise ValueError(f"{option} {value!r} is not one of {choices}") from None


@dataclass(frozen=True)
class UnitProblem:
    """A quantity whose numbers do not fit the expected unit."""

    message: str
    """What the numbers look like, e.g. "time t looks like milliseconds (median step 10)"."""
    fix: str
    """How to convert, e.g. "divide t by 1000"."""
    flag: str | None = None
    """The option that reads the file as it is, e.g. "--time-unit ms"."""


def unit_problems_text(problems: list[UnitProblem]) -> tuple[str, str]:
    """(message, hint) for all of a file's unit problems, on one line."""
    message = "; ".join(p.message for p in problems)
    fixes = ", ".join(p.fix for p in problems)
    flags = " ".join(p.flag for p in problems if p.flag)
    hint = fixes + (f" (or keep the file as it is and pass {flags})" if flags else "")
    return message, hint


# --- time -------------------------------------------------------------------------------------
def rate_plausible(rate_hz: float) -> bool:
    return MIN_SAMPLING_RATE_HZ <= rate_hz <= MAX_SAMPLING_RATE_HZ


@dataclass(frozen=True)
class TimeReading:
    """How raw time values become seconds."""

    unit: TimeUnit
    start_utc: datetime | None = None
    """The first sample's wall-clock time, when the times are Unix time."""
    note: str | None = None
    problem: UnitProblem | None = None


def epoch_start(t0_s: float) -> datetime | None:
    """The UTC time of `t0_s` seconds since 1970, if it falls between 2000 and 2100."""
    if math.isfinite(t0_s) and EPOCH_MIN_S <= t0_s <= EPOCH_MAX_S:
        return datetime.fromtimestamp(t0_s, tz=UTC)
    return None


def read_time_unit(t0: float, median_step: float, stated: TimeUnit | None) -> TimeReading:
    """Decide the unit of raw times whose first value is `t0` and median step `median_step`."""
    if stated is not None:
        start = epoch_start(t0 * stated.seconds)
        note = f"t read in {stated.word} (--time-unit {stated.value})"
        return TimeReading(stated, start, note)
    for unit in TimeUnit:
        start = epoch_start(t0 * unit.seconds)
        if (
            start is not None
            and median_step > 0
            and rate_plausible(1.0 / (median_step * unit.seconds))
        ):
            note = (
                f"t is Unix time in {unit.word}; the recording starts at "
                f"{start.isoformat(timespec='seconds').replace('+00:00', 'Z')}"
            )
            return TimeReading(unit, start, note)
    if median_step <= 0 or rate_plausible(1.0 / median_step):
        return TimeReading(TimeUnit.S)
    for unit, factor in (
        (TimeUnit.MS, "1000"),
        (TimeUnit.US, "1000000"),
        (TimeUnit.NS, "1000000000"),
    ):
        if rate_plausible(1.0 / (median_step * unit.seconds)):
            problem = UnitProblem(
                f"time t looks like {unit.word} (median step {median_step:g}, which would be "
                f"{1.0 / median_step:.3g} Hz in seconds)",
                f"convert t to seconds (divide by {factor})",
                f"--time-unit {unit.value}",
            )
            return TimeReading(unit, None, None, problem)
    return TimeReading(TimeUnit.S)  # the rate checks say what is wrong


# --- acceleration -----------------------------------------------------------------------------
def median_norm(v: np.ndarray) -> float:
    """Median |v| over rows of an (N, 3) array, without an (N, 3) temporary."""
    finite = v[np.isfinite(v).all(axis=1)] if not np.isfinite(v).all() else v
    if not len(finite):
        return math.nan
    return float(np.sqrt(np.median(np.einsum("ij,ij->i", finite, finite))))


def accel_problem(acc_m_s2: np.ndarray, stated: AccelUnit | None) -> UnitProblem | None:
    """A problem when the acceleration (already scaled to m/s²) does not read gravity at rest."""
    magnitude = median_norm(acc_m_s2)
    if stated is None and 0.5 <= magnitude <= 2.0:
        return UnitProblem(
            f"acceleration looks like it is in g (median |a| = {magnitude:.2f}; at rest it is "
            f"{STANDARD_GRAVITY_M_S2:.2f} in m/s²)",
            f"multiply ax, ay, az by {STANDARD_GRAVITY_M_S2}",
            "--accel-unit g",
        )
    if stated is None and 500 <= magnitude <= 2000:
        return UnitProblem(
            f"acceleration looks like it is in milli-g (median |a| = {magnitude:.0f})",
            f"multiply ax, ay, az by {STANDARD_GRAVITY_M_S2 / 1000}",
        )
    if not 6.0 <= magnitude <= 14.0:
        with_flag = f" with --accel-unit {stated.value}" if stated is not None else ""
        return UnitProblem(
            f"median |a| = {magnitude:.3g} m/s²{with_flag} is not gravity ({STANDARD_GRAVITY_M_S2:.2f} m/s²)",
            "give the accelerometer's specific force (gravity included) in m/s² or g",
        )
    return None


# --- rotation rate ----------------------------------------------------------------------------
WINDOW_S = 0.5
SMOOTH_S = 0.2
MIN_TILT_RAD = math.radians(5.0)
STILL_TOLERANCE = 0.15
"""|a| within this fraction of g: the accelerometer's direction is gravity's."""


def _window_sums(x: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Sum of x[s:e] for each (s, e), x (N,) or (N, k), via one cumulative sum per column."""
    if x.ndim == 1:
        c = np.concatenate([[0.0], np.cumsum(x)])
        return c[ends] - c[starts]
    return np.column_stack([_window_sums(x[:, j], starts, ends) for j in range(x.shape[1])])


def gyro_scale_estimate(t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> tuple[float, int]:
    """Scale k with (tilt of gravity seen by the accelerometer) ≈ k * (gyro's tilting rotation).

    Over windows of `WINDOW_S`, the gyro-integrated rotation θ is split into its part along
    gravity (turning about the vertical: gravity stays put) and across it (tilting); only windows
    where the tilt is clear, the sensor is close to still at both ends, and the vertical part does
    not dominate are used. A least-squares fit of the measured change of gravity's direction
    against -θ⊥ × g gives k ≈ 1 for rad/s and ≈ π/180 for deg/s. Returns (k, windows used); k is
    NaN when the recording has too little tilting rotation to tell. Memory: a few (N,) columns.
    """
    n = len(t)
    if n < 8:
        return math.nan, 0
    rate = 1.0 / float(np.median(np.diff(t)))
    win = max(2, int(round(WINDOW_S * rate)))
    half = max(1, int(round(SMOOTH_S * rate / 2)))
    bounds = np.arange(half, n - half, win)
    if len(bounds) < 5:
        return math.nan, 0
    # gravity: the accelerometer averaged over SMOOTH_S around each window boundary
    g = _window_sums(acc, bounds - half, bounds + half) / (2 * half)
    g_norm = np.linalg.norm(g, axis=1)
    g_unit = g / (g_norm[:, None] + 1e-12)
    still = np.abs(g_norm - STANDARD_GRAVITY_M_S2) <= STILL_TOLERANCE * STANDARD_GRAVITY_M_S2
    # rotation integrated over each window (trapezoid-free: rate x step, as the samples come)
    dt = np.diff(t, append=t[-1])
    theta = np.column_stack(
        [_window_sums(gyr[:, j] * dt, bounds[:-1], bounds[1:]) for j in range(3)]
    )
    g0, g1 = g_unit[:-1], g_unit[1:]
    g_mid = g0 + g1
    g_mid /= np.linalg.norm(g_mid, axis=1, keepdims=True) + 1e-12
    along = np.einsum("ij,ij->i", theta, g_mid)
    across = theta - along[:, None] * g_mid
    tilt = np.linalg.norm(across, axis=1)
    predicted = -np.cross(across, g_mid)
    measured = g1 - g0
    use = still[:-1] & still[1:] & (tilt > MIN_TILT_RAD) & (np.abs(along) <= 2.0 * tilt)
    if use.sum() < 3:
        return math.nan, int(use.sum())
    p, m = predicted[use], measured[use]
    k = float(np.sum(p * m) / max(np.sum(p * p), 1e-12))
    return k, int(use.sum())


def gyro_problem(
    t_s: np.ndarray, acc: np.ndarray, gyr: np.ndarray, notes: list[str]
) -> UnitProblem | None:
    """A problem when the rotation rate does not look like rad/s; adds a note when it cannot tell."""
    fix = "multiply gx, gy, gz by pi/180 (0.0174533) to get rad/s"
    k, _used = gyro_scale_estimate(t_s, acc, gyr)
    if math.isfinite(k) and 0.005 < k < 0.06:
        return UnitProblem(
            f"rotation rate looks like it is in deg/s (the gyro tilts {1 / k:.0f}x more than gravity "
            "does in the accelerometer; rad/s gives 1x)",
            fix,
            "--gyro-unit deg/s",
        )
    peak = _peak_rate(gyr)
    if peak > 40.0:
        # 40 rad/s is 6.4 turns per second: no torso does that; 40 deg/s is a brisk sit-down.
        return UnitProblem(
            f"rotation rates up to {peak:.0f} are implausible for rad/s from a torso; they look like deg/s",
            fix,
            "--gyro-unit deg/s",
        )
    if not math.isfinite(k):
        notes.append(
            "gyro units could not be cross-checked against the accelerometer (too little tilting rotation)"
        )
    elif not 0.5 < k < 2.0:
        notes.append(
            f"gyro and accelerometer disagree on how far the sensor tilted (ratio {k:.2f}); results may be off"
        )
    return None


def _peak_rate(gyr: np.ndarray) -> float:
    sq = np.einsum("ij,ij->i", gyr, gyr)
    return float(np.sqrt(np.percentile(sq, 99.9))) if len(sq) else 0.0
