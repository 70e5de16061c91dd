"""`tracker record`: stream a sensor to a capture file, then analyse and store the session
(registered on import)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from tracker.cli.app import app
from tracker.cli.sensor_options import (
    DEFAULT_RATE,
    EMULATED,
    KINDS,
    check_rate,
    emulated_kinds,
    run,
    sensor_kind,
    stderr_console,
    stream_settings,
)
from tracker.cli.session_output import analyse_for_summary, live_feed, store_in_history


# --- record --------------------------------------------------------------------------------------
def _default_capture_path(now: datetime | None = None) -> Path:
    """captures/<UTC start>.capture in the data directory, with -2, -3… when that name is taken.

    The capture file is only created once the sensor answers, so the name is reserved at once
    with an empty marker (`.NAME.reserved`, created exclusively): two recordings started in the
    same second get different names. `_release_capture_name` removes the marker."""
    import os
    from datetime import UTC

    from tracker import paths

    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    directory = paths.captures_dir()
    n = 1
    while True:
        path = directory / (f"{stamp}.capture" if n == 1 else f"{stamp}-{n}.capture")
        if not path.exists():
            try:
                os.close(os.open(_reservation(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                return path
            except FileExistsError:
                pass  # another recording started this second holds this name
            except OSError as exc:
                paths.raise_storage_error(exc, path)
        n += 1


def _reservation(path: Path) -> Path:
    return path.with_name(f".{path.name}.reserved")


def _release_capture_name(path: Path) -> None:
    import contextlib

    with contextlib.suppress(OSError):
        _reservation(path).unlink()


def _check_out_path(path: Path) -> None:
    from tracker.errors import StorageError

    if path.is_dir():
        raise StorageError(f"{path} is a folder", hint=f"give --out a file name, e.g. --out {path / 'session.capture'}")
    if path.exists():
        raise StorageError(f"{path} already exists", hint="choose another --out file; captures are never overwritten")
    if not path.parent.is_dir():
        raise StorageError(f"the folder {path.parent} does not exist", hint="create it first or choose another --out")


_CONNECTION_OF_STATE = {
    "searching": "connecting", "connecting": "connecting", "streaming": "connected",
    "reconnecting": "reconnecting", "stopping": "stopped", "stopped": "stopped",
}  # fmt: skip
"""The live view's word for each recorder state: a recording that ends (duration, Ctrl-C) has
"stopped"; only a sensor lost for good is "lost" (set where the error is caught)."""


class _Interrupts:
    """What Ctrl-C does during `tracker record`, phase by phase.

    recording: ends the recording cleanly (`Recorder.stop`), then the session is analysed and stored;
    analysing: the capture is complete on disk and nothing is being written: the command ends at
        once (exit 130) with a line saying how to store the capture later. It exits hard because
        a KeyboardInterrupt inside the analysis can land in a half-done import and turn into an
        unrelated traceback;
    storing, done: ignored: the write is short, and breaking it would gain nothing.
    Installed with `signal.signal` for the whole command (not the event loop's handler), so no
    Ctrl-C falls between two handlers and kills the process without a word.
    """

    def __init__(self, path: Path, on_abandon: Any = None) -> None:
        self.path = path
        self.on_abandon = on_abandon
        self.phase = "recording"
        self.loop: Any = None
        self.stop_recording: Any = None
        self._previous: Any = None

    def __enter__(self) -> _Interrupts:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _on_sigint(self, _signum: int, _frame: Any) -> None:
        if self.phase == "recording":
            loop, stop = self.loop, self.stop_recording
            if loop is not None and stop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(stop)
                return
            raise KeyboardInterrupt
        if self.phase == "analysing":
            self.abandon()

    def abandon(self) -> None:
        import contextlib
        import os
        import sys

        with contextlib.suppress(Exception):
            sys.stdout.flush()
        with contextlib.suppress(Exception):
            after_echo = "\n" if sys.stderr.isatty() else ""  # end the terminal's "^C" line
            sys.stderr.write(
                f"{after_echo}tracker: stopped before the session was stored; store it with: tracker import {self.path}\n"
            )
            sys.stderr.flush()
        if self.on_abandon is not None:
            with contextlib.suppress(Exception):
                self.on_abandon()
        os._exit(130)


LOW_BATTERY_PCT = 5
"""A sensor lost with its battery at or below this level has most likely run out (a real sensor
may switch off before it reports 0 %)."""


def _failure_line(failure: Any, battery_pct: int | None) -> Any:
    """The error to end with after a recording broke off: an empty battery says so, rather than
    "bring the sensor closer"."""
    from tracker.errors import LinkLostError, SensorError, SensorSilentError

    if battery_pct is None or battery_pct > LOW_BATTERY_PCT or not isinstance(failure, LinkLostError | SensorSilentError):
        return failure
    what = (
        "the sensor's battery is empty: it switched itself off during the recording"
        if battery_pct == 0
        else f"the sensor was lost with its battery at {battery_pct} %: it has most likely run out"
    )
    return SensorError(what, address=getattr(failure, "address", None), hint="charge it, then record again")


@app.command(
    "record",
    help=(
        "Stream the sensor to a capture file with a live progress line (or, with --live, a full-screen "
        "coaching view: pace gauge, hold timer, warnings); reconnects by itself when the link drops; "
        "Ctrl-C ends cleanly. The session is then analysed and stored, also when the sensor is lost "
        "for good partway (the exit status is then 1).\n\n"
        "Example: tracker record --emulated --live --duration 300 "
        "(a Polar Verity Sense: tracker record --emulated --sensor polar-verity --duration 60; "
        "a phone with Sensor Logger on your Wi-Fi: tracker record --phone --listen 0.0.0.0 --live)"
    ),
)
def record_command(
    emulated: Annotated[bool, EMULATED] = False,
    duration: Annotated[float | None, typer.Option("--duration", min=0.1, help="Stop after this many seconds (default: until Ctrl-C).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Capture file to write (default: captures/<UTC start>.capture in the data directory).")] = None,
    sensor: Annotated[
        str | None,
        typer.Option(
            "--sensor",
            help=f"A sensor kind ({', '.join(KINDS)}), name or address (default: the paired default sensor).",
        ),
    ] = None,
    rate: Annotated[
        int | None,
        typer.Option("--rate", help="Sample rate, Hz (default: the sensor's usual rate: 100, or 52 for a Verity Sense)."),
    ] = None,
    speed: Annotated[float, typer.Option("--speed", hidden=True, help="Emulator time scale (tests).")] = 1.0,
    max_samples: Annotated[
        int | None,
        typer.Option(
            "--max-samples", hidden=True, min=1,
            help="Stop once this many samples have arrived (tests: an emulator faster than real time records a known length of session whatever the machine's load).",
        ),
    ] = None,
    live: Annotated[bool, typer.Option("--live", help="Full-screen live coaching view while recording.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="With --live: no bell or sound on warnings.")] = False,
    phone: Annotated[bool, typer.Option("--phone", help="Receive a phone's readings from Sensor Logger's HTTP Push instead of a Bluetooth sensor (prints the URL to type into the app).")] = False,
    port: Annotated[int | None, typer.Option("--port", min=0, max=65535, help="With --phone: the port to listen on (default 8765).")] = None,
    listen: Annotated[str | None, typer.Option("--listen", metavar="ADDRESS", help="With --phone: listen on this address, e.g. 0.0.0.0 for your Wi-Fi (default: this computer only).")] = None,
    phone_os: Annotated[str | None, typer.Option("--phone-os", metavar="OS", help="With --phone: android, ios, or ios-standardised (an iPhone with Standardise Units & Frames on).")] = None,
) -> None:
    import functools

    from tracker.link.registry import SensorRegistry
    from tracker.settings import load_guidance

    if phone or port is not None or listen is not None or phone_os is not None:
        from tracker.cli.phone_command import record_phone

        record_phone(
            phone=phone, port=port, listen=listen, phone_os=phone_os, emulated=emulated, duration=duration,
            out=out, live=live, quiet=quiet, speed=speed, sensor=sensor, rate=rate,
        )  # fmt: skip
        return
    kind = sensor_kind(sensor)
    load_guidance()  # a setting analysis cannot use is reported now, not after the recording
    if out is not None:
        _check_out_path(out)
    registry = SensorRegistry()
    # The sensor named, else the default one (of the kind named) for this radio: with --emulated,
    # the emulated sensor `pair --emulated` calibrated (its address is fixed), so its calibration
    # is used.
    if sensor and kind is None:
        paired = registry.find(sensor)
    else:
        paired = registry.default_for(emulated=emulated, kind=kind)
    target = (sensor if kind is None else None) or (paired.address if paired is not None else None)
    calibration = paired.calibration if paired is not None else None
    known_kind = kind or (paired.driver if paired is not None and paired.driver in KINDS else None)
    check_rate(rate, known_kind)
    path = out if out is not None else _default_capture_path()
    release = None if out is not None else functools.partial(_release_capture_name, path)
    try:
        with _Interrupts(path, on_abandon=release) as interrupts:
            _record_and_store(
                path, interrupts, registry=registry, emulated=emulated, target=target, calibration=calibration,
                duration=duration, rate=rate, speed=speed, live=live, quiet=quiet, kind=kind, max_samples=max_samples,
                known_kind=known_kind, emulated_kinds=emulated_kinds(kind, paired),
            )  # fmt: skip
    finally:
        if release is not None:
            release()


def _record_and_store(
    path: Path,
    interrupts: _Interrupts,
    *,
    registry: Any,
    emulated: bool,
    target: str | None,
    calibration: Any,
    duration: float | None,
    rate: int | None,
    speed: float,
    live: bool,
    quiet: bool,
    kind: str | None = None,
    known_kind: str | None = None,
    emulated_kinds: tuple[str, ...] = ("tracker-imu",),
    max_samples: int | None = None,
) -> None:

    from tracker.link.environment import SEND_LOG_LIMIT, emulated_environment, real_environment
    from tracker.link.recorder import Recorder

    console = stderr_console()

    async def go() -> tuple[Any, Any, Any]:
        from rich.live import Live
        from rich.text import Text

        # a recording may last an hour: the emulator keeps a bounded log of what it sent
        env_cm = (
            emulated_environment(speed=speed, send_log_limit=SEND_LOG_LIMIT, kinds=emulated_kinds)
            if emulated
            else real_environment()
        )
        settings = stream_settings(rate, known_kind)
        async with env_cm as env:
            feed = (
                live_feed(settings.sample_rate_hz, calibration, quiet, has_gyro=known_kind != "polar-h10")
                if live
                else None
            )
            display = feed.view if feed is not None else Live(
                Text("searching for the sensor…"), console=console, transient=False, refresh_per_second=4
            )
            show = _progress_shown_on(feed, display)
            recorder = Recorder(
                env,
                path,
                target=target,
                kind=kind,
                settings=settings,
                duration_s=duration,
                max_samples=max_samples,
                calibration=calibration,
                on_progress=show,
                on_block=feed,
            )
            result, failure = await run_until_done(recorder, display, feed, console, path, interrupts)
            return result, recorder, failure

    result, recorder, failure = run(go())
    nominal_rate_hz = rate or DEFAULT_RATE.get(known_kind or "", 100)
    after_recording(path, interrupts, result, recorder, failure, registry=registry, nominal_rate_hz=nominal_rate_hz)


def after_recording(
    path: Path,
    interrupts: _Interrupts,
    result: Any,
    recorder: Any,
    failure: Any,
    *,
    registry: Any = None,
    nominal_rate_hz: float = 100.0,
) -> None:
    """After `record` (a sensor's or a phone's): say what was saved, analyse, store, and end
    with the error that broke the recording off, if one did."""
    import sys

    progress = recorder.progress()
    try:
        _report_and_store(path, interrupts, result, progress, failure, registry=registry, nominal_rate_hz=nominal_rate_hz)
    except KeyboardInterrupt:
        # only when the handler could not be installed (not the main thread): same words
        print(f"tracker: stopped before the session was stored; store it with: tracker import {path}", file=sys.stderr)
        raise typer.Exit(130) from None
    finally:
        interrupts.phase = "done"
    if failure is not None:
        raise _failure_line(failure, progress.battery_pct)


async def run_until_done(
    recorder: Any, display: Any, feed: Any, console: Any, path: Path, interrupts: Any
) -> tuple[Any, Exception | None]:
    """Run a recorder (Bluetooth or phone) under its display until it ends: its result, and the
    SensorError that ended it once something was recorded (what was recorded is analysed and
    stored, then that error ends the command). SIGTERM stops it as Ctrl-C does."""
    import asyncio
    import contextlib
    import signal

    from tracker.errors import SensorError

    loop = asyncio.get_running_loop()
    interrupts.loop, interrupts.stop_recording = loop, recorder.stop
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGTERM, recorder.stop)
    result = failure = None
    try:
        with display:
            try:
                result = await recorder.run()
            except SensorError:
                if feed is not None:
                    feed.link("lost")  # the last frame says so, not "stopped"
                raise
    except SensorError as exc:
        # The sensor was lost for good (out of range, silent, battery empty)
        if not recorder.written:
            raise
        failure = exc
    except BaseException:
        if recorder.written:
            console.print(f"what was recorded is kept in {path}", markup=False)
        raise
    finally:
        # from here a capture is complete on disk (or there is none): see _Interrupts
        interrupts.phase = "analysing" if recorder.written else "done"
        with contextlib.suppress(Exception):
            loop.remove_signal_handler(signal.SIGTERM)
        if feed is None and not console.is_terminal:
            console.line()  # rich leaves the last progress line open when not on a terminal
    return result, failure


def _progress_shown_on(feed: Any, display: Any) -> Any:
    """The recorder's progress callback: the live view's link line, or one progress line."""
    from rich.text import Text

    def show(p: Any) -> None:
        if feed is not None:
            feed.link(_CONNECTION_OF_STATE.get(p.state, "connecting"), p.battery_pct, p.lost_samples)
            return
        battery = f"{p.battery_pct}%" if p.battery_pct is not None else "unknown"
        display.update(
            Text(
                f"{p.state:<12} {p.elapsed_s:7.1f} s  {p.samples:>8} samples  {p.rate_hz:6.1f}/s  "
                f"loss {p.loss_pct:4.1f} %  battery {battery}"
                + (f"  reconnects {p.reconnects}" if p.reconnects else "")
            )
        )

    return show


def _report_and_store(
    path: Path,
    interrupts: _Interrupts,
    result: Any,
    progress: Any,
    failure: Any,
    *,
    registry: Any,
    nominal_rate_hz: float,
) -> None:
    """After the recording: say what was saved, note the battery, analyse, summarise, store."""
    import contextlib

    from tracker.errors import SensorError

    samples = result.samples if result is not None else progress.samples
    if samples == 0:
        if failure is not None:
            raise failure
        raise SensorError(
            "the sensor connected but no samples were recorded",
            hint="check the sensor's battery, keep it close, and record again",
        )
    if result is not None and result.identity is not None:
        with contextlib.suppress(Exception):
            if progress.battery_pct is not None and registry is not None and registry.get(result.identity.address) is not None:
                registry.note_battery(result.identity.address, progress.battery_pct)
                registry.save()
    typer.echo(f"Saved {samples} samples ({_saved_length(result, progress, samples, nominal_rate_hz)}) to {path}")
    if failure is not None:
        stderr_console().print("the recording broke off; analysing and storing what was recorded")
    analysis, recording, why_not = analyse_for_summary(path)
    if analysis is None:
        kept = "" if str(path) in (why_not or "") else f"; the capture is kept in {path}"
        typer.echo(f"not analysed: {why_not}{kept}")
        return
    from tracker.cli.summary import print_session_summary

    print_session_summary(analysis, "this session")
    interrupts.phase = "storing"
    typer.echo(store_in_history(path, analysis, recording))


def _saved_length(result: Any, progress: Any, samples: int, nominal_rate_hz: float) -> str:
    """"155.0 s, 3 lost, 1 reconnect(s)": how long the capture is and what the link cost."""
    lost_samples = result.lost_samples if result is not None else progress.lost_samples
    reconnects = result.reconnects if result is not None else progress.reconnects
    length = (
        f"{result.duration_s:.1f} s"
        if result is not None
        else f"{samples / nominal_rate_hz:.1f} s of data"
    )
    lost = f", {lost_samples} lost" if lost_samples else ""
    again = f", {reconnects} reconnect(s)" if reconnects else ""
    return f"{length}{lost}{again}"
