"""What the emulated sensor measures: sample sources that yield raw int16 counts.

A source is "the world" the emulated IMU sits in. The sensor asks it for samples by index on a
sample grid (`start`..`stop` at the configured rate and ranges); index `i` is the instant
`i / sampling_rate_hz` seconds after the source's origin (the first start-streaming command after
the source was installed). Random access by index is what lets the sensor *lose* samples the way a
real one does: while the link is down the world keeps moving, and the next stream continues at the
sample that exists at that moment, not where the last one stopped.

Three kinds of source:

- `MotionScriptSource`: physics of a torso-worn IMU for a script of poses (stand, sit, lie, still
  on the roller), with gravity seen through the strap's mounting rotation, breathing, sensor
  noise and gyro bias. `calibration_pose_source()` is the pairing calibration's "stand still,
  then lie on the roller still".
- `ArraySource`: recorded counts (a capture, a fixture) replayed exactly when the sensor runs at
  the array's own rate and ranges (otherwise resampled in time and rescaled, then re-quantised).
- `SimulatedSessionSource`: the physical simulator's session (`tracker.simulate.simulate_session`)
  as counts, with its ground truth at hand.

When a finite source runs out, the sensor keeps streaming (a real IMU never stops sampling):
`end="hold"` (the default) repeats the final state, `end="loop"` starts again from the beginning.
For an `ArraySource` "hold" repeats the last row bit for bit; a `MotionScriptSource` holds the
last pose with fresh noise, as a person who froze would look. `SampleSource.ended(stop, config)`
says whether a range ran past the end.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from tracker.protocol import packets, spec

EndPolicy = Literal["hold", "loop"]
COUNT_MIN = -32768
COUNT_MAX = 32767


@dataclass(frozen=True)
class SensorConfig:
    """The sensor settings that shape the counts: rate (Hz) and full-scale ranges (g, °/s)."""

    sampling_rate_hz: int = spec.DEFAULT_SAMPLE_RATE_HZ
    accel_range_g: int = spec.DEFAULT_ACCEL_RANGE_G
    gyro_range_dps: int = spec.DEFAULT_GYRO_RANGE_DPS

    @property
    def period_us(self) -> int:
        """Sample period in µs (exact for every rate of `spec.SAMPLE_RATES_HZ`)."""
        return 1_000_000 // self.sampling_rate_hz

    @property
    def accel_scale_m_s2(self) -> float:
        return spec.accel_scale_m_s2(self.accel_range_g)

    @property
    def gyro_scale_rad_s(self) -> float:
        return spec.gyro_scale_rad_s(self.gyro_range_dps)


def quantize(acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray, config: SensorConfig) -> np.ndarray:
    """SI values (N, 3) + (N, 3) -> (N, 6) int16 counts, rounded and saturated like an IMU's ADC
    (`tracker.protocol.packets.si_to_counts` at `config`'s ranges)."""
    counts, _clipped = packets.si_to_counts(
        acc_m_s2, gyr_rad_s, config.accel_range_g, config.gyro_range_dps
    )
    return counts


def counts_to_si(counts: np.ndarray, config: SensorConfig) -> tuple[np.ndarray, np.ndarray]:
    """(N, 6) counts -> (acc m/s² (N, 3), gyr rad/s (N, 3)) at `config`'s ranges
    (`tracker.protocol.packets.counts_to_si`)."""
    return packets.counts_to_si(counts, config.accel_range_g, config.gyro_range_dps)


def is_clipped(counts: np.ndarray) -> bool:
    """True when any value sits at either end of the int16 range (the sensor saturated)."""
    raw = np.asarray(counts)
    return bool(raw.size) and bool(((raw == COUNT_MIN) | (raw == COUNT_MAX)).any())


class SampleSource(abc.ABC):
    """Raw IMU counts by sample index; see the module docstring for the time model."""

    end: EndPolicy = "hold"

    @abc.abstractmethod
    def length(self, config: SensorConfig) -> int | None:
        """Samples before the end policy applies, at `config`'s rate; None for an endless source."""

    @abc.abstractmethod
    def _counts(self, index: np.ndarray, config: SensorConfig) -> np.ndarray:
        """(len(index), 6) int16 counts for in-range sample indices (already mapped by the end policy)."""

    def counts(self, start: int, stop: int, config: SensorConfig) -> np.ndarray:
        """Counts of samples `start` (inclusive) to `stop` (exclusive): (stop - start, 6) int16."""
        if start < 0 or stop < start:
            raise ValueError(f"need 0 <= start <= stop; got {start}, {stop}")
        index = np.arange(start, stop, dtype=np.int64)
        n = self.length(config)
        if n is not None:
            if n <= 0:
                raise ValueError("a sample source needs at least one sample")
            index = index % n if self.end == "loop" else np.minimum(index, n - 1)
        return self._counts(index, config)

    def ended(self, stop: int, config: SensorConfig) -> bool:
        """True when a read up to `stop` went past the source's last sample."""
        n = self.length(config)
        return n is not None and stop > n

    def describe(self) -> dict[str, Any]:
        """Provenance for logs and capture headers."""
        return {"kind": type(self).__name__, "end": self.end}


# --- recorded counts -------------------------------------------------------------------------
class ArraySource(SampleSource):
    """Replay recorded counts (N, 6) int16, taken at `sampling_rate_hz` and the given ranges.

    At the recording's own rate and ranges the counts come back bit for bit. At another rate the
    recording is resampled linearly in time; at other ranges it is rescaled and re-quantised
    (saturating where the new range is smaller), like the same motion measured differently.
    """

    def __init__(
        self,
        counts: np.ndarray,
        sampling_rate_hz: float,
        *,
        accel_range_g: int = spec.DEFAULT_ACCEL_RANGE_G,
        gyro_range_dps: int = spec.DEFAULT_GYRO_RANGE_DPS,
        end: EndPolicy = "hold",
        label: str = "array",
    ) -> None:
        raw = np.asarray(counts)
        if raw.ndim != 2 or raw.shape[1] != 6 or raw.shape[0] < 1:
            raise ValueError(
                f"counts must be (N >= 1, 6) ax, ay, az, gx, gy, gz; got shape {raw.shape}"
            )
        if (
            not np.issubdtype(raw.dtype, np.integer)
            or raw.min() < COUNT_MIN
            or raw.max() > COUNT_MAX
        ):
            raise ValueError("counts must be integers within the int16 range")
        if not sampling_rate_hz > 0:
            raise ValueError(f"sampling_rate_hz must be positive; got {sampling_rate_hz}")
        if end not in ("hold", "loop"):
            raise ValueError(f"end must be 'hold' or 'loop'; got {end!r}")
        self._raw = np.ascontiguousarray(raw, dtype=np.int16)
        self._raw.setflags(write=False)
        self.sampling_rate_hz = float(sampling_rate_hz)
        self.native = SensorConfig(int(round(sampling_rate_hz)), accel_range_g, gyro_range_dps)
        self.end = end
        self.label = label
        self._cache: dict[SensorConfig, np.ndarray] = {}

    def _at(self, config: SensorConfig) -> np.ndarray:
        exact_rate = float(config.sampling_rate_hz) == self.sampling_rate_hz
        same_ranges = (config.accel_range_g, config.gyro_range_dps) == (
            self.native.accel_range_g,
            self.native.gyro_range_dps,
        )
        if exact_rate and same_ranges:
            return self._raw
        if config not in self._cache:
            acc, gyr = counts_to_si(self._raw, self.native)
            if not exact_rate:
                duration_s = (len(self._raw) - 1) / self.sampling_rate_hz
                n_out = int(math.floor(duration_s * config.sampling_rate_hz)) + 1
                t_out = np.arange(n_out) / config.sampling_rate_hz
                t_in = np.arange(len(self._raw)) / self.sampling_rate_hz
                acc = np.column_stack([np.interp(t_out, t_in, acc[:, i]) for i in range(3)])
                gyr = np.column_stack([np.interp(t_out, t_in, gyr[:, i]) for i in range(3)])
            self._cache[config] = quantize(acc, gyr, config)
        return self._cache[config]

    def length(self, config: SensorConfig) -> int | None:
        return len(self._at(config))

    def _counts(self, index: np.ndarray, config: SensorConfig) -> np.ndarray:
        return self._at(config)[index]

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "label": self.label,
            "samples": int(len(self._raw)),
            "sampling_rate_hz": self.sampling_rate_hz,
            "accel_range_g": self.native.accel_range_g,
            "gyro_range_dps": self.native.gyro_range_dps,
        }


