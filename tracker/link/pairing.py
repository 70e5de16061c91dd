"""Pairing: bond with a sensor, check it, calibrate how it sits, store it as the default.

`pair_sensor(env, target, ui=...)` runs, in order:
1. find the sensor (name, address, or the first one heard) and connect;
2. bond (LE Secure Connections; the sensor refuses data and control without it);
3. read Device Information, battery and status; check the protocol version;
4. signal check: stream `signal_s` seconds at the chosen rate and measure the actual rate (from
   the host receive times), noise (spread of the still samples) and loss (sequence/timestamp gaps);
5. mounting calibration, guided: stand still `stand_s`, then lie on the roller still `lie_s`; the
   two gravity directions give the sensor-to-body rotation (`tracker.link.calibration`);
6. store the sensor, its identity, calibration and battery (with time) as the default in the
   sensor registry.

Poses are cut from the stream by sample count (sensor time), not by wall clock, so a busy
machine or a faster-than-real-time emulator cuts them at the same instants.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from tracker.errors import PairingError, SensorError, SensorSilentError
from tracker.imu import MountingCalibration
from tracker.link.calibration import StillPose, calibration_from_still_poses, summarize_still_pose
from tracker.link.driver import SensorIdentity, StreamSettings, notify_stream_started
from tracker.link.environment import LinkEnvironment, bluetooth_unavailable
from tracker.link.registry import SensorRecord, SensorRegistry, utc_now_iso
from tracker.link.scan import find_sensor

SETTLE_S = 1.5
"""Samples skipped after "lie down" (the emulated person takes 1 s to lie back)."""
MAX_RATE_ERROR = 0.05
MAX_LOSS_FRACTION = 0.02


class PairingUI(Protocol):
    """How pairing talks to the person: `say` prints, `wait` asks to press Enter (or not, with --yes)."""

    def say(self, text: str) -> None: ...

    def wait(self, text: str) -> None: ...


class SilentUI:
    """No output, no waiting (tests)."""

    def say(self, text: str) -> None:
        pass

    def wait(self, text: str) -> None:
        pass


@dataclass
class SignalCheck:
    nominal_rate_hz: float
    actual_rate_hz: float
    samples: int
    lost_samples: int
    acc_noise_m_s2: float
    """Per-axis standard deviation of the acceleration while still (largest axis)."""
    gyro_noise_rad_s: float
    malformed: int

    @property
    def loss_fraction(self) -> float:
        total = self.samples + self.lost_samples
        return self.lost_samples / total if total else 0.0

    @property
    def rate_error(self) -> float:
        return abs(self.actual_rate_hz / self.nominal_rate_hz - 1.0) if self.nominal_rate_hz else 0.0

    def warnings(self) -> list[str]:
        out = []
        if self.rate_error > MAX_RATE_ERROR:
            out.append(
                f"the sensor delivered {self.actual_rate_hz:.1f} samples/s instead of {self.nominal_rate_hz:.0f}; "
                "keep it closer to this computer"
            )
        if self.loss_fraction > MAX_LOSS_FRACTION:
            out.append(f"{100 * self.loss_fraction:.1f} % of samples were lost; keep the sensor within a few metres")
        if self.malformed:
            out.append(f"{self.malformed} malformed packets; update the sensor firmware")
        return out

    def to_json(self) -> dict[str, float]:
        return {
            "nominal_rate_hz": self.nominal_rate_hz,
            "actual_rate_hz": round(self.actual_rate_hz, 3),
            "loss_fraction": round(self.loss_fraction, 6),
            "acc_noise_m_s2": round(self.acc_noise_m_s2, 5),
            "gyro_noise_rad_s": round(self.gyro_noise_rad_s, 6),
            "malformed": float(self.malformed),
        }


@dataclass
class PairingReport:
    identity: SensorIdentity
    signal: SignalCheck
    calibration: MountingCalibration
    record: SensorRecord
    standing: StillPose
    lying: StillPose
    warnings: list[str] = field(default_factory=list)


class _Collector:
    """Decodes the stream as it arrives and keeps packet host times for the rate measurement."""

    def __init__(self, decoder: Any, data_source: str) -> None:
        self.decoder = decoder
        self.data_source = data_source
        self.host_times: list[float] = []
        self.samples_at_packet: list[int] = []
        self.battery: int | None = None
        self.arrived = asyncio.Event()

    def sink(self, source: str, payload: bytes) -> None:
        if source != self.data_source:
            if source == "battery" and len(payload) == 1 and payload[0] <= 100:
                self.battery = payload[0]
            return
        now = time.time()
        before = self.decoder.samples_kept
        self.decoder.feed(payload, now)
        if self.decoder.samples_kept > before:
            # only notifications that delivered samples time the rate (a Verity Sense's ACC
            # frames wait for its GYRO frames before their samples are delivered)
            self.host_times.append(now)
            self.samples_at_packet.append(self.decoder.samples_kept)
        self.arrived.set()

    async def until(self, n_samples: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while self.decoder.samples_kept < n_samples:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SensorSilentError(
                    f"the sensor stopped sending data during pairing ({self.decoder.samples_kept} of {n_samples} samples)",
                    hint="keep the sensor close and switched on, then run `tracker pair` again",
                )
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), min(remaining, 0.5))


async def pair_sensor(
    env: LinkEnvironment,
    target: str | None = None,
    *,
    ui: PairingUI | None = None,
    settings: StreamSettings | None = None,
    signal_s: float = 3.0,
    stand_s: float = 3.0,
    lie_s: float = 3.0,
    scan_timeout_s: float = 10.0,
    connect_timeout_s: float = 15.0,
    registry: SensorRegistry | None = None,
    kind: str | None = None,
) -> PairingReport:
    """Bond, check, calibrate and store a sensor (see the module docstring). Raises TrackerErrors
    that say what to do: SensorNotFoundError, PairingError, ProtocolVersionError, SensorSilentError."""
    from bleak import BleakClient
    from bleak.exc import BleakError

    ui = ui or SilentUI()
    settings = settings or StreamSettings()
    rate = float(settings.sample_rate_hz)
    ui.say("Looking for the sensor…")
    device, _adv, driver = await find_sensor(env, target, timeout_s=scan_timeout_s, kind=kind)
    ui.say(f"Found {device.name or device.address} ({device.address}); connecting and bonding…")
    client = BleakClient(device, timeout=connect_timeout_s, **env.client_kwargs())
    try:
        await client.connect()
    except Exception as exc:
        no_bt = bluetooth_unavailable(exc)
        if no_bt is not None:
            raise no_bt from exc
        raise SensorError(
            f"could not connect to {device.address}: {exc}",
            address=device.address,
            hint="keep the sensor close, switch it off and on, then run `tracker pair` again",
        ) from exc
    try:
        try:
            await client.pair()
        except (BleakError, TimeoutError, NotImplementedError) as exc:
            raise PairingError(
                f"bonding with {device.address} failed: {exc}",
                address=device.address,
                hint="remove the sensor from the system's Bluetooth settings, power-cycle it, and pair again",
            ) from exc
        identity = await driver.read_identity(client)
        info = identity.device_info
        ui.say(
            f"Bonded. {info.get('manufacturer', '?')} {info.get('model', '?')}, serial {info.get('serial', '?')}, "
            f"firmware {info.get('firmware', '?')}, "
            + (f"protocol v{identity.protocol_version}, " if identity.protocol_version is not None else "")
            + f"battery {identity.battery_pct if identity.battery_pct is not None else 'unknown'}%"
        )
        collector = _Collector(driver.decoder_for(settings.to_json(), keep_samples=True), driver.data_source)
        slack_s = 10.0
        ui.wait("Stand upright and keep still until told otherwise (press Enter when ready).")
        effective = await driver.start(client, settings, collector.sink)
        notify_stream_started(collector.decoder, effective)
        rate = float(effective.get("sample_rate_hz", rate))  # the sensor's, when it chose its own
        n_signal = int(round(signal_s * rate))
        n_stand = int(round(stand_s * rate))
        n_settle = int(round(SETTLE_S * rate))
        n_lie = int(round(lie_s * rate))
        ui.say(f"Checking the signal for {signal_s:.0f} s and measuring the standing pose for {stand_s:.0f} s — keep still…")
        await collector.until(n_signal + n_stand, signal_s + stand_s + slack_s)
        lie_from = max(collector.decoder.samples_kept, n_signal + n_stand)
        ui.wait("Now lie on your back on the roller and keep still (press Enter when lying still).")
        if not env.emulated:
            lie_from = collector.decoder.samples_kept  # a person took their time: start from now
        await collector.until(lie_from + n_settle + n_lie, SETTLE_S + lie_s + slack_s)
        await driver.stop(client)
    finally:
        with contextlib.suppress(Exception):
            await client.disconnect()

    decoder = collector.decoder
    recording = decoder.to_recording()
    stats = decoder.stats
    acc, gyr = recording.acc_m_s2, recording.gyr_rad_s
    signal_slice = slice(0, n_signal)
    # Rate from host receive times: samples delivered over the time the signal window's packets
    # took to arrive.
    last_pkt = next((i for i, n in enumerate(collector.samples_at_packet) if n >= n_signal), len(collector.host_times) - 1)
    # With few, large notifications (a Verity Sense: 13 samples each, 4 a second) one late
    # arrival skews a two-point estimate: fit a line through every packet of the window, the
    # first one (the start-up flush of what the sensor held) left out when there are enough.
    first_pkt = 1 if last_pkt >= 4 else 0
    span_s = collector.host_times[last_pkt] - collector.host_times[first_pkt]
    delivered: float = collector.samples_at_packet[last_pkt] - collector.samples_at_packet[first_pkt]
    if last_pkt - first_pkt >= 3:
        import numpy as np

        window = slice(first_pkt, last_pkt + 1)
        host = np.asarray(collector.host_times[window]) - collector.host_times[first_pkt]
        slope = np.polyfit(host, np.asarray(collector.samples_at_packet[window], float), 1)[0]
        span_s, delivered = 1.0, float(slope)
    speed = float(getattr(env.sensor, "speed", 1.0) or 0.0) if env.emulated else 1.0
    actual_rate = delivered / span_s if span_s > 0 else float("nan")
    if env.emulated and speed not in (0.0, 1.0):
        actual_rate /= speed  # an emulator running k times faster than real time
    signal = SignalCheck(
        nominal_rate_hz=rate,
        actual_rate_hz=actual_rate,
        samples=int(stats.samples),
        lost_samples=int(stats.lost_samples),
        acc_noise_m_s2=float(acc[signal_slice].std(axis=0).max()),
        gyro_noise_rad_s=float(gyr[signal_slice].std(axis=0).max()),
        malformed=int(stats.malformed_total),
    )
    standing = summarize_still_pose(acc[n_signal : n_signal + n_stand], gyr[n_signal : n_signal + n_stand])
    lie_start = lie_from + n_settle
    lying = summarize_still_pose(acc[lie_start : lie_start + n_lie], gyr[lie_start : lie_start + n_lie])
    calibration = calibration_from_still_poses(standing, lying)

    registry = registry or SensorRegistry()
    battery = collector.battery if collector.battery is not None else identity.battery_pct
    record = SensorRecord(
        address=identity.address,
        name=identity.name,
        driver=identity.driver,
        device_info=dict(identity.device_info),
        protocol_version=identity.protocol_version,
        calibration=calibration,
        last_battery_pct=battery,
        last_battery_utc=utc_now_iso() if battery is not None else None,
        paired_utc=utc_now_iso(),
        emulated=env.emulated,
        signal_check={**signal.to_json(), "samples_per_packet": float(effective.get("samples_per_packet", 0))},
    )
    registry.upsert(record, make_default=True)
    registry.save()
    return PairingReport(
        identity=identity,
        signal=signal,
        calibration=calibration,
        record=record,
        standing=standing,
        lying=lying,
        warnings=signal.warnings(),
    )


