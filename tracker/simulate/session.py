"""Simulate a session: body kinematics -> ideal IMU -> sensor model -> int16 counts and SI samples.

    sim = simulate_session(random_script(7, posture="mixed"), seed=7, sampling_rate_hz=100)
    sim.recording      # ImuRecording in the (strap-rotated) sensor frame, SI units
    sim.counts         # (N, 6) int16 raw counts; recording == counts * scale exactly
    sim.truth          # GroundTruth

Physics (docs/kinematics.md): hips down, the torso pivots about the hips with the back tangent to the
roller, s = r cot(theta/2); in a bridge the torso translates and the roller rolls without slipping
on floor and back, so the hips move twice as far as the contact moves along the back. The
sensor sits on the chest `chest_depth_cm` anterior of the back surface, `sensor_from_hips_cm` up
the torso; breathing lifts and tilts the chest wall under it; the body rocks slowly about its long
axis. Accelerometer = specific force (a - g) and gyroscope = angular rate, both exact (analytic
derivatives), in the sensor frame; then bias, white noise, quantisation to the configured ranges
with clipping. No per-sample Python loops: time is processed in vectorised chunks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np

from tracker import __version__
from tracker.errors import UsageError
from tracker.guidance import Guidance
from tracker.imu import ImuRecording, MountingCalibration
from tracker.protocol import packets, spec
from tracker.simulate import kinematics as kin
from tracker.simulate.script import (
    BRIDGE,
    FREE,
    HIPS_DOWN,
    SessionScript,
    Timeline,
    compile_script,
    random_script,
)
from tracker.simulate.truth import (
    GroundTruth,
    dominant_posture,
    events_truth,
    region_times,
)

MIN_RATE_HZ, MAX_RATE_HZ = 10.0, 1000.0
_CHUNK = 1 << 14  # samples per vectorised block: cache-friendly, measured fastest


@dataclass(frozen=True)
class SensorModel:
    """Sensor imperfections. Noise is white with the given density (per sqrt(Hz)); its rms at a
    sampling rate fs is density * sqrt(fs / 2) (0.02 m/s^2 and 0.003 rad/s at 100 Hz).
    Biases are drawn per session (normal, the given standard deviation per axis) unless fixed."""

    accel_noise_density: float = 0.02 / math.sqrt(50.0)
    """m/s^2 per sqrt(Hz)."""
    gyro_noise_density: float = 0.003 / math.sqrt(50.0)
    """rad/s per sqrt(Hz)."""
    gyro_bias_sd_rad_s: float = math.radians(0.5)
    accel_bias_sd_m_s2: float = 0.03
    gyro_bias_rad_s: tuple[float, float, float] | None = None
    accel_bias_m_s2: tuple[float, float, float] | None = None
    accel_range_g: int = spec.DEFAULT_ACCEL_RANGE_G
    gyro_range_dps: int = spec.DEFAULT_GYRO_RANGE_DPS

    @classmethod
    def ideal(cls, **changes: Any) -> SensorModel:
        """No noise and no bias (quantisation to counts remains)."""
        base = cls(
            accel_noise_density=0.0,
            gyro_noise_density=0.0,
            gyro_bias_rad_s=(0.0, 0.0, 0.0),
            accel_bias_m_s2=(0.0, 0.0, 0.0),
        )
        return replace(base, **changes)

    @property
    def accel_scale_m_s2(self) -> float:
        return spec.accel_scale_m_s2(self.accel_range_g)

    @property
    def gyro_scale_rad_s(self) -> float:
        return spec.gyro_scale_rad_s(self.gyro_range_dps)


@dataclass
class SimulatedSession:
    """One simulated session: the samples an analysis sees, the raw counts, and the truth."""

    recording: ImuRecording
    """Sensor-frame samples (after any packet loss), SI units: exactly counts * scale."""
    counts: np.ndarray
    """(M, 6) int16 ax, ay, az, gx, gy, gz at accel_range_g / gyro_range_dps."""
    sample_index: np.ndarray
    """(M,) int64 index of each kept sample in the full-rate stream (t_s = index / rate)."""
    truth: GroundTruth
    accel_range_g: int
    gyro_range_dps: int
    sampling_rate_hz: float
    ideal_acc_m_s2: np.ndarray
    """(N, 3) float32 full-rate noise-free, bias-free specific force in the sensor frame."""
    ideal_gyr_rad_s: np.ndarray
    """(N, 3) float32 full-rate noise-free, bias-free rotation rate in the sensor frame."""
    clipped: int = 0
    """How many samples had a value saturated at the end of its range."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def accel_scale_m_s2(self) -> float:
        return spec.accel_scale_m_s2(self.accel_range_g)

    @property
    def gyro_scale_rad_s(self) -> float:
        return spec.gyro_scale_rad_s(self.gyro_range_dps)

    def trace(self, t_s: np.ndarray) -> dict[str, np.ndarray]:
        """The exact body and sensor state at arbitrary times (for tests and diagnostics).

        Keys: acc_m_s2, gyr_rad_s (ideal, sensor frame), contact_cm, pitch_deg, roll_deg,
        hips_m and sensor_m (world positions, m; world X along the spine on the roller, Z up),
        acc_world_m_s2 (sensor acceleration without gravity), body_to_world and sensor_to_world
        ((N, 3, 3) rotations), mode (piece mode: 0 off the roller, 1 hips down, 2 bridge, 3 hips
        rising or sinking).
        """
        timeline, script, nuisance, mount = self.extra["_model"]
        return _kinematics(
            timeline, script, nuisance, mount, np.asarray(t_s, dtype=float), full=True
        )