# --- physics of a torso-worn IMU -------------------------------------------------------------
POSE_PITCH_DEG = {"stand": 90.0, "sit": 80.0, "lie": 0.0, "roller": 20.0}
"""Torso pitch above horizontal for each pose (head end up; supine for the lying poses).
"roller" is lying still on the roller with the hips down. Rolling itself is the simulator's
(`SimulatedSessionSource`)."""


@dataclass(frozen=True)
class MotionStep:
    """One step of a motion script: a pose (see `POSE_PITCH_DEG`) held for `duration_s` (None: forever)."""

    pose: str
    duration_s: float | None

    def __post_init__(self) -> None:
        if self.pose not in POSE_PITCH_DEG:
            raise ValueError(f"unknown pose {self.pose!r}; use one of {sorted(POSE_PITCH_DEG)}")
        if self.duration_s is not None and not self.duration_s > 0:
            raise ValueError(f"duration_s must be positive or None; got {self.duration_s}")


def _rotation_from_seed(seed: int) -> np.ndarray:
    """A fixed 'strap put on anyhow' rotation: sensor_to_body R (v_body = R @ v_sensor)."""
    from tracker.imu import quaternion_to_matrix

    rng = np.random.default_rng([seed, 0x5EED])
    q = rng.normal(size=4)
    return quaternion_to_matrix(q / np.linalg.norm(q))


