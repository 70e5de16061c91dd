"""The IMU frame: the one documented column set every analysis starts from.

Whatever the source (a live sensor, a capture file, a CSV, the simulator), analysis receives an
`ImuRecording`:

| field        | shape  | unit  | meaning                                                       |
| ------------ | ------ | ----- | ------------------------------------------------------------- |
| `t_s`        | (N,)   | s     | sample time from the first sample, strictly increasing        |
| `acc_m_s2`   | (N, 3) | m/s²  | specific force in the sensor frame (reads +9.81 up at rest)   |
| `gyr_rad_s`  | (N, 3) | rad/s | rotation rate in the sensor frame; all NaN when the sensor    |
|              |        |       | has no gyroscope (Polar H10, some phones): `has_gyro` is False |

Gaps (lost packets, a dropped link) show as larger steps in `t_s`; samples are never invented.
The sensor frame is whatever way the strap sits; `calibration` (when known) maps it to the body
frame defined in `BODY_AXES`.

CSV files use the same columns with the header `t,ax,ay,az,gx,gy,gz`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

CSV_COLUMNS = ("t", "ax", "ay", "az", "gx", "gy", "gz")
STANDARD_GRAVITY_M_S2 = 9.80665

#: Body frame used everywhere after calibration (right-handed):
#: x points out of the chest (anterior), y to the person's left, z toward the head (superior).
BODY_AXES = {"x": "anterior", "y": "left", "z": "superior"}


def quaternion_to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrix of the unit quaternion `q` = (w, x, y, z), (4,) -> (3, 3) or (n, 4) ->
    (n, 3, 3). The matrix rotates a vector from the frame the quaternion describes into the
    reference frame (v_ref = R @ v)."""
    q = np.asarray(q, dtype=float)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    rows = [
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ]
    return np.stack([np.stack(r, axis=-1) for r in rows], axis=-2)


@dataclass(frozen=True)
class MountingCalibration:
    """How the sensor sits on the body.

    `sensor_to_body` is the 3x3 rotation matrix R with v_body = R @ v_sensor. `source` says where it
    came from: "pairing" (guided stand-still and lie-still), "inferred" (from the recording itself).
    """

    sensor_to_body: np.ndarray
    source: str = "pairing"
    quality: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "sensor_to_body": np.asarray(self.sensor_to_body, dtype=float).round(9).tolist(),
            "source": self.source,
            "quality": {k: float(v) for k, v in self.quality.items()},
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> MountingCalibration:
        matrix = np.asarray(obj["sensor_to_body"], dtype=float)
        if matrix.shape != (3, 3) or not np.allclose(matrix @ matrix.T, np.eye(3), atol=1e-4):
            raise ValueError("sensor_to_body must be a 3x3 rotation matrix")
        return cls(matrix, str(obj.get("source", "pairing")), dict(obj.get("quality", {})))


@dataclass(frozen=True)
class ImuRecording:
    """IMU samples in SI units with their timing and what is known about the sensor."""

    t_s: np.ndarray
    acc_m_s2: np.ndarray
    gyr_rad_s: np.ndarray
    sampling_rate_hz: float
    start_utc: datetime | None = None
    """Wall-clock time of the first sample (timezone-aware, UTC), when known."""
    utc_offset_s: int | None = None
    """The local UTC offset at the start of the recording, in seconds, when known."""
    timezone: str | None = None
    """IANA time zone name at the place of recording, when known."""
    calibration: MountingCalibration | None = None
    source: dict[str, Any] = field(default_factory=dict)
    """Where the samples came from: file path, sensor identity, settings, decode statistics."""

    def __post_init__(self) -> None:
        n = len(self.t_s)
        if self.acc_m_s2.shape != (n, 3) or self.gyr_rad_s.shape != (n, 3):
            raise ValueError(
                f"acc and gyr must have shape ({n}, 3); got {self.acc_m_s2.shape} and {self.gyr_rad_s.shape}"
            )

    def __len__(self) -> int:
        return len(self.t_s)

    @property
    def has_gyro(self) -> bool:
        """False for an accelerometer-only recording (its `gyr_rad_s` is all NaN)."""
        return bool(len(self.gyr_rad_s)) and not bool(np.isnan(self.gyr_rad_s).all())

    @property
    def duration_s(self) -> float:
        return float(self.t_s[-1] - self.t_s[0]) if len(self.t_s) else 0.0

    def to_columns(self) -> np.ndarray:
        """(N, 7) array in CSV column order: t, ax, ay, az, gx, gy, gz."""
        return np.column_stack([self.t_s, self.acc_m_s2, self.gyr_rad_s])