def simulate_session(
    script: SessionScript | None = None,
    *,
    seed: int = 0,
    sampling_rate_hz: float = 100.0,
    sensor: SensorModel | None = None,
    sensor_to_body: np.ndarray | None = None,
    guidance: Guidance | None = None,
    packet_loss: float = 0.0,
    attach_calibration: bool = False,
    start_utc: datetime | None = None,
) -> SimulatedSession:
    """Simulate `script` (default: `random_script(seed)`) sampled at `sampling_rate_hz`.

    seed: drives everything random here (the default script, strap rotation, biases, breathing
        and sway phases, noise); the same arguments give identical output.
    sensor: noise, bias and ranges (default `SensorModel()`).
    sensor_to_body: the strap's rotation, v_body = R @ v_sensor (default: uniformly random).
    guidance: defines holds/too-fast/regions in the truth (default: Guidance() with the script's
        roller diameter and hip-to-neck length).
    packet_loss: fraction of notification packets lost in bursts (see `drop_packets`).
    attach_calibration: put the true mounting on `recording.calibration` (as pairing would).
    """
    if not (math.isfinite(sampling_rate_hz) and MIN_RATE_HZ <= sampling_rate_hz <= MAX_RATE_HZ):
        raise UsageError(
            f"sampling_rate_hz = {sampling_rate_hz} is outside {MIN_RATE_HZ:g}..{MAX_RATE_HZ:g}",
            hint=f"the sensor supports {', '.join(str(r) for r in spec.SAMPLE_RATES_HZ)} Hz",
        )
    if not (0.0 <= packet_loss < 0.9):
        raise UsageError(f"packet_loss = {packet_loss} is outside 0..0.9")
    sensor = sensor or SensorModel()
    if (
        sensor.accel_range_g not in spec.ACCEL_RANGES_G
        or sensor.gyro_range_dps not in spec.GYRO_RANGES_DPS
    ):
        raise UsageError(
            f"ranges {sensor.accel_range_g} g / {sensor.gyro_range_dps} dps are not sensor settings",
            hint=f"use {spec.ACCEL_RANGES_G} g and {spec.GYRO_RANGES_DPS} dps",
        )
    seq = np.random.SeedSequence(seed)
    script_rng, body_rng, noise_rng, loss_rng = (np.random.default_rng(s) for s in seq.spawn(4))
    if script is None:
        script = random_script(script_rng)
    guidance = guidance or Guidance(
        roller_diameter_cm=script.roller_diameter_cm, hip_to_neck_cm=script.hip_to_neck_cm
    )
    timeline = compile_script(script)

    # per-session randomness of body and sensor
    if sensor_to_body is None:
        mount = kin.random_rotation(body_rng)
    else:
        mount = np.asarray(sensor_to_body, dtype=float)
        if (
            mount.shape != (3, 3)
            or not np.allclose(mount @ mount.T, np.eye(3), atol=1e-6)
            or np.linalg.det(mount) < 0
        ):
            raise UsageError("sensor_to_body must be a 3x3 rotation matrix (orthonormal, det +1)")
    nuisance = _Nuisance.draw(body_rng, script)
    gyro_bias = (
        np.asarray(sensor.gyro_bias_rad_s, dtype=float)
        if sensor.gyro_bias_rad_s is not None
        else body_rng.normal(0.0, sensor.gyro_bias_sd_rad_s, 3)
    )
    accel_bias = (
        np.asarray(sensor.accel_bias_m_s2, dtype=float)
        if sensor.accel_bias_m_s2 is not None
        else body_rng.normal(0.0, sensor.accel_bias_sd_m_s2, 3)
    )

    n = int(math.floor(timeline.duration_s * sampling_rate_hz + 1e-9)) + 1
    t_s = np.arange(n) / sampling_rate_hz
    # ideal sensor output kept in float32 (1e-7 relative: far below the noise) to halve memory
    ideal_acc = np.empty((n, 3), dtype=np.float32)
    ideal_gyr = np.empty((n, 3), dtype=np.float32)
    position = np.empty(n)
    pitch = np.empty(n)
    roll = np.empty(n)
    counts = np.empty((n, 6), dtype=np.int16)
    rec_acc = np.empty((n, 3))
    rec_gyr = np.empty((n, 3))
    sd_acc = sensor.accel_noise_density * math.sqrt(sampling_rate_hz / 2.0)
    sd_gyr = sensor.gyro_noise_density * math.sqrt(sampling_rate_hz / 2.0)
    clipped = 0
    for a in range(0, n, _CHUNK):
        b = min(n, a + _CHUNK)
        k = _kinematics(timeline, script, nuisance, mount, t_s[a:b])
        ideal_acc[a:b], ideal_gyr[a:b] = k["acc_m_s2"], k["gyr_rad_s"]
        position[a:b], pitch[a:b], roll[a:b] = k["contact_cm"], k["pitch_deg"], k["roll_deg"]
        # sensor: bias + white noise, then quantised to int16 counts as the sensor does
        noise = noise_rng.standard_normal((b - a, 6), dtype=np.float32)
        q, saturated = packets.si_to_counts(
            k["acc_m_s2"] + accel_bias + sd_acc * noise[:, :3],
            k["gyr_rad_s"] + gyro_bias + sd_gyr * noise[:, 3:],
            sensor.accel_range_g,
            sensor.gyro_range_dps,
        )
        clipped += int(np.count_nonzero(saturated))
        counts[a:b] = q
        # what the analysis receives: exactly counts * scale
        rec_acc[a:b], rec_gyr[a:b] = packets.counts_to_si(q, sensor.accel_range_g, sensor.gyro_range_dps)

    # truth
    strokes, holds, phases, fast_spans = events_truth(timeline, guidance)
    position[~_phase_mask(timeline, t_s, "on_roller")] = np.nan
    contact = lambda tt: _contact_cm(timeline, tt)  # noqa: E731
    region_on, region_rolling = region_times(timeline, contact, guidance)
    on_roller_s = sum(p.end_s - p.start_s for p in phases if p.kind == "on_roller")
    truth = GroundTruth(
        strokes=strokes,
        holds=holds,
        phases=phases,
        too_fast_spans=fast_spans,
        t_s=t_s,
        position_cm=position,
        pitch_deg=pitch,
        roll_deg=roll,
        roller_diameter_cm=script.roller_diameter_cm,
        hip_to_neck_cm=script.hip_to_neck_cm,
        sensor_to_body=mount,
        gyro_bias_rad_s=gyro_bias,
        accel_bias_m_s2=accel_bias,
        duration_s=timeline.duration_s,
        on_roller_s=on_roller_s,
        rolling_s=sum(s.duration_s for s in strokes),
        region_time_s=region_on,
        region_rolling_s=region_rolling,
        posture=dominant_posture(strokes, timeline),
        guidance=guidance,
        script=script,
        sampling_rate_hz=sampling_rate_hz,
        seed=seed,
        extra={
            "breathing_rate_hz": script.breathing_rate_hz,
            "breathing_depth_mm": script.breathing_depth_mm,
            "sway_deg": script.sway_deg,
            "sensor_from_hips_cm": script.sensor_from_hips_cm,
            "chest_depth_cm": script.chest_depth_cm,
        },
    )
    index = np.arange(n, dtype=np.int64)
    sim = SimulatedSession(
        recording=ImuRecording(
            t_s=t_s,
            acc_m_s2=rec_acc,
            gyr_rad_s=rec_gyr,
            sampling_rate_hz=float(sampling_rate_hz),
            start_utc=start_utc,
            calibration=MountingCalibration(mount.copy(), source="pairing")
            if attach_calibration
            else None,
            source={
                "kind": "simulator",
                "seed": seed,
                "accel_range_g": sensor.accel_range_g,
                "gyro_range_dps": sensor.gyro_range_dps,
                "tracker_version": __version__,
            },
        ),
        counts=counts,
        sample_index=index,
        truth=truth,
        accel_range_g=sensor.accel_range_g,
        gyro_range_dps=sensor.gyro_range_dps,
        sampling_rate_hz=sampling_rate_hz,
        ideal_acc_m_s2=ideal_acc,
        ideal_gyr_rad_s=ideal_gyr,
        clipped=clipped,
        extra={"_model": (timeline, script, nuisance, mount)},
    )
    if packet_loss > 0:
        sim = drop_packets(sim, loss_fraction=packet_loss, rng=loss_rng)
    return sim