class MotionScriptSource(SampleSource):
    """A torso IMU's counts for a script of poses, from physics.

    Model (body frame x anterior, y left, z superior; see tracker.imu): the torso only pitches about
    the lateral axis y by `pitch(t)` above horizontal (per pose: `POSE_PITCH_DEG`, or the person's
    own `pose_pitch_deg`), so at rest the specific force reads
    g·(cos pitch, 0, sin pitch) and the rotation rate is (0, d pitch/dt, 0). Pose changes are smooth
    (raised cosine over `transition_s`). Breathing adds 0.01 m/s² at 0.25 Hz along x. The sensor
    sees all of it through `sensor_to_body` (v_sensor = Rᵀ v_body), plus white noise (σ 0.012 m/s²,
    0.0012 rad/s, about a BMI270's at 100 Hz), a constant gyro bias and quantisation.

    Noise is generated per block of 4096 samples from (seed, block), so any index range can be read
    in any order and always gives the same counts.
    """

    _BLOCK = 4096

    def __init__(
        self,
        steps: Iterable[MotionStep | tuple[str, float | None]],
        *,
        sensor_to_body: np.ndarray | None = None,
        seed: int = 0,
        transition_s: float = 1.0,
        noise: bool = True,
        end: EndPolicy = "hold",
        pose_pitch_deg: Mapping[str, float] | None = None,
    ) -> None:
        self.pose_pitch_deg = {**POSE_PITCH_DEG, **dict(pose_pitch_deg or {})}
        self.steps: tuple[MotionStep, ...] = tuple(
            s if isinstance(s, MotionStep) else MotionStep(*s) for s in steps
        )
        if not self.steps:
            raise ValueError("a motion script needs at least one step")
        if any(s.duration_s is None for s in self.steps[:-1]):
            raise ValueError("only the last step may last forever (duration_s=None)")
        if end not in ("hold", "loop"):
            raise ValueError(f"end must be 'hold' or 'loop'; got {end!r}")
        matrix = (
            _rotation_from_seed(seed)
            if sensor_to_body is None
            else np.asarray(sensor_to_body, float)
        )
        if matrix.shape != (3, 3) or not np.allclose(matrix @ matrix.T, np.eye(3), atol=1e-6):
            raise ValueError("sensor_to_body must be a 3x3 rotation matrix")
        self.sensor_to_body = matrix
        self.seed = int(seed)
        self.transition_s = float(transition_s)
        self.noise = noise
        self.end = end
        rng = np.random.default_rng([self.seed, 0xB1A5])
        self.gyro_bias_rad_s = rng.normal(0.0, math.radians(0.3), size=3) if noise else np.zeros(3)
        self._starts_s = np.concatenate(
            [[0.0], np.cumsum([s.duration_s or 0.0 for s in self.steps])[:-1]]
        )
        last = self.steps[-1].duration_s
        self.duration_s: float | None = None if last is None else float(self._starts_s[-1] + last)

    def length(self, config: SensorConfig) -> int | None:
        if self.duration_s is None:
            return None
        return max(1, int(round(self.duration_s * config.sampling_rate_hz)))

    def pitch_rad(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Torso pitch (rad) and its rate (rad/s) at times `t_s` (s from the source origin)."""
        t = np.asarray(t_s, dtype=float)
        pitches = self.pose_pitch_deg
        pitch = np.full_like(t, math.radians(pitches[self.steps[0].pose]))
        rate = np.zeros_like(t)
        tr = max(self.transition_s, 1e-9)
        previous = pitches[self.steps[0].pose]
        for step, start in zip(self.steps, self._starts_s, strict=True):
            delta = math.radians(pitches[step.pose] - previous)
            previous = pitches[step.pose]
            if delta:
                u = np.clip((t - start) / tr, 0.0, 1.0)
                pitch += delta * (0.5 - 0.5 * np.cos(math.pi * u))
                inside = (t >= start) & (t < start + tr)
                rate += np.where(inside, delta * 0.5 * math.pi / tr * np.sin(math.pi * u), 0.0)
        return pitch, rate

    def body_si(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Noise-free specific force (m/s²) and rotation rate (rad/s) in the *body* frame, (N, 3) each."""
        pitch, rate = self.pitch_rad(t_s)
        g = spec.STANDARD_GRAVITY_M_S2
        breathing = 0.01 * np.sin(2 * math.pi * 0.25 * np.asarray(t_s, dtype=float))
        acc = np.column_stack(
            [g * np.cos(pitch) + breathing, np.zeros_like(pitch), g * np.sin(pitch)]
        )
        gyr = np.column_stack([np.zeros_like(rate), rate, np.zeros_like(rate)])
        return acc, gyr

    def _noise(self, index: np.ndarray) -> np.ndarray:
        out = np.empty((len(index), 6))
        blocks = index // self._BLOCK
        for block in np.unique(blocks):
            rng = np.random.default_rng([self.seed, int(block)])
            table = rng.standard_normal((self._BLOCK, 6))
            sel = blocks == block
            out[sel] = table[index[sel] % self._BLOCK]
        return out * np.array([0.012] * 3 + [0.0012] * 3)

    def _counts(self, index: np.ndarray, config: SensorConfig) -> np.ndarray:
        t = index / config.sampling_rate_hz
        acc_b, gyr_b = self.body_si(t)
        # v_sensor = R^T v_body, row-wise: v_sensor^T = v_body^T R
        acc = acc_b @ self.sensor_to_body
        gyr = gyr_b @ self.sensor_to_body + self.gyro_bias_rad_s
        if self.noise:
            noise = self._noise(index)
            acc = acc + noise[:, :3]
            gyr = gyr + noise[:, 3:]
        return quantize(acc, gyr, config)

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "steps": [[s.pose, s.duration_s] for s in self.steps],
            "pose_pitch_deg": {s.pose: self.pose_pitch_deg[s.pose] for s in self.steps},
            "seed": self.seed,
            "sensor_to_body": self.sensor_to_body.round(9).tolist(),
        }