def align_streams(
    acc_t_s: np.ndarray,
    acc: np.ndarray,
    gyr_t_s: np.ndarray,
    gyr: np.ndarray,
    *,
    max_gap_s: float = 0.25,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Put an accelerometer and a gyroscope that sample on their own clocks on one timeline.

    Phones and the Polar Verity Sense deliver the two sensors as separate streams, each with its
    own times and rate. The accelerometer's times are kept (gravity, hence tilt and position,
    comes from it) and the rotation rate is linearly interpolated onto them. Accelerometer
    samples outside the gyroscope's span, or whose gyroscope neighbours are more than
    `max_gap_s` apart (a gap in the gyro stream), are dropped rather than filled: samples are
    never invented across a gap, so the gap shows as a step in the returned times.

    `acc_t_s` (N,), `acc` (N, 3), `gyr_t_s` (M,), `gyr` (M, 3), times in seconds on one clock
    (both strictly increasing). Returns `(t_s, acc, gyr)` with K <= N rows.
    """
    acc_t_s = np.asarray(acc_t_s, dtype=float)
    gyr_t_s = np.asarray(gyr_t_s, dtype=float)
    acc = np.asarray(acc, dtype=float).reshape(-1, 3)
    gyr = np.asarray(gyr, dtype=float).reshape(-1, 3)
    if len(acc_t_s) != len(acc) or len(gyr_t_s) != len(gyr):
        raise ValueError("each stream needs one time per sample")
    if len(gyr_t_s) < 2 or len(acc_t_s) == 0:
        empty = np.empty((0, 3))
        return np.empty(0), empty, empty.copy()
    right = np.searchsorted(gyr_t_s, acc_t_s, side="left")
    inside = (right > 0) & (right < len(gyr_t_s))
    inside |= acc_t_s == gyr_t_s[0]
    right = np.clip(right, 1, len(gyr_t_s) - 1)
    span = gyr_t_s[right] - gyr_t_s[right - 1]
    keep = inside & (span <= max_gap_s)
    t = acc_t_s[keep]
    out = np.column_stack([np.interp(t, gyr_t_s, gyr[:, k]) for k in range(3)])
    return t, acc[keep], out


class StreamAligner:
    """`align_streams` fed piece by piece: the same rows, as the streams arrive.

    A live source (a Verity Sense, a phone pushing its readings) delivers the two streams in
    pieces that do not line up. A base (accelerometer) sample is decided once the other stream
    has a sample at or after its time: then `align_streams` on everything fed so far would keep
    or drop it exactly as it does here, so the rows delivered over all `push_*` calls are the
    rows `align_streams` returns for the whole streams (samples are never invented; base samples
    outside the other stream's span or in its gaps are dropped and counted in `dropped`).
    Times must increase within each stream across calls (the caller drops late samples).
    """

    def __init__(self, max_gap_s: float = 0.25) -> None:
        self.max_gap_s = float(max_gap_s)
        self.dropped = 0
        """Base samples left out (no samples of the other stream around them)."""
        self._base: list[tuple[np.ndarray, np.ndarray]] = []
        self._other: list[tuple[np.ndarray, np.ndarray]] = []

    @property
    def pending(self) -> int:
        """Base samples waiting for the other stream to cover them."""
        return sum(len(t) for t, _ in self._base)

    def push_base(self, t_s: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if len(t_s):
            self._base.append((np.asarray(t_s, float), np.asarray(values, float).reshape(-1, 3)))
        return self._deliver()

    def push_other(self, t_s: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if len(t_s):
            self._other.append((np.asarray(t_s, float), np.asarray(values, float).reshape(-1, 3)))
        return self._deliver()

    def _deliver(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        empty = (np.empty(0), np.empty((0, 3)), np.empty((0, 3)))
        if not self._base or not self._other:
            return empty
        base_t, base = _joined(self._base)
        other_t, other = _joined(self._other)
        self._other = [(other_t, other)]
        if len(other_t) < 2:  # only the base samples before the other stream began are decided
            before = int(np.searchsorted(base_t, other_t[0], side="left"))
            self.dropped += before
            self._base = [(base_t[before:], base[before:])] if before < len(base_t) else []
            return empty
        ready = int(np.searchsorted(base_t, other_t[-1], side="right"))
        self._base = [(base_t[ready:], base[ready:])] if ready < len(base_t) else []
        if ready == 0:
            return empty
        t, kept, aligned = align_streams(
            base_t[:ready], base[:ready], other_t, other, max_gap_s=self.max_gap_s
        )
        self.dropped += ready - len(t)
        # the other stream's samples before the last delivered base sample's interval are done
        keep = max(0, int(np.searchsorted(other_t, base_t[ready - 1], side="right")) - 1)
        self._other = [(other_t[keep:], other[keep:])]
        return t, kept, aligned


def _joined(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    if len(parts) == 1:
        return parts[0]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
