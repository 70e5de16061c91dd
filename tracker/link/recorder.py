"""Recording: stream a sensor to a capture file, surviving link drops and silent sensors.

`Recorder(env, out_path, ...).run()` finds the sensor, connects through bleak, bonds (encrypts with
the stored bond), subscribes and starts streaming, and writes every notification raw with its host
receive time to the capture as it arrives (the capture writer flushes at least every
`flush_interval_s`; a `kill -9` loses at most that much). While recording:

- the link drops -> event `link_lost` in the capture, rescan, reconnect with backoff, event
  `reconnected` with the gap; nothing is written twice (each notification is written once, when
  it arrives); gives up after `reconnect_give_up_s` with `LinkLostError`, keeping the file;
- no data for `watchdog_s` while "connected" -> event `sensor_silent`, disconnect and reconnect;
  after `max_silent_episodes` in a row without data in between, `SensorSilentError` (file kept);
- `stop()` (Ctrl-C) or `duration_s` -> stop streaming, close the file, return the result;
- the disk fills -> `DiskFullError`; what was written stays readable.

A BLE callback never raises: a write error is stored and re-raised by `run()` after cleanup.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tracker.errors import (
    ControlPointError,
    LinkLostError,
    PairingError,
    ProtocolVersionError,
    SensorSilentError,
    StorageError,
    TrackerError,
)
from tracker.link.driver import SensorDriver, SensorIdentity, StreamSettings, notify_stream_started
from tracker.link.environment import LinkEnvironment, bluetooth_unavailable
from tracker.link.scan import find_sensor
from tracker.paths import storage_error

logger = logging.getLogger(__name__)

EMPTY_BATTERY_PCT = 1
EMPTY_BATTERY_GIVE_UP_S = 10.0
"""With the last battery reading at or below `EMPTY_BATTERY_PCT`, a lost link is given up after
this long instead of `reconnect_give_up_s`: the sensor has most likely switched itself off."""


@dataclass
class RecordProgress:
    """A snapshot for the live progress line."""

    state: str
    """"searching", "connecting", "streaming", "reconnecting", "stopping", "stopped"."""
    elapsed_s: float
    samples: int
    rate_hz: float
    lost_samples: int
    battery_pct: int | None
    reconnects: int
    path: Path | None

    @property
    def loss_pct(self) -> float:
        total = self.samples + self.lost_samples
        return 100.0 * self.lost_samples / total if total else 0.0


@dataclass
class RecordResult:
    path: Path | None
    duration_s: float
    samples: int
    notifications: int
    lost_samples: int
    reconnects: int
    gaps: list[dict[str, float]] = field(default_factory=list)
    stopped_by: str = "duration"
    """"duration", "user", or "error"."""
    identity: SensorIdentity | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    decode_stats: dict[str, Any] = field(default_factory=dict)


def _stats_dict(decoder: Any) -> dict[str, Any]:
    stats = getattr(decoder, "stats", None)
    if stats is None:
        return {}
    if hasattr(stats, "to_json"):
        return dict(stats.to_json())
    if hasattr(stats, "__dataclass_fields__"):
        import dataclasses

        return dataclasses.asdict(stats)
    return dict(vars(stats))


def _stat(decoder: Any, *names: str) -> int:
    stats = getattr(decoder, "stats", None)
    for name in names:
        value = getattr(stats, name, None)
        if value is not None:
            return int(value)
    return 0


class _Stop(Exception):
    """Internal: leave the streaming loop."""


class Recorder:
    """Record one sensor to one capture file. See the module docstring."""

    def __init__(
        self,
        env: LinkEnvironment,
        out_path: Path,
        *,
        target: str | None = None,
        kind: str | None = None,
        settings: StreamSettings | None = None,
        duration_s: float | None = None,
        watchdog_s: float = 2.0,
        max_silent_episodes: int = 3,
        reconnect_give_up_s: float = 60.0,
        scan_timeout_s: float = 10.0,
        connect_timeout_s: float = 10.0,
        flush_interval_s: float = 0.5,
        calibration: Any = None,
        header_extra: dict[str, Any] | None = None,
        on_progress: Callable[[RecordProgress], None] | None = None,
        clock_ns: Callable[[], int] = time.monotonic_ns,
        keep_samples: bool = False,
        max_samples: int | None = None,
        on_block: Callable[[Any], Any] | None = None,
    ) -> None:
        if duration_s is not None and not duration_s > 0:
            raise ValueError("duration_s must be positive")
        self.env = env
        self.out_path = Path(out_path)
        self.target = target
        self.kind = kind
        """Only a sensor of this kind ("polar-h10", ...) when given."""
        self.settings = settings or StreamSettings()
        self.duration_s = duration_s
        self.watchdog_s = watchdog_s
        self.max_silent_episodes = max_silent_episodes
        self.reconnect_give_up_s = reconnect_give_up_s
        self.scan_timeout_s = scan_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.flush_interval_s = flush_interval_s
        self.calibration = calibration
        self.header_extra = dict(header_extra or {})
        self.on_progress = on_progress
        self._clock_ns = clock_ns
        self.keep_samples = keep_samples
        self.max_samples = max_samples
        self.on_block = on_block
        """Called with each decoded block as it arrives (the live view); must not raise."""
        """Stop once this many samples are decoded (the demo streams faster than real time, so a
        wall-clock duration cannot say when a simulated session is over)."""
        """Keep decoded samples in `decoder` (tests, benchmarks); the capture file has them anyway."""

        self._writer: Any = None
        self._decoder: Any = None
        self._driver: SensorDriver | None = None
        self._client: Any = None  # the connected sensor while recording (None between links)
        self._identity: SensorIdentity | None = None
        self._effective: dict[str, Any] = {}
        self._fatal: BaseException | None = None
        self._stop_requested = False
        self._stopped_by = "duration"
        self._wake: asyncio.Event | None = None
        self._disconnected: asyncio.Event | None = None
        self._state = "searching"
        self._t0_mono: float | None = None
        self._last_data_mono: float = 0.0
        self._notifications = 0
        self._battery: int | None = None
        self._reconnects = 0
        self._gaps: list[dict[str, float]] = []
        self.track_arrivals = False
        """Benchmarks: keep (first 8 payload bytes, clock time once decoded, s) per data notification."""
        self.arrivals: list[tuple[bytes, float]] = []
        self._recorded_settings: dict[str, Any] | None = None

    # --- control from outside --------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the recording to end cleanly (safe from a signal handler on the loop's thread)."""
        self._stop_requested = True
        self._stopped_by = "user"
        if self._wake is not None:
            self._wake.set()

    def progress(self) -> RecordProgress:
        elapsed = time.monotonic() - self._t0_mono if self._t0_mono is not None else 0.0
        samples = _stat(self._decoder, "samples")
        lost = _stat(self._decoder, "lost_samples")
        return RecordProgress(
            state=self._state,
            elapsed_s=elapsed,
            samples=samples,
            rate_hz=samples / elapsed if elapsed > 0 else 0.0,
            lost_samples=lost,
            battery_pct=self._battery,
            reconnects=self._reconnects,
            path=self.out_path if self._writer is not None else None,
        )

    @property
    def decoder(self) -> Any:
        """The live StreamDecoder (None before the first connection)."""
        return self._decoder

    # --- the callback (never raises) -------------------------------------------------------------
    def _sink(self, source: str, payload: bytes) -> None:
        t_ns = self._clock_ns()
        if self._fatal is not None or self._writer is None:
            return
        driver = self._driver
        is_data = driver is not None and source == driver.data_source
        if is_data:
            # Decode first: live consumers get the samples without waiting for the disk (the
            # capture writer may hold its lock during an fsync); the raw bytes are written next.
            self._last_data_mono = time.monotonic()
            self._silent_episodes = 0
            block = self._decoder.feed(payload, t_ns / 1e9)
            if block is not None and self.on_block is not None:
                try:
                    self.on_block(block)
                except Exception:  # noqa: BLE001  a live-view bug must not stop a recording
                    logger.exception("live consumer failed")
            if self.max_samples is not None and not self._stop_requested and _stat(self._decoder, "samples") >= self.max_samples:
                self.stop()
                self._stopped_by = "samples"
            if self.track_arrivals:
                self.arrivals.append((bytes(payload[:8]), self._clock_ns() / 1e9))
        try:
            self._writer.write_notification(t_ns, payload, source=source)
        except TrackerError as exc:
            self._fail(exc)
            return
        except OSError as exc:
            self._fail(storage_error(exc, self.out_path))
            return
        except Exception as exc:  # noqa: BLE001  never raise into the radio stack
            logger.exception("capture write failed")
            self._fail(exc)
            return
        self._notifications += 1
        if driver is not None and not is_data:
            battery = driver.battery_from_record(source, payload)
            if battery is not None:
                self._battery = battery

    def _fail(self, exc: BaseException) -> None:
        if self._fatal is None:
            self._fatal = exc
        if self._wake is not None:
            self._wake.set()

    def _event(self, kind: str, **data: Any) -> None:
        if self._writer is None:
            return
        try:
            self._writer.write_event(self._clock_ns(), kind, **data)
        except OSError as exc:
            self._fail(storage_error(exc, self.out_path))
        except TrackerError as exc:
            self._fail(exc)

    def _report(self) -> None:
        if self.on_progress is not None:
            try:
                self.on_progress(self.progress())
            except Exception:  # noqa: BLE001  a display bug must not stop a recording
                logger.exception("progress callback failed")

    # --- the capture -------------------------------------------------------------------------------
    def _open_capture(self, identity: SensorIdentity, driver: SensorDriver) -> None:
        from tracker.capture.writer import CaptureHeader, CaptureWriter

        offset = datetime.now(UTC).astimezone().utcoffset()
        sensor = {
            "name": identity.name,
            "address": identity.address,
            "driver": driver.kind,
            "protocol_version": identity.protocol_version,
            "manufacturer": identity.device_info.get("manufacturer"),
            "model": identity.device_info.get("model"),
            "serial": identity.device_info.get("serial"),
            "firmware_revision": identity.device_info.get("firmware"),
            "battery_pct_at_start": identity.battery_pct,
        }
        header = CaptureHeader(
            sensor=sensor,
            settings=self.settings.to_json(),
            calibration=self.calibration.to_json() if self.calibration is not None else None,
            timezone=_local_timezone_name(),
            utc_offset_s=int(offset.total_seconds()) if offset is not None else None,
            extra={"emulated": self.env.emulated, "recorder": {"watchdog_s": self.watchdog_s}, **self.header_extra},
        )
        self._writer = CaptureWriter(self.out_path, header, flush_interval_s=self.flush_interval_s)
        self._decoder = driver.decoder_for(self.settings.to_json(), keep_samples=self.keep_samples)

    def _record_settings(self, driver: SensorDriver) -> None:
        """Keep the settings the sensor confirmed in the capture when the driver says replay
        needs them (Polar: per-measurement settings and factors), once per change."""
        capture_settings = getattr(driver, "capture_settings", None)
        if self._writer is None or not callable(capture_settings):
            return
        settings = {**self.settings.to_json(), **capture_settings(self._effective)}
        if settings == self._recorded_settings:
            return
        self._recorded_settings = settings
        try:
            self._writer.update_header(self._clock_ns(), settings=settings)
        except OSError as exc:
            self._fail(storage_error(exc, self.out_path))
        except TrackerError as exc:
            self._fail(exc)

    async def _progress_loop(self) -> None:
        # The capture writer flushes on its own (a background thread, every flush_interval_s);
        # this loop only reports progress.
        while True:
            await asyncio.sleep(0.5)
            self._report()

    # --- the link ------------------------------------------------------------------------------------
    async def _connect_and_start(self, device: Any, driver: SensorDriver) -> Any:
        from bleak import BleakClient

        assert self._disconnected is not None
        disconnected = self._disconnected
        disconnected.clear()

        def on_disconnect(_client: Any) -> None:
            disconnected.set()
            if self._wake is not None:
                self._wake.set()

        client = BleakClient(
            device,
            disconnected_callback=on_disconnect,
            timeout=self.connect_timeout_s,
            pair=True,
            **self.env.client_kwargs(),
        )
        self._state = "connecting"
        try:
            await client.connect()
        except Exception as exc:
            no_bt = bluetooth_unavailable(exc)
            if no_bt is not None:
                raise no_bt from exc
            raise
        try:
            identity = await driver.read_identity(client)
            if identity.battery_pct is not None:
                self._battery = identity.battery_pct
            if self._writer is None:
                self._identity = identity
                self._open_capture(identity, driver)
            self._last_data_mono = time.monotonic()
            self._effective = await driver.start(client, self.settings, self._sink)
            notify_stream_started(self._decoder, self._effective)
            self._record_settings(driver)
            self._event("stream_started", **self._effective)
        except BaseException:
            with contextlib.suppress(Exception):
                await client.disconnect()
            raise
        self._state = "streaming"
        return client

    async def _stream_until_break(self, client: Any) -> str:
        """Wait while streaming; return why it ended: "stop", "duration", "lost", "silent"."""
        assert self._wake is not None and self._disconnected is not None
        while True:
            self._wake.clear()
            if self._fatal is not None:
                return "fatal"
            if self._stop_requested:
                return "stop"
            now = time.monotonic()
            if self.duration_s is not None and self._t0_mono is not None and now - self._t0_mono >= self.duration_s:
                return "duration"
            if self._disconnected.is_set() or not client.is_connected:
                return "lost"
            if now - self._last_data_mono > self.watchdog_s:
                return "silent"
            timeout = 0.1
            if self.duration_s is not None and self._t0_mono is not None:
                timeout = max(0.0, min(timeout, self._t0_mono + self.duration_s - now))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _close_client(self, client: Any, driver: SensorDriver, *, stop_stream: bool) -> None:
        if client is None:
            return
        if stop_stream and client.is_connected:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(driver.stop(client), 3.0)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.disconnect(), 5.0)

    async def _reconnect(self, address: str, driver: SensorDriver, reason: str) -> Any:
        """Rescan and reconnect with backoff; raise LinkLostError after `reconnect_give_up_s`."""
        self._state = "reconnecting"
        lost_at = time.monotonic()
        delay = 0.25
        attempt = 0
        last_error: BaseException | None = None
        # A sensor whose last battery reading was empty has switched itself off: waiting the full
        # minute for it would only delay saving (and, for `record`, storing) the session.
        give_up_s = self.reconnect_give_up_s
        if self._battery is not None and self._battery <= EMPTY_BATTERY_PCT:
            give_up_s = min(give_up_s, EMPTY_BATTERY_GIVE_UP_S)
        while True:
            if self._stop_requested or self._fatal is not None:
                raise _Stop
            if self.duration_s is not None and self._t0_mono is not None and time.monotonic() - self._t0_mono >= self.duration_s:
                raise _Stop
            attempt += 1
            remaining = give_up_s - (time.monotonic() - lost_at)
            if remaining <= 0:
                raise LinkLostError(
                    f"the link to {address} dropped and did not come back within {give_up_s:.0f} s"
                    + (f" (last error: {last_error})" if last_error else ""),
                    address=address,
                    hint="bring the sensor closer, check its battery, then record again; the file so far is kept",
                )
            try:
                # Rescan first: on Linux BlueZ forgets devices it has not seen recently.
                device, _adv, _drv = await find_sensor(self.env, address, timeout_s=min(self.scan_timeout_s, max(0.5, remaining)))
                client = await self._connect_and_start(device, driver)
            except (ControlPointError, PairingError, ProtocolVersionError, StorageError):
                raise  # retrying cannot fix these: the user must act
            except Exception as exc:  # noqa: BLE001  not found, timeouts, link errors: try again
                last_error = exc
                logger.info("reconnect attempt %d to %s failed: %s", attempt, address, exc)
                assert self._wake is not None
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
                delay = min(delay * 2, 5.0)
                continue
            gap_s = time.monotonic() - lost_at
            self._reconnects += 1
            self._gaps.append({"start_s": lost_at - (self._t0_mono or lost_at), "duration_s": gap_s})
            self._event("reconnected", after=reason, gap_s=round(gap_s, 4), attempts=attempt)
            return client

    async def run(self) -> RecordResult:
        """Record until the duration passes, `stop()` is called, or the link cannot be restored."""
        self._wake = asyncio.Event()
        self._disconnected = asyncio.Event()
        self._silent_episodes = 0
        driver: SensorDriver | None = None
        flusher: asyncio.Task[None] | None = None
        error: BaseException | None = None
        self._client = None
        try:
            device, _adv, driver = await find_sensor(
                self.env, self.target, timeout_s=self.scan_timeout_s, kind=self.kind
            )
            self._driver = driver
            self._client = await self._connect_and_start(device, driver)
            self._t0_mono = time.monotonic()
            flusher = asyncio.create_task(self._progress_loop())
            await self._stream_and_reconnect(device.address, driver)
            if self._fatal is not None:
                raise self._fatal
        except BaseException as exc:
            error = exc
            self._stopped_by = "error"
        error = await self._shut_down(driver, flusher, error)
        if error is not None:
            raise error
        return self._result()

    async def _stream_and_reconnect(self, address: str, driver: SensorDriver) -> None:
        """Stream from `self._client`; after a silent sensor or a lost link, reconnect and go on,
        until stopped, the duration passes, or the link cannot be restored (raises)."""
        while True:
            why = await self._stream_until_break(self._client)
            if why in ("stop", "duration", "fatal"):
                return
            if why == "silent":
                self._silent_episodes += 1
                self._event("sensor_silent", silent_s=round(time.monotonic() - self._last_data_mono, 3))
                if self._silent_episodes > self.max_silent_episodes:
                    raise SensorSilentError(
                        f"the sensor {address} stayed connected but sent no data "
                        f"({self._silent_episodes} times for {self.watchdog_s:.0f} s)",
                        address=address,
                        hint="power-cycle the sensor and record again; the file so far is kept",
                    )
                await self._close_client(self._client, driver, stop_stream=False)
            else:
                self._event("link_lost", reason="disconnected")
            self._client = None
            try:
                self._client = await self._reconnect(address, driver, why)
            except _Stop:
                return

    async def _shut_down(
        self, driver: SensorDriver | None, flusher: asyncio.Task[None] | None, error: BaseException | None
    ) -> BaseException | None:
        """Stop the progress loop, the stream and the link, close the capture (a storage error
        closing it is the recording's error when it had none) and report; returns the error."""
        self._state = "stopping"
        if flusher is not None:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
        if driver is not None:
            await self._close_client(self._client, driver, stop_stream=True)
        if self._writer is not None:
            self._event("recording_stopped", reason=self._stopped_by if error is None else type(error).__name__)
            try:
                self._writer.close()
            except OSError as exc:
                if error is None:
                    error = storage_error(exc, self.out_path)
            except TrackerError as exc:
                if error is None:
                    error = exc
        self._state = "stopped"
        if self._writer is not None:
            self._report()
        return error

    def _result(self) -> RecordResult:
        progress = self.progress()
        return RecordResult(
            path=self.out_path if self._writer is not None else None,
            duration_s=progress.elapsed_s,
            samples=progress.samples,
            notifications=self._notifications,
            lost_samples=progress.lost_samples,
            reconnects=self._reconnects,
            gaps=list(self._gaps),
            stopped_by=self._stopped_by,
            identity=self._identity,
            settings=dict(self._effective),
            decode_stats=_stats_dict(self._decoder),
        )

    @property
    def written(self) -> bool:
        """Whether a capture file was created (even if the recording then failed)."""
        return self._writer is not None


def _local_timezone_name() -> str | None:
    """The IANA name of the local time zone when the system says it, else None."""
    import os

    name = os.environ.get("TZ")
    if name:
        return name
    try:
        link = os.readlink("/etc/localtime")
    except OSError:
        return None
    marker = "zoneinfo/"
    return link.split(marker, 1)[1] if marker in link else None
