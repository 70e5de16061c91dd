"""The IMU frame: the one documented column set every analysis starts from.

Whatever the source (a live sensor, a capture file, a CSV, the simulator), analysis receives an
`ImuRecording`:

| field        | shape  | unit  | meaning                                                       |
| ------------ | ------ | ----- | ------------------------------------------------------------- |
| `t_s`        | (N,)   | s     | sample time from the first sample, strictly increasing        |
| `acc_m_s2`   | (N, 3) | m/s²  | specific force in the sensor frame (reads +9.81 up at rest)   |
| `gyr_rad_s`  | (N, 3) | rad/s | rotation rate in the sensor frame                             |

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
    def duration_s(self) -> float:
        return float(self.t_s[-1] - self.t_s[0]) if len(self.t_s) else 0.0

    def to_columns(self) -> np.ndarray:
        """(N, 7) array in CSV column order: t, ax, ay, az, gx, gy, gz."""
        return np.column_stack([self.t_s, self.acc_m_s2, self.gyr_rad_s])
