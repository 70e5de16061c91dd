"""The typed records that flow between the live stages.

`Sample` is one analysis-rate sample in the sensor frame, as the raw stage makes it (block means
of the samples the sensor sent, with the orientation filter's output); `BodySample` is the same
sample turned into the body frame once the strap's rotation is known (every later stage works
on these). Postures are the strings of `tracker.results.POSTURES` ("hips_down", "bridge"),
as offline; `None` means not on the roller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

HIPS_DOWN = "hips_down"
BRIDGE = "bridge"


def _asin(x: float) -> float:
    return math.asin(max(-1.0, min(1.0, x)))


@dataclass(slots=True)
class Sample:
    """One analysis-rate sample, sensor frame (the block mean of the native samples)."""

    t_s: float
    """Session time, s (sensor clock, from the first sample)."""
    up: np.ndarray
    """(3,) unit up vector from the running orientation filter."""
    acc_m_s2: np.ndarray
    """(3,) specific force, m/s²."""
    gyr_rad_s: np.ndarray
    """(3,) rotation rate less the running filter's bias estimate, rad/s."""
    gyr_raw_rad_s: np.ndarray
    """(3,) rotation rate as measured (its constant bias left in), rad/s."""
    rest: bool
    """The orientation filter's rest detector."""
    bridged: bool
    """Inside a short gap, interpolated: neither motion nor stillness."""
    up_slow: np.ndarray
    """(3,) unit up vector from the filter with the offline accelerometer time constant (the
    pitch the posture rules and the bridge use); set by the orientation stage."""
    moving_about: bool = False
    """Walking, the sensor carried or lying on a table (`tracker.analysis.activity`): nothing
    to learn the body axes from."""

    def to_body(self, sensor_to_body: np.ndarray) -> BodySample:
        # the five vectors turned at once (one product instead of five small ones)
        up, acc, gyr, gyr_raw, up_slow = np.array([self.up, self.acc_m_s2, self.gyr_rad_s, self.gyr_raw_rad_s, self.up_slow]) @ sensor_to_body.T
        return BodySample(
            t_s=self.t_s,
            up=up,
            acc_m_s2=acc,
            gyr_rad_s=gyr,
            gyr_raw_rad_s=gyr_raw,
            up_slow=up_slow,
            bridged=self.bridged,
            moving_about=self.moving_about,
        )


@dataclass(frozen=True, slots=True)
class BodySample:
    """One analysis-rate sample in the body frame (x anterior, y left, z superior)."""

    t_s: float
    up: np.ndarray
    acc_m_s2: np.ndarray
    gyr_rad_s: np.ndarray
    gyr_raw_rad_s: np.ndarray
    up_slow: np.ndarray
    bridged: bool
    moving_about: bool = False
    """Not on a person just now (`Sample.moving_about`)."""

    @property
    def pitch_rad(self) -> float:
        """Elevation of the superior axis above horizontal (running filter), rad."""
        return _asin(float(self.up[2]))

    @property
    def slow_pitch_rad(self) -> float:
        """The same from the offline-time-constant filter, rad."""
        return _asin(float(self.up_slow[2]))

    @property
    def sagittal_deg(self) -> float:
        """Sagittal angle of the torso, atan2(up_z, up_x): 90° standing, below 70° lying back."""
        return math.degrees(math.atan2(float(self.up[2]), float(self.up[0])))

    @property
    def turn_rate_deg_s(self) -> float:
        """Magnitude of the rotation rate, °/s."""
        g = self.gyr_rad_s
        return math.degrees(math.sqrt(float(g @ g)))
