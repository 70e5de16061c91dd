"""Writing capture files: append-only, crash-safe, private (docs/capture-format.md).

The writer keeps notifications in memory for at most `flush_interval_s` (0.5 s by default), then
appends them as one checksummed block record and fsyncs. A block is also sealed once it holds about
`flush_interval_s` of samples at the header's sample rate (`block_bytes_for`): a capture written
faster than real time (fixtures, demos) would otherwise pack a minute of session into one block, and
a few damaged bytes would cost that whole minute. A background thread enforces the
interval even when no new data arrives, so a `kill -9` loses at most the last `flush_interval_s`
plus the time of one write. A record is written whole or (on a crash or full disk) cut at the end
of the file, where a reader reports it and keeps everything before it.

Two locks keep the caller (a BLE notification callback on the asyncio loop) off the disk: `_lock`
guards the in-memory buffers and is only ever held for an append or a buffer swap (µs); `_io_lock`
orders the writes and fsyncs, which happen outside `_lock`. With the background thread,
`write_notification`, `write_event` and `update_header` never wait for a write or an fsync. A disk
error in the background thread is kept and raised by the next `write_*`, `flush` or `close`.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tracker import __version__, paths
from tracker.capture import format as fmt
from tracker.capture import schema
from tracker.errors import StorageError
from tracker.protocol.spec import SAMPLE_SIZE

REQUIRED_SETTINGS = ("sample_rate_hz", "accel_range_g", "gyro_range_dps")
MIN_BLOCK_BYTES = 256
MAX_BLOCK_BYTES = 64 * 1024
COPY_INTERVAL_NS = 10_000_000_000
"""A HEADER_COPY follows the header at once, each settings update, and then at least every 10 s of
host time, so a damaged header costs no sample (docs/capture-format.md, "Header copies")."""


def block_bytes_for(settings: dict[str, Any] | None, span_s: float) -> int:
    """Block size (stored bytes) that holds at most about `span_s` of samples at the settings'
    sample rate: every sample takes at least `SAMPLE_SIZE` bytes of a notification, so a block of
    rate x span x SAMPLE_SIZE bytes never holds more than `span_s` of the session, however fast it
    was written."""
    try:
        rate = float((settings or {})["sample_rate_hz"])
    except (KeyError, TypeError, ValueError):
        return MAX_BLOCK_BYTES
    if not rate > 0:
        return MAX_BLOCK_BYTES
    return int(min(MAX_BLOCK_BYTES, max(MIN_BLOCK_BYTES, rate * span_s * SAMPLE_SIZE)))


def host_time_ns() -> int:
    """The host clock capture records use by default: monotonic nanoseconds (never jumps)."""
    return time.monotonic_ns()


def clock_anchor() -> dict[str, Any]:
    """Ties the monotonic host clock to UTC now: {"host_clock", "anchor_host_ns", "anchor_utc_ns"}."""
    return {
        "host_clock": "monotonic",
        "anchor_host_ns": time.monotonic_ns(),
        "anchor_utc_ns": time.time_ns(),
    }


@dataclass
class CaptureHeader:
    """What a capture's first record says about the recording.

    `sensor`: name, address and the Device Information strings (manufacturer, model, serial,
    firmware_revision), protocol_version. `settings`: sample_rate_hz, accel_range_g, gyro_range_dps
    (required), att_mtu, samples_per_packet. `calibration`: `MountingCalibration.to_json()` or None.
    `clock`: how host_time_ns maps to UTC (default: the monotonic clock, anchored now).
    """

    sensor: dict[str, Any]
    settings: dict[str, Any]
    calibration: dict[str, Any] | None = None
    clock: dict[str, Any] = field(default_factory=clock_anchor)
    timezone: str | None = None
    utc_offset_s: int | None = None
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    """Anything else worth keeping (emulator scenario, ground-truth file name, ...)."""

    def to_json(self) -> dict[str, Any]:
        out = {
            "format": "tracker-capture",
            "format_version": fmt.FORMAT_VERSION,
            "tracker_version": __version__,
            "created_utc": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "sensor": dict(self.sensor),
            "settings": dict(self.settings),
            "calibration": self.calibration,
            "clock": dict(self.clock),
            "timezone": self.timezone,
            "utc_offset_s": self.utc_offset_s,
            "notes": self.notes,
        }
        if self.extra:
            out["extra"] = dict(self.extra)
        return out


def _header_json(header: CaptureHeader | dict[str, Any]) -> dict[str, Any]:
    if isinstance(header, CaptureHeader):
        obj = header.to_json()
    elif isinstance(header, dict):
        obj = {
            "format": "tracker-capture",
            "format_version": fmt.FORMAT_VERSION,
            "tracker_version": __version__,
            "created_utc": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "clock": clock_anchor(),
            **header,
        }
    else:
        raise TypeError("header must be a CaptureHeader or a dict")
    settings = obj.get("settings")
    missing = [k for k in REQUIRED_SETTINGS if not isinstance(settings, dict) or k not in settings]
    if missing:
        raise ValueError(
            f"capture header settings need {', '.join(missing)} (sample rate in Hz, ranges in g and dps)"
        )
    if "sensor" not in obj:
        obj["sensor"] = {}
    obj = fmt.finite_json(obj)
    try:  # a reader would set this header aside: refuse to write it
        schema.check(obj, schema.Header)
    except schema.RecordError as exc:
        raise ValueError(f"capture header: {exc}") from None
    return obj


class CaptureWriter:
    """Append notifications, events and header updates to a new capture file.

    Use as a context manager. `host_time_ns` values are on the clock named in the header
    (`host_time_ns()` by default). Methods raise `DiskFullError`/`StorageError` when the disk
    refuses; everything flushed before stays readable. `max_block_bytes` (default: from the
    header's sample rate, see `block_bytes_for`) caps one block whatever the pace of writing.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        header: CaptureHeader | dict[str, Any],
        *,
        flush_interval_s: float = 0.5,
        background_flush: bool = True,
        fsync: bool = True,
        max_block_bytes: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.header = _header_json(header)
        self.flush_interval_s = float(flush_interval_s)
        self.fsync = fsync
        self._settings = dict(self.header.get("settings") or {})  # as they stand, updates merged
        self._fixed_block_bytes = max_block_bytes is not None
        self.max_block_bytes = (
            int(max_block_bytes)
            if max_block_bytes is not None
            else block_bytes_for(self._settings, self.flush_interval_s)
        )
        self.notifications_written = 0
        self._imu_written = 0
        self._settings_epoch = 0  # settings updates written so far (header copies say it)
        self._last_copy_ns: int | None = None
        self.records_written = 0
        self.bytes_written = 0
        self._lock = threading.Lock()  # buffers only: never held during a write or an fsync
        self._io_lock = threading.Lock()  # orders writes + fsyncs (taken before _lock, never after)
        self._out = bytearray()  # sealed records not yet on disk
        self._block_source: int | None = None
        self._block_times: list[int] = []
        self._block_payloads: list[bytes] = []
        self._block_bytes = 0
        self._error: BaseException | None = None
        self._error_reported = False
        self._closed = False
        self._last_flush = time.monotonic()
        self._last_time_ns = 0

        paths.ensure_private_dir(self.path.parent)
        try:
            self._fh = paths.open_private(self.path)
        except FileExistsError as exc:
            raise StorageError(
                f"{self.path} already exists",
                hint="choose another --out file; captures are never overwritten",
            ) from exc
        except OSError as exc:
            paths.raise_storage_error(exc, self.path)
        self._fd = self._fh.fileno()
        with self._lock:
            self._out += fmt.SIGNATURE
            first_time = int(self.header.get("clock", {}).get("anchor_host_ns", 0) or 0)
            self._append_record(
                fmt.encode_json_record(fmt.RecordType.HEADER, first_time, self.header)
            )
            self._append_copy(first_time)
        self._flush()
        self._fsync_dir()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if background_flush:
            self._thread = threading.Thread(
                target=self._flusher, name=f"capture-flush:{self.path.name}", daemon=True
            )
            self._thread.start()

    # --- public API ----------------------------------------------------------------------
    def write_notification(self, host_time_ns: int, payload: bytes, source: str = "imu") -> None:
        """One raw notification as received (bytes are not checked: they are evidence)."""
        src = fmt.SOURCE_BY_NAME.get(source)
        if src is None:
            raise ValueError(f"source must be one of {sorted(fmt.SOURCE_BY_NAME)}; got {source!r}")
        data = bytes(payload)
        due = False
        with self._lock:
            self._check()
            if self._block_source is not None and (
                self._block_source != src
                or self._block_bytes + len(data) + 10 > self.max_block_bytes
            ):
                self._seal_block()
            self._block_source = int(src)
            self._block_times.append(int(host_time_ns))
            self._block_payloads.append(data)
            self._block_bytes += len(data) + 10
            self._last_time_ns = int(host_time_ns)
            self.notifications_written += 1
            if src == fmt.Source.IMU:
                self._imu_written += 1
            # with the background thread the caller never writes; without it, it must
            due = (
                self._thread is None
                and time.monotonic() - self._last_flush >= self.flush_interval_s
            )
        if due:
            self._flush()

    def write_event(self, host_time_ns: int, kind: str, **data: Any) -> None:
        """A marker: `link_lost`, `reconnected`, `stream_started`, `note` (text=...), ... Kept in
        order with the notifications around it."""
        obj = {"kind": str(kind), **data}
        with self._lock:
            self._check()
            self._seal_block()
            self._append_record(
                fmt.encode_json_record(fmt.RecordType.EVENT, int(host_time_ns), obj)
            )

    def update_header(self, host_time_ns: int, **fields: Any) -> None:
        """Header fields learned later (e.g. calibration=..., settings=... after a rate change);
        they apply from this point of the file on."""
        with self._lock:
            self._check()
            self._seal_block()
            self._append_record(
                fmt.encode_json_record(fmt.RecordType.HEADER_UPDATE, int(host_time_ns), fields)
            )
            if isinstance(fields.get("settings"), dict):
                # a settings update may name only what changed; readers merge it over the
                # settings in force, and so does the header the copies repeat
                self._settings = {**self._settings, **fields["settings"]}
                self._settings_epoch += 1
                if not self._fixed_block_bytes:  # a new rate: blocks keep the same span
                    self.max_block_bytes = block_bytes_for(self._settings, self.flush_interval_s)
            self.header.update(fields)
            self._append_copy(int(host_time_ns))

    def flush(self) -> None:
        """Write everything pending and fsync it (blocks for the write; the other methods don't)."""
        with self._lock:
            self._check()
        self._flush()

    def close(self) -> None:
        """Write the end record, flush, fsync, close. Safe to call twice; after a disk error it
        only closes the file."""
        if self._closed:
            return
        self._stop_thread()
        try:
            with self._lock:
                ok = self._error is None
                if ok:
                    self._seal_block()
                    summary = {
                        "notifications": self.notifications_written,
                        "records": self.records_written + 1,
                        "closed_utc": datetime.now(UTC).isoformat(timespec="milliseconds"),
                        "header": self._copy(),
                    }
                    self._append_record(
                        fmt.encode_json_record(fmt.RecordType.END, self._last_time_ns, summary)
                    )
            if ok:
                self._flush()
        finally:
            with self._lock:
                self._closed = True
            with contextlib.suppress(OSError):
                self._fh.close()
        with self._lock:
            # a background disk error nobody has heard of yet must not pass silently
            if self._error is not None and not self._error_reported:
                self._error_reported = True
                raise self._error

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals -----------------------------------------------------------------------
    def _check(self) -> None:
        """Raise a stored disk error (or refuse a closed writer). Call with `_lock` held."""
        if self._error is not None:
            self._error_reported = True
            raise self._error
        if self._closed:
            raise ValueError(f"capture {self.path} is closed")

    def _append_record(self, record: bytes) -> None:
        self._out += record
        self.records_written += 1

    def _copy(self) -> dict[str, Any]:
        """The header as it stands, for a HEADER_COPY or the END record."""
        return {
            **fmt.header_copy({**self.header, "settings": dict(self._settings)}),
            "settings_epoch": self._settings_epoch,
            "imu_notifications": self._imu_written,
        }

    def _append_copy(self, host_time_ns: int) -> None:
        self._append_record(fmt.encode_json_record(fmt.RecordType.HEADER_COPY, host_time_ns, self._copy()))
        self._last_copy_ns = host_time_ns

    def _seal_block(self) -> None:
        if self._block_source is None or not self._block_payloads:
            return
        payload = fmt.encode_block(self._block_source, self._block_times, self._block_payloads)
        last = self._block_times[-1]
        self._append_record(fmt.encode_record(fmt.RecordType.NOTIFICATIONS, last, payload))
        if self._last_copy_ns is None or last < self._last_copy_ns:
            self._last_copy_ns = last  # callers' clocks may start anywhere: count from here
        elif last - self._last_copy_ns >= COPY_INTERVAL_NS:
            self._append_copy(last)
        self._block_source = None
        self._block_times = []
        self._block_payloads = []
        self._block_bytes = 0

    def _take_locked(self) -> bytes:
        """Seal the open block and take every pending byte (call with `_lock` held)."""
        self._seal_block()
        self._last_flush = time.monotonic()
        data, self._out = bytes(self._out), bytearray()
        return data

    def _flush(self) -> None:
        """Swap the buffer out under `_lock`, then write and fsync it under `_io_lock` only."""
        with self._io_lock:
            with self._lock:
                if self._error is not None:
                    return
                data = self._take_locked()
            if data:
                try:
                    self._write(data)
                except StorageError:
                    self._error_reported = True  # the caller gets it right now
                    raise

    def _write(self, data: bytes) -> None:
        """Append `data` and fsync (call with `_io_lock` held); a failure is kept and raised."""
        view = memoryview(data)
        written = 0
        try:
            while written < len(view):
                written += os.write(self._fd, view[written:])
            if self.fsync:
                os.fsync(self._fd)
        except OSError as exc:
            try:
                paths.raise_storage_error(exc, self.path)
            except StorageError as err:
                with self._lock:
                    self._error = err
                raise
        finally:
            self.bytes_written += written
            view.release()

    def _fsync_dir(self) -> None:
        # the new file's directory entry must survive a power loss too
        if os.name != "posix" or not self.fsync:
            return
        with contextlib.suppress(OSError):
            dfd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)

    def _flusher(self) -> None:
        while not self._stop.wait(self.flush_interval_s / 2):
            with self._io_lock:
                with self._lock:
                    if self._closed or self._error is not None:
                        return
                    if time.monotonic() - self._last_flush < self.flush_interval_s or not (
                        self._out or self._block_payloads
                    ):
                        continue
                    data = self._take_locked()
                if data:
                    with contextlib.suppress(StorageError):  # kept in self._error for the caller
                        self._write(data)

    def _stop_thread(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=5)
            self._thread = None
