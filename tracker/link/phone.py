"""Recording from a phone: Sensor Logger's HTTP pushes to a capture file, live.

`PhoneRecorder(out_path, ...).run()` listens (`tracker.link.phone_server.PushServer`: on
localhost unless `host` says otherwise, with a one-time token in the URL), and from the first
push that carries the token writes every pushed body raw, with its host receive time, to a
capture of sensor kind "phone" (docs/capture-format.md, "Phone"), then decodes it through the
same `PhoneStreamDecoder` replay uses, and hands the samples to the live view (`on_block`). It is
to a phone what `tracker.link.recorder.Recorder` is to a Bluetooth sensor, with the same
interface (`run`, `stop`, `progress`, `written`, `decoder`), so `tracker record` treats both alike:

- pushes stop for `watchdog_s` (or three push intervals, whichever is longer: the app's batch
  period is the person's choice) -> event `link_lost` in the capture, state "reconnecting";
  when pushes come back -> event `reconnected` with the gap (the samples' own times show it too,
  and the decoder counts the samples lost); after `give_up_s` without a push, `LinkLostError`
  (the file is kept, and `tracker record` still analyses and stores it);
- `stop()` (Ctrl-C) or `duration_s` (counted from the first push) -> stop listening, close the
  file, return the result;
- the disk fills -> `DiskFullError`; what was written stays readable; pushes get 507.

The server's threads never touch the capture or the decoder: each accepted body is handed to the
event loop (`run_coroutine_threadsafe`), which writes, decodes and answers in arrival order.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tracker.errors import LinkLostError, SensorError, TrackerError
from tracker.link.phone_server import DEFAULT_MAX_BODY_BYTES, DEFAULT_PORT, PushServer
from tracker.link.recorder import RecordProgress, RecordResult, _local_timezone_name
from tracker.paths import storage_error
from tracker.protocol.phone_push import body_parts
from tracker.protocol.phone_stream import PHONE_KIND, PhoneStreamDecoder

logger = logging.getLogger(__name__)

PHONE_ACCEL_RANGE_G = 16
PHONE_GYRO_RANGE_DPS = 2000
"""A phone does not say its ranges: these stand in (the widest common phone ranges) so the
capture header has the settings every capture states; nothing is scaled by them."""
ANSWER_TIMEOUT_S = 10.0
MESSAGES_BEFORE_TELLING = 3
"""Messages seen before saying that a sensor the analysis needs is missing from the pushes."""


class PhoneRecorder:
    """Record one phone's pushes to one capture file. See the module docstring."""

    def __init__(
        self,
        out_path: Path,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        platform: str | None = None,
        standardised: bool = False,
        token: str | None = None,
        duration_s: float | None = None,
        watchdog_s: float = 5.0,
        give_up_s: float = 120.0,
        first_push_timeout_s: float | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        flush_interval_s: float = 0.5,
        header_extra: dict[str, Any] | None = None,
        on_progress: Callable[[RecordProgress], None] | None = None,
        on_block: Callable[[Any], Any] | None = None,
        on_listening: Callable[[str], None] | None = None,
        keep_samples: bool = False,
        clock_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        if duration_s is not None and not duration_s > 0:
            raise ValueError("duration_s must be positive")
        self.out_path = Path(out_path)
        self.platform = platform
        self.standardised = standardised
        self.token = token or secrets.token_urlsafe(12)
        self.duration_s = duration_s
        self.watchdog_s = watchdog_s
        self.give_up_s = give_up_s
        self.first_push_timeout_s = first_push_timeout_s
        self.flush_interval_s = flush_interval_s
        self.header_extra = dict(header_extra or {})
        self.on_progress = on_progress
        self.on_block = on_block
        """Called with each decoded block as it arrives (the live view); must not raise."""
        self.on_listening = on_listening
        """Called once with the URL (token included) when the server listens."""
        self._clock_ns = clock_ns
        self._server = PushServer(self._on_body_threadsafe, host=host, port=port, token=self.token, max_body_bytes=max_body_bytes, clock_ns=clock_ns)
        self._settings = {"phone": {"app": "sensor-logger", "platform": platform, "standardised": standardised}}
        self._decoder = PhoneStreamDecoder(self._settings, keep_samples=keep_samples)
        self._writer: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._accepting = False
        self._fatal: BaseException | None = None
        self._stop_requested = False
        self._stopped_by = "duration"
        self._state = "searching"
        self._t0_mono: float | None = None
        self._last_push_mono: float | None = None
        self._push_interval_s: float | None = None
        self._silent_since: float | None = None
        self._rate_written = False
        self._told_missing = False
        self._bodies = 0
        self._gaps: list[dict[str, float]] = []

    # --- what the CLI needs ----------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._server.port

    @property
    def url(self) -> str:
        """The URL to type into the app (with the token)."""
        return self._server.url_for()

    @property
    def server_stats(self) -> Any:
        return self._server.stats

    @property
    def decoder(self) -> PhoneStreamDecoder:
        return self._decoder

    @property
    def written(self) -> bool:
        """Whether a capture file was created (even if the recording then failed)."""
        return self._writer is not None

    def stop(self) -> None:
        """Ask the recording to end cleanly (safe from a signal handler on the loop's thread)."""
        self._stop_requested = True
        self._stopped_by = "user"
        if self._wake is not None:
            self._wake.set()

    def progress(self) -> RecordProgress:
        elapsed = time.monotonic() - self._t0_mono if self._t0_mono is not None else 0.0
        st = self._decoder.stats
        return RecordProgress(
            state=self._state,
            elapsed_s=elapsed,
            samples=st.samples,
            rate_hz=st.samples / elapsed if elapsed > 0 else 0.0,
            lost_samples=st.lost_samples,
            battery_pct=None,
            reconnects=len(self._gaps),
            path=self.out_path if self._writer is not None else None,
        )

    # --- bodies: from the server's threads to the loop ----------------------------------------------
    def _on_body_threadsafe(self, body: bytes, t_ns: int) -> tuple[int, str]:
        loop = self._loop
        if loop is None or not self._accepting or loop.is_closed():
            return 503, "tracker is not recording"
        try:
            future = asyncio.run_coroutine_threadsafe(self._accept(body, t_ns), loop)
            return future.result(timeout=ANSWER_TIMEOUT_S)
        except (RuntimeError, concurrent.futures.TimeoutError, concurrent.futures.CancelledError):
            return 503, "tracker is not recording"

    async def _accept(self, body: bytes, t_ns: int) -> tuple[int, str]:
        """Write, decode, answer (on the loop: bodies are handled one at a time, in order)."""
        if not self._accepting or self._fatal is not None:
            return 503, "tracker is not recording"
        try:
            if self._writer is None:
                self._open_capture()
            for part in body_parts(body):
                self._writer.write_notification(t_ns, part, source="imu")
        except (TrackerError, OSError) as exc:
            error = exc if isinstance(exc, TrackerError) else storage_error(exc, self.out_path)
            self._fail(error)
            return 507, f"tracker cannot write: {error.one_line()}"
        except ValueError as exc:  # a body beyond what a capture keeps (the server's limit is lower)
            return 413, str(exc)
        self._note_push()
        block = self._decoder.feed_body(body, t_ns / 1e9)
        unused = self._decoder.last_error
        if unused is not None:
            if unused.reason == "other_device":
                return 409, "another phone is already pushing to this recording"
            self._server.limiter.warn(unused.reason, f"a push from the phone is not a Sensor Logger message ({unused}); kept in the capture, not used")
            return 400, f"not a Sensor Logger message: {unused}"
        self._missing_sensors()
        if not self._rate_written and self._decoder.sample_rate_hz > 0:
            self._rate_written = True
            self._update_header(settings={"sample_rate_hz": self._decoder.sample_rate_hz})
        if block is not None and self.on_block is not None:
            try:
                self.on_block(block)
            except Exception:  # noqa: BLE001  a live-view bug must not stop a recording
                logger.exception("live consumer failed")
        return 200, "ok"

    def _missing_sensors(self) -> None:
        """Say once when the pushes lack what tracker needs (the app's sensor switches)."""
        st = self._decoder.stats
        if self._told_missing or st.messages < MESSAGES_BEFORE_TELLING:
            return
        self._told_missing = True
        if st.acceleration is None:
            logger.warning("the phone pushes no acceleration: switch on Accelerometer and Gravity (Android: Total Acceleration) in Sensor Logger")
        elif not self._decoder.gyro_seen:
            logger.warning("the phone pushes no gyroscope readings: switch on Gyroscope in Sensor Logger (without it there is no live view, and the recording is accelerometer-only)")

    def _note_push(self) -> None:
        now = time.monotonic()
        self._bodies += 1
        if self._t0_mono is None:
            self._t0_mono = now
            self._state = "streaming"
        if self._last_push_mono is not None:
            step = now - self._last_push_mono
            self._push_interval_s = step if self._push_interval_s is None else 0.8 * self._push_interval_s + 0.2 * step
        if self._silent_since is not None:
            gap_s = now - self._silent_since
            start = self._silent_since - (self._t0_mono or now)
            self._gaps.append({"start_s": start, "duration_s": gap_s})
            self._event("reconnected", after="silent", gap_s=round(now - (self._last_push_mono or now), 4), attempts=0)
            self._silent_since = None
            self._state = "streaming"
        self._last_push_mono = now
        if self._wake is not None:
            self._wake.set()

    # --- the capture ---------------------------------------------------------------------------------
    def _open_capture(self) -> None:
        from tracker.capture.writer import CaptureHeader, CaptureWriter

        offset = datetime.now(UTC).astimezone().utcoffset()
        header = CaptureHeader(
            sensor={"name": "Sensor Logger", "address": None, "driver": PHONE_KIND},
            settings={
                "sample_rate_hz": 100.0,  # until measured (a header update follows)
                "accel_range_g": PHONE_ACCEL_RANGE_G,
                "gyro_range_dps": PHONE_GYRO_RANGE_DPS,
                **self._settings,
            },
            timezone=_local_timezone_name(),
            utc_offset_s=int(offset.total_seconds()) if offset is not None else None,
            extra={"recorder": {"watchdog_s": self.watchdog_s, "listen": self._server.host}, **self.header_extra},
        )
        self._writer = CaptureWriter(self.out_path, header, flush_interval_s=self.flush_interval_s)

    def _update_header(self, **fields: Any) -> None:
        try:
            self._writer.update_header(self._clock_ns(), **fields)
        except OSError as exc:
            self._fail(storage_error(exc, self.out_path))
        except TrackerError as exc:
            self._fail(exc)

    def _event(self, kind: str, **data: Any) -> None:
        if self._writer is None:
            return
        try:
            self._writer.write_event(self._clock_ns(), kind, **data)
        except OSError as exc:
            self._fail(storage_error(exc, self.out_path))
        except TrackerError as exc:
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        if self._fatal is None:
            self._fatal = exc
        if self._wake is not None:
            self._wake.set()

    def _report(self) -> None:
        if self.on_progress is not None:
            try:
                self.on_progress(self.progress())
            except Exception:  # noqa: BLE001  a display bug must not stop a recording
                logger.exception("progress callback failed")

    # --- the loop ------------------------------------------------------------------------------------
    def _silence_limit_s(self) -> float:
        return max(self.watchdog_s, 3.0 * (self._push_interval_s or 0.0))

    def _check(self, now: float, started: float) -> str | None:
        """Why the recording ends now, or None; marks the start of a silence."""
        if self._fatal is not None:
            return "fatal"
        if self._stop_requested:
            return "stop"
        if self.duration_s is not None and self._t0_mono is not None and now - self._t0_mono >= self.duration_s:
            return "duration"
        if self._last_push_mono is None:
            if self.first_push_timeout_s is not None and now - started >= self.first_push_timeout_s:
                raise SensorError(
                    f"no push from the phone arrived within {self.first_push_timeout_s:.0f} s",
                    hint=f"in Sensor Logger switch on HTTP Push with the URL {self.url}, then start recording",
                )
            return None
        silent = now - self._last_push_mono
        if self._silent_since is None and silent > self._silence_limit_s():
            self._silent_since = self._last_push_mono
            self._state = "reconnecting"
            self._event("link_lost", reason=f"no push for {silent:.1f} s")
            logger.warning("the phone stopped pushing (locked, or off the Wi-Fi?): waiting for it; the gap is marked")
        if self._silent_since is not None and silent > self.give_up_s:
            raise LinkLostError(
                f"the phone sent nothing for {self.give_up_s:.0f} s",
                hint="keep Sensor Logger recording and the phone on the same network, then record again; what was recorded is kept",
            )
        return None

    async def _progress_loop(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            self._report()

    async def run(self) -> RecordResult:
        """Record until the duration passes, `stop()` is called, or the phone stays silent too long."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        started = time.monotonic()
        error: BaseException | None = None
        reporter = asyncio.create_task(self._progress_loop())
        self._accepting = True
        self._server.start()
        try:
            if self.on_listening is not None:
                self.on_listening(self.url)
            while True:
                self._wake.clear()
                why = self._check(time.monotonic(), started)
                if why is not None:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), 0.1)
            if self._fatal is not None:
                raise self._fatal
        except BaseException as exc:
            error = exc
            self._stopped_by = "error"
        finally:
            self._state = "stopping"
            self._accepting = False
            await asyncio.to_thread(self._server.close)
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter
            if self._writer is not None:
                refused = self._server.stats.to_json()
                self._event("recording_stopped", reason=self._stopped_by if error is None else type(error).__name__, pushes=refused)
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
        if error is not None:
            raise error
        return self._result()

    def _result(self) -> RecordResult:
        progress = self.progress()
        return RecordResult(
            path=self.out_path if self._writer is not None else None,
            duration_s=progress.elapsed_s,
            samples=progress.samples,
            notifications=self._bodies,
            lost_samples=progress.lost_samples,
            reconnects=len(self._gaps),
            gaps=list(self._gaps),
            stopped_by=self._stopped_by,
            identity=None,
            settings=dict(self._settings),
            decode_stats=self._decoder.stats.to_json(),
        )
