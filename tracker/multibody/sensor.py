"""From a sensor's pose over time to what an IMU reports: model 2's sensor.

`record_imu(pose, duration_s, spec, rng)` samples any pose function (position in m, sensor-to-
world rotation) the way a strapped IMU does:

1. **Kinematics by numerical differentiation.** The pose is sampled on a fine grid (an integer
   multiple of the sampling rate, at least 200 Hz); acceleration is the 5-point central second
   difference of position, the rotation rate the 5-point first difference of the rotation matrix
   (omega = vee(R^T dR/dt)). No analytic derivatives: this is deliberately a different route
   from `tracker.simulate`.
2. **Strap bounce.** The sensor sits on an elastic strap: its acceleration is the body's through
   a lightly damped resonance (8-20 Hz).
3. **The sensor's own low-pass filter** (anti-aliasing, 2nd-order Butterworth at a share of the
   sampling rate), run causally on the fine grid, then decimation to the sampling rate.
4. **Errors,** parametrised as a datasheet does: gyro angle random walk (deg/sqrt h), turn-on
   bias, bias random walk (deg/h/sqrt h), bias drift while the sensor warms up on the body,
   scale-factor errors, axis misalignment, g-sensitivity; accelerometer noise density
   (ug/sqrt Hz), bias, warm-up drift, scale and misalignment; quantisation to the range's LSB
   with clipping.
5. **Time.** The sensor's clock runs off by some ppm; the reported timestamps carry jitter
   (always increasing).

Everything is vectorised over chunks of the grid; filters carry their state between chunks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
from scipy import signal

from tracker.imu import STANDARD_GRAVITY_M_S2

PoseFunction = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
"""t (N,) in s -> (position (N, 3) m, sensor-to-world rotation (N, 3, 3)), world Z up."""

_CHUNK = 1 << 15
_DEG = math.pi / 180.0


@dataclass(frozen=True)
class SensorSpec:
    """An IMU's sampling and error figures (datasheet units)."""

    rate_hz: float = 100.0
    accel_range_g: float = 8.0
    gyro_range_dps: float = 2000.0
    accel_bits: int = 16
    gyro_bits: int = 16
    bandwidth_fraction: float = 0.4
    """The internal low-pass cutoff as a share of the sampling rate."""
    gyro_arw_deg_rt_h: float = 0.3
    gyro_bias_deg_s: tuple[float, float, float] = (0.0, 0.0, 0.0)
    gyro_bias_walk_deg_h_rt_h: float = 5.0
    gyro_warmup_deg_s: tuple[float, float, float] = (0.0, 0.0, 0.0)
    warmup_tau_s: float = 300.0
    gyro_scale: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """Scale-factor errors (fractions)."""
    gyro_misalignment_rad: tuple[float, ...] = (0.0,) * 6
    """Off-diagonal axis misalignments (xy, xz, yx, yz, zx, zy)."""
    gyro_g_sensitivity_deg_s_per_g: float = 0.0
    accel_noise_ug_rt_hz: float = 150.0
    accel_bias_mg: tuple[float, float, float] = (0.0, 0.0, 0.0)
    accel_warmup_mg: tuple[float, float, float] = (0.0, 0.0, 0.0)
    accel_scale: tuple[float, float, float] = (0.0, 0.0, 0.0)
    accel_misalignment_rad: tuple[float, ...] = (0.0,) * 6
    clock_ppm: float = 0.0
    timestamp_jitter_s: float = 0.0
    strap_bounce_hz: float = 12.0
    strap_damping: float = 0.3
    seed: int | None = None
    """Noise seed (None: from the generator handed to `record_imu`)."""

    @classmethod
    def draw(cls, rng: np.random.Generator, rate_hz: float) -> SensorSpec:
        """A consumer MEMS IMU as datasheets and bench tests describe them."""

        def v3(sd: float) -> tuple[float, float, float]:
            return tuple(float(x) for x in rng.normal(0.0, sd, 3))  # type: ignore[return-value]

        def m6(sd: float) -> tuple[float, ...]:
            return tuple(float(x) for x in rng.normal(0.0, sd, 6))

        return cls(
            rate_hz=float(rate_hz),
            accel_range_g=float(rng.choice([2.0, 4.0, 8.0, 16.0])),
            gyro_range_dps=float(rng.choice([250.0, 500.0, 1000.0, 2000.0])),
            accel_bits=int(rng.choice([12, 14, 16], p=[0.2, 0.2, 0.6])),
            gyro_bits=16,
            bandwidth_fraction=float(rng.uniform(0.2, 0.45)),
            gyro_arw_deg_rt_h=float(rng.uniform(0.15, 0.8)),
            gyro_bias_deg_s=v3(0.5),
            gyro_bias_walk_deg_h_rt_h=float(rng.uniform(2.0, 20.0)),
            gyro_warmup_deg_s=v3(0.1),
            warmup_tau_s=float(rng.uniform(60.0, 600.0)),
            gyro_scale=v3(0.01),
            gyro_misalignment_rad=m6(0.5 * _DEG),
            gyro_g_sensitivity_deg_s_per_g=float(rng.uniform(0.0, 0.1)),
            accel_noise_ug_rt_hz=float(rng.uniform(80.0, 300.0)),
            accel_bias_mg=v3(10.0),  # zero-g offset after a factory trim
            accel_warmup_mg=v3(2.0),
            accel_scale=v3(0.005),
            accel_misalignment_rad=m6(0.3 * _DEG),
            clock_ppm=float(rng.normal(0.0, 50.0)),
            timestamp_jitter_s=float(rng.uniform(0.0, 0.12)) / float(rate_hz),
            strap_bounce_hz=float(rng.uniform(8.0, 20.0)),
            strap_damping=float(rng.uniform(0.15, 0.5)),
        )

    @classmethod
    def ideal(cls, rate_hz: float = 100.0, **changes: Any) -> SensorSpec:
        """No noise, bias, scale or timing errors; quantisation at 16 bits remains."""
        return replace(cls(rate_hz=float(rate_hz), accel_noise_ug_rt_hz=0.0, gyro_arw_deg_rt_h=0.0,
                           gyro_bias_walk_deg_h_rt_h=0.0), **changes)  # fmt: skip

    @property
    def accel_lsb_m_s2(self) -> float:
        return self.accel_range_g * STANDARD_GRAVITY_M_S2 / 2 ** (self.accel_bits - 1)

    @property
    def gyro_lsb_rad_s(self) -> float:
        return self.gyro_range_dps * _DEG / 2 ** (self.gyro_bits - 1)

    def to_json(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


@dataclass
class ImuSamples:
    """What `record_imu` returns: reported times and measurements, plus the truth behind them."""

    t_s: np.ndarray
    """(N,) reported sample times (s, from 0), with jitter."""
    acc_m_s2: np.ndarray
    gyr_rad_s: np.ndarray
    true_t_s: np.ndarray
    """(N,) when each sample really was taken (s, the pose function's clock)."""
    ideal_acc_m_s2: np.ndarray
    """(N, 3) the filtered specific force in the sensor frame before any error."""
    ideal_gyr_rad_s: np.ndarray
    gyro_bias_rad_s: np.ndarray
    """(N, 3) the gyro's total additive bias at each sample."""
    clipped: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def clock_scale(self) -> float:
        """Reported time per true second (1 + the clock's error)."""
        return float(self.extra.get("clock_scale", 1.0))


def _vee_rate(r: np.ndarray, r_dot: np.ndarray) -> np.ndarray:
    """omega (N, 3) in the rotating frame from R and dR/dt: the skew part of R^T dR/dt."""
    w = np.einsum("nki,nkj->nij", r, r_dot)
    return 0.5 * np.stack(
        [w[:, 2, 1] - w[:, 1, 2], w[:, 0, 2] - w[:, 2, 0], w[:, 1, 0] - w[:, 0, 1]], axis=-1
    )


def _matrix(misalignment: tuple[float, ...], scale: tuple[float, float, float]) -> np.ndarray:
    xy, xz, yx, yz, zx, zy = misalignment
    return np.array([[1 + scale[0], xy, xz], [yx, 1 + scale[1], yz], [zx, zy, 1 + scale[2]]])


def _strap_sos(spec: SensorSpec, grid_hz: float) -> np.ndarray:
    w = 2 * math.pi * spec.strap_bounce_hz
    z = spec.strap_damping
    b, a = signal.bilinear([2 * z * w, w * w], [1.0, 2 * z * w, w * w], fs=grid_hz)
    return signal.tf2sos(b, a)


def _grid_oversampling(rate_hz: float) -> int:
    return max(2, math.ceil(200.0 / rate_hz))


def record_imu(
    pose: PoseFunction, duration_s: float, spec: SensorSpec, rng: np.random.Generator
) -> ImuSamples:
    """Sample `pose` for `duration_s` (true seconds) as the IMU `spec` would."""
    fs = spec.rate_hz
    scale = 1.0 + 1e-6 * spec.clock_ppm
    fs_true = fs * scale
    m = _grid_oversampling(fs)
    grid_hz = m * fs_true
    h = 1.0 / grid_hz
    n_out = int(math.floor(duration_s * fs_true + 1e-9)) + 1
    n_grid = (n_out - 1) * m + 1
    lpf = signal.butter(2, min(0.95, spec.bandwidth_fraction * fs / (grid_hz / 2)), output="sos")
    strap = _strap_sos(spec, grid_hz)
    acc = np.empty((n_out, 3))
    gyr = np.empty((n_out, 3))
    zi_strap = zi_lpf = None
    for a in range(0, n_grid, _CHUNK):
        b = min(n_grid, a + _CHUNK)
        idx = np.arange(a - 2, b + 2)
        pos, rot = pose(idx * h)
        pos = pos - pos[2]  # small numbers: the second difference loses nothing to round-off
        acc_w = (-pos[:-4] + 16 * pos[1:-3] - 30 * pos[2:-2] + 16 * pos[3:-1] - pos[4:]) / (
            12 * h * h
        )
        r_dot = (rot[:-4] - 8 * rot[1:-3] + 8 * rot[3:-1] - rot[4:]) / (12 * h)
        omega = _vee_rate(rot[2:-2], r_dot)
        if zi_strap is None:
            zi_strap = signal.sosfilt_zi(strap)[:, :, None] * acc_w[0]
        acc_w, zi_strap = signal.sosfilt(strap, acc_w, axis=0, zi=zi_strap)
        acc_w[:, 2] += STANDARD_GRAVITY_M_S2
        f_s = np.einsum("nji,nj->ni", rot[2:-2], acc_w)
        six = np.concatenate([f_s, omega], axis=1)
        if zi_lpf is None:
            zi_lpf = signal.sosfilt_zi(lpf)[:, :, None] * six[0]
        six, zi_lpf = signal.sosfilt(lpf, six, axis=0, zi=zi_lpf)
        keep = np.flatnonzero((np.arange(a, b) % m) == 0)
        k = (a + keep) // m
        acc[k], gyr[k] = six[keep, :3], six[keep, 3:]
    return _with_errors(acc, gyr, spec, rng, fs, scale)


def _with_errors(
    acc: np.ndarray,
    gyr: np.ndarray,
    spec: SensorSpec,
    rng: np.random.Generator,
    fs: float,
    scale: float,
) -> ImuSamples:
    if spec.seed is not None:
        rng = np.random.default_rng(spec.seed)
    n = len(acc)
    true_t = np.arange(n) / (fs * scale)
    g_to = STANDARD_GRAVITY_M_S2
    # gyro
    warm = 1.0 - np.exp(-true_t / max(spec.warmup_tau_s, 1e-6))
    walk_sd = spec.gyro_bias_walk_deg_h_rt_h * _DEG / 3600.0 / 60.0 / math.sqrt(fs)
    bias = (
        np.asarray(spec.gyro_bias_deg_s) * _DEG
        + np.outer(warm, np.asarray(spec.gyro_warmup_deg_s) * _DEG)
        + np.cumsum(rng.normal(0.0, walk_sd, (n, 3)), axis=0)
    )
    arw = spec.gyro_arw_deg_rt_h * _DEG / 60.0  # rad/sqrt(s)
    gyr_m = gyr @ _matrix(spec.gyro_misalignment_rad, spec.gyro_scale).T + bias
    gyr_m += (spec.gyro_g_sensitivity_deg_s_per_g * _DEG / g_to) * acc
    gyr_m += rng.normal(0.0, arw * math.sqrt(fs), (n, 3))
    # accelerometer
    acc_bias = np.asarray(spec.accel_bias_mg) * 1e-3 * g_to + np.outer(
        warm, np.asarray(spec.accel_warmup_mg) * 1e-3 * g_to
    )
    acc_m = acc @ _matrix(spec.accel_misalignment_rad, spec.accel_scale).T + acc_bias
    acc_m += rng.normal(
        0.0,
        spec.accel_noise_ug_rt_hz * 1e-6 * g_to * math.sqrt(spec.bandwidth_fraction * fs),
        (n, 3),
    )
    # quantisation and clipping
    clipped = 0
    out = []
    for x, lsb, bits in (
        (acc_m, spec.accel_lsb_m_s2, spec.accel_bits),
        (gyr_m, spec.gyro_lsb_rad_s, spec.gyro_bits),
    ):
        q = np.rint(x / lsb)
        top = 2 ** (bits - 1)
        clipped += int(np.count_nonzero((q > top - 1) | (q < -top)))
        out.append(np.clip(q, -top, top - 1) * lsb)
    # reported times: the sensor's clock, plus jitter that never reorders samples
    jitter = (
        np.clip(rng.normal(0.0, spec.timestamp_jitter_s, n), -0.45 / fs, 0.45 / fs)
        if spec.timestamp_jitter_s > 0
        else np.zeros(n)
    )
    jitter[0] = 0.0
    t_rep = np.arange(n) / fs + jitter
    return ImuSamples(
        t_s=t_rep,
        acc_m_s2=out[0],
        gyr_rad_s=out[1],
        true_t_s=true_t,
        ideal_acc_m_s2=acc,
        ideal_gyr_rad_s=gyr,
        gyro_bias_rad_s=bias,
        clipped=clipped,
        extra={"clock_scale": scale, "grid_hz": _grid_oversampling(fs) * fs * scale},
    )