def drop_packets(
    sim: SimulatedSession,
    *,
    loss_fraction: float = 0.02,
    mean_burst_packets: float = 2.0,
    samples_per_packet: int | None = None,
    rng: np.random.Generator | int | None = 0,
) -> SimulatedSession:
    """Lose whole notification packets as a lossy BLE link does: bursts of consecutive packets.

    A two-state (Gilbert) model over packets of `samples_per_packet` samples (default: what fits
    at the largest MTU, `spec.MAX_SAMPLES_PER_PACKET`): good runs and lost runs alternate, lost
    runs with mean `mean_burst_packets`, so that about `loss_fraction` of packets are lost. The
    result keeps the truth; `recording.t_s` shows the gaps and `sample_index` says which samples
    survived. Samples are never invented.
    """
    if not (0.0 <= loss_fraction < 0.9):
        raise UsageError(f"loss_fraction = {loss_fraction} is outside 0..0.9")
    if mean_burst_packets < 1.0:
        raise UsageError(f"mean_burst_packets = {mean_burst_packets} must be >= 1")
    per = samples_per_packet or spec.MAX_SAMPLES_PER_PACKET
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    n = len(sim.sample_index)
    n_packets = -(-n // per)
    lost = np.zeros(n_packets, dtype=bool)
    if loss_fraction > 0:
        mean_good = mean_burst_packets * (1.0 - loss_fraction) / loss_fraction
        # enough alternating runs to cover every packet, drawn at once
        n_runs = int(2 * n_packets / (mean_good + mean_burst_packets) + 20)
        while True:
            good = rng.geometric(1.0 / max(mean_good, 1.0), n_runs)
            bad = rng.geometric(1.0 / mean_burst_packets, n_runs)
            if good.sum() + bad.sum() >= n_packets:
                break
            n_runs *= 2
        starts = np.cumsum(np.column_stack([good, bad]).ravel())
        marks = np.zeros(n_packets + 1, dtype=int)
        # +1 at each lost run's start, -1 at its end; the first good run starts at packet 0
        bad_start = starts[0::2]
        bad_end = starts[1::2]
        np.add.at(marks, np.minimum(bad_start, n_packets), 1)
        np.add.at(marks, np.minimum(bad_end, n_packets), -1)
        lost = np.cumsum(marks)[:n_packets] > 0
    keep = ~np.repeat(lost, per)[:n]
    if not keep.any():
        keep[0] = True
    counts = sim.counts[keep]
    index = sim.sample_index[keep]
    rec = sim.recording
    recording = replace(
        rec,
        t_s=rec.t_s[keep],
        acc_m_s2=rec.acc_m_s2[keep],
        gyr_rad_s=rec.gyr_rad_s[keep],
        source={**rec.source, "lost_packets": int(lost.sum()), "lost_samples": int(n - keep.sum())},
    )
    return replace(sim, recording=recording, counts=counts, sample_index=index)


# --- internals -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Nuisance:
    """Per-session random phases and frequencies of breathing and sway."""

    breath_phase: float
    breath_mod_depth: float
    breath_mod_hz: float
    sway_amp: np.ndarray
    sway_hz: np.ndarray
    sway_phase: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator, script: SessionScript) -> _Nuisance:
        mod_hz = float(rng.uniform(0.01, 0.03))
        # the breathing rate wanders by about +-15 %: depth m with m * f_m = 0.15 f
        depth = 0.15 * script.breathing_rate_hz / mod_hz
        weights = rng.uniform(0.5, 1.0, 3)
        amp = math.radians(script.sway_deg) * weights / weights.sum()
        return cls(
            breath_phase=float(rng.uniform(0, 2 * math.pi)),
            breath_mod_depth=depth,
            breath_mod_hz=mod_hz,
            sway_amp=amp,
            sway_hz=rng.uniform([0.03, 0.08, 0.15], [0.06, 0.14, 0.3]),
            sway_phase=rng.uniform(0, 2 * math.pi, 3),
        )