def calibration_pose_source(
    *,
    stand_s: float = 3.0,
    lie_s: float = 3.0,
    seed: int = 0,
    sensor_to_body: np.ndarray | None = None,
    person: EmulatedPerson | None = None,
) -> MotionScriptSource:
    """The pairing calibration's script: stand still `stand_s`, then lie on the roller still `lie_s`.

    Worn and done by `person` (default: `emulated_person(seed)`, the one `default_source(seed)`
    records, so `tracker pair --emulated` calibrates the strap `tracker record --emulated` then
    streams); `sensor_to_body` puts the strap on another way. The lie-down transition (1 s) is
    inside the second step; the source holds the roller pose afterwards.
    `source.sensor_to_body` is the strap's truth; a calibration recovers its lateral axis exactly
    and the rest up to how upright the person stands (`person.standing_pitch_deg`).
    """
    person = person or emulated_person(seed)
    if sensor_to_body is not None:
        person = replace(person, sensor_to_body=np.asarray(sensor_to_body, float))
    return MotionScriptSource(
        [("stand", stand_s), ("roller", lie_s)],
        seed=seed,
        sensor_to_body=person.sensor_to_body,
        pose_pitch_deg={"stand": person.standing_pitch_deg, "roller": person.lying_pitch_deg},
        end="hold",
    )


@dataclass(frozen=True)
class EmulatedPerson:
    """Who wears the emulated sensor: how the strap sits and how they hold still.

    `standing_pitch_deg`: the torso's pitch above level standing "upright" (people lean a few
    degrees); `lying_pitch_deg`: lying still on the roller where the session starts (hips down
    15-35°, a bridge a few degrees).
    """

    sensor_to_body: np.ndarray
    standing_pitch_deg: float
    lying_pitch_deg: float


def emulated_person(seed: int = 0) -> EmulatedPerson:
    """The person in `default_source(seed)`: the simulated session's strap, upright pitch and
    pitch on the roller."""
    truth = SimulatedSessionSource(seed=seed).session(spec.SAMPLE_RATES_HZ[0]).truth
    on_roller = next((p for p in truth.phases if p.kind == "on_roller"), None)
    start_s = on_roller.start_s + 0.5 if on_roller is not None else 0.0
    i = min(int(np.searchsorted(truth.t_s, start_s)), len(truth.t_s) - 1)
    return EmulatedPerson(
        np.asarray(truth.sensor_to_body, float),
        float(truth.script.upright_pitch_deg),
        float(truth.pitch_deg[i]),
    )


# --- the physical simulator ------------------------------------------------------------------
class SimulatedSessionSource(SampleSource):
    """A session from `tracker.simulate.simulate_session` as counts at the default ranges.

    The simulator runs once per sampling rate the sensor is set to (cached); `session(rate)` gives
    the whole `SimulatedSession` (with `.truth`). At non-default ranges the counts are rescaled
    like an `ArraySource`.
    """

    def __init__(
        self, script: Any = None, *, seed: int = 0, end: EndPolicy = "hold", **simulate_kwargs: Any
    ) -> None:
        """`script`, `seed` and `simulate_kwargs` (e.g. `sensor_to_body=`) go to `simulate_session`."""
        if "sampling_rate_hz" in simulate_kwargs or "packet_loss" in simulate_kwargs:
            raise ValueError("the sensor sets the rate, and loses packets itself (lose_packets)")
        self.script = script
        self.seed = int(seed)
        self.end = end
        self.simulate_kwargs = simulate_kwargs
        self._sessions: dict[int, Any] = {}
        self._arrays: dict[int, ArraySource] = {}

    def session(self, sampling_rate_hz: int) -> Any:
        """The simulated session at `sampling_rate_hz` (runs the simulator on first use)."""
        if sampling_rate_hz not in self._sessions:
            from tracker.simulate import simulate_session

            self._sessions[sampling_rate_hz] = simulate_session(
                self.script,
                seed=self.seed,
                sampling_rate_hz=sampling_rate_hz,
                **self.simulate_kwargs,
            )
        return self._sessions[sampling_rate_hz]

    def _array(self, config: SensorConfig) -> ArraySource:
        rate = config.sampling_rate_hz
        if rate not in self._arrays:
            session = self.session(rate)
            sensor = getattr(session, "sensor", None)
            self._arrays[rate] = ArraySource(
                np.asarray(session.counts),
                rate,
                accel_range_g=getattr(sensor, "accel_range_g", spec.DEFAULT_ACCEL_RANGE_G),
                gyro_range_dps=getattr(sensor, "gyro_range_dps", spec.DEFAULT_GYRO_RANGE_DPS),
                end=self.end,
                label="simulate_session",
            )
        return self._arrays[rate]

    def length(self, config: SensorConfig) -> int | None:
        return self._array(config).length(config)

    def _counts(self, index: np.ndarray, config: SensorConfig) -> np.ndarray:
        return self._array(config)._counts(index, config)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "script": repr(self.script), "seed": self.seed}


def default_source(*, seed: int = 0) -> SampleSource:
    """What the emulated sensor streams unless told otherwise: a simulated rolling session."""
    return SimulatedSessionSource(seed=seed)


def as_source(
    value: SampleSource | np.ndarray | Sequence[Sequence[int]], sampling_rate_hz: float
) -> SampleSource:
    """Accept a ready source, or raw counts (N, 6) recorded at `sampling_rate_hz`."""
    if isinstance(value, SampleSource):
        return value
    return ArraySource(np.asarray(value), sampling_rate_hz)