def _evaluate(tl: Timeline, t_s: np.ndarray) -> dict[str, Any]:
    """Knot paths at `t_s`: piece index, ramp shape and the ramped variables."""
    j = np.clip(np.searchsorted(tl.t0, t_s, side="right") - 1, 0, len(tl.t0) - 1)
    dur = tl.t1[j] - tl.t0[j]
    g = kin.ramp_shape((t_s - tl.t0[j]) / dur, dur)
    return {"j": j, "g": g}


def _contact_cm(tl: Timeline, t_s: np.ndarray) -> np.ndarray:
    ev = _evaluate(tl, t_s)
    j = ev["j"]
    return 100.0 * (tl.s0[j] + (tl.s1[j] - tl.s0[j]) * ev["g"][0])


def _phase_mask(tl: Timeline, t_s: np.ndarray, phase: str) -> np.ndarray:
    starts = np.array([e["start_s"] for e in tl.events])
    k = np.clip(np.searchsorted(starts, t_s, side="right") - 1, 0, len(starts) - 1)
    is_phase = np.array([e["phase"] == phase for e in tl.events])
    return is_phase[k]


def _kinematics(
    tl: Timeline,
    script: SessionScript,
    nz: _Nuisance,
    mount: np.ndarray,
    t_s: np.ndarray,
    full: bool = False,
) -> dict[str, np.ndarray]:
    """Ideal sensor-frame specific force `acc_m_s2` and rate `gyr_rad_s`, `contact_cm`,
    `pitch_deg`, `roll_deg`; with `full`, also world-frame positions (m) of `hips_m` and
    `sensor_m`, the sensor's world acceleration without gravity, and the orientations."""
    ev = _evaluate(tl, t_s)
    j, g = ev["j"], ev["g"]
    mode = tl.mode[j]
    r = script.radius_cm / 100.0
    s = kin.knot_path(tl.s0[j], tl.s1[j], g)
    th_knots = kin.knot_path(tl.th0[j], tl.th1[j], g)
    psi = kin.knot_path(tl.psi0[j], tl.psi1[j], g)
    hx = kin.knot_path(tl.hx0[j], tl.hx1[j], g)
    hz = kin.knot_path(tl.hz0[j], tl.hz1[j], g)

    # torso pitch: from the contact with the hips down, scripted otherwise
    hd = mode == HIPS_DOWN
    th_hd = kin.hips_down_pitch(s, r)
    th = kin.Path(
        np.where(hd, th_hd.x, th_knots.x),
        np.where(hd, th_hd.dx, th_knots.dx),
        np.where(hd, th_hd.ddx, th_knots.ddx),
    )

    # hips: on the roller from the geometry of a back tangent to the roller, else scripted
    on = mode != FREE
    zero = np.zeros_like(t_s)
    xr0 = tl.xr0[j]
    xr = kin.Path(xr0.copy(), zero.copy(), zero.copy())
    # hips down: the roller rolls on the floor as far as the contact moves along the back
    xr.x[hd] += (s.x - tl.s0[j])[hd]
    xr.dx[hd] = s.dx[hd]
    xr.ddx[hd] = s.ddx[hd]
    # bridge: no slip on floor and back: dXr = -ds - r dtheta (so the hips move ~2x the contact)
    br = mode == BRIDGE
    xr.x[br] += (-(s.x - tl.s0[j]) - r * (th.x - tl.th0[j]))[br]
    xr.dx[br] = (-s.dx - r * th.dx)[br]
    xr.ddx[br] = (-s.ddx - r * th.ddx)[br]
    # POSTURE_CHANGE: the roller stays put (xr constant) while the hips rise or sink

    c, sn = np.cos(th.x), np.sin(th.x)
    # back-line unit vectors in the (X, Z) plane: anterior x_b and superior z_b
    xbx, xbz = -sn, c
    zbx, zbz = c, sn
    k1 = r * th.dx + s.dx
    hx_roll = xr.x + r * xbx - s.x * zbx
    hz_roll = r + r * xbz - s.x * zbz
    ax_roll = (
        xr.ddx
        - (r * th.ddx + s.ddx) * zbx
        - k1 * th.dx * xbx
        - (s.dx * th.dx + s.x * th.ddx) * xbx
        + s.x * th.dx**2 * zbx
    )
    az_roll = (
        -(r * th.ddx + s.ddx) * zbz
        - k1 * th.dx * xbz
        - (s.dx * th.dx + s.x * th.ddx) * xbz
        + s.x * th.dx**2 * zbz
    )
    n = len(t_s)
    hips_acc = np.zeros((3, n))
    hips_acc[0] = np.where(on, ax_roll, hx.ddx)
    hips_acc[2] = np.where(on, az_roll, hz.ddx)
    hips = np.zeros((3, n))
    hips[0] = np.where(on, hx_roll, hx.x)
    hips[2] = np.where(on, hz_roll, hz.x)

    # small movements: rocking about the long axis, breathing (chest rise and chest-wall tilt)
    roll = kin.sines(t_s, nz.sway_amp, nz.sway_hz, nz.sway_phase)
    depth_m = script.breathing_depth_mm / 1000.0
    rise = kin.breathing(
        t_s,
        depth_m,
        script.breathing_rate_hz,
        nz.breath_phase,
        nz.breath_mod_depth,
        nz.breath_mod_hz,
    )
    tilt = rise.scaled(math.radians(script.breathing_tilt_deg) / depth_m) if depth_m > 0 else rise

    body = kin.RotationChain(n).about(2, psi).fixed(kin.A0).about(1, th).about(2, roll)
    # the sensor on the chest: chest depth (+ breathing rise) anterior, up the torso from the hips
    lever = np.zeros((3, n))
    lever[0] = script.chest_depth_cm / 100.0 + rise.x
    lever[2] = script.sensor_from_hips_cm / 100.0
    lever_d = np.zeros((3, n))
    lever_d[0] = rise.dx
    lever_dd = np.zeros((3, n))
    lever_dd[0] = rise.ddx
    acc_world = hips_acc + body.to_world(kin.lever_acceleration(body, lever, lever_d, lever_dd))
    out: dict[str, np.ndarray] = {}
    if full:
        out["acc_world_m_s2"] = acc_world.T.copy()
        out["hips_m"] = hips.T
        out["sensor_m"] = (hips + body.to_world(lever)).T
        out["body_to_world"] = body.matrices()
    acc_world[2] += kin.GRAVITY_M_S2  # specific force = a - g, g pointing down

    sensor = body.about(1, tilt).fixed(mount)
    out["acc_m_s2"] = sensor.to_frame(acc_world).T
    out["gyr_rad_s"] = sensor.omega.T
    out["contact_cm"] = 100.0 * s.x
    out["pitch_deg"] = np.degrees(th.x)
    out["roll_deg"] = np.degrees(roll.x)
    if full:
        out["sensor_to_world"] = sensor.matrices()
        out["mode"] = mode
    return out
