"""`tracker` commands of the link layer: scan, pair, record, replay, emulate (registered on import).

Heavy imports (bleak, bumble, numpy, the emulator) happen inside the commands so `tracker --help`
stays fast. Every user-facing failure is a `TrackerError` (one line and an exit status, printed by
`tracker.cli.main`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from tracker.cli.app import app

_EMULATED = typer.Option("--emulated", help="Use emulated sensors on a virtual radio instead of real Bluetooth.")
_KINDS = ("tracker-imu", "polar-h10", "polar-verity")
"""Sensor kinds (tracker.link.driver.SENSOR_KINDS; repeated here so `--help` needs no imports)."""
_RATES_BY_KIND = {"tracker-imu": (25, 50, 100, 200, 400), "polar-h10": (25, 50, 100, 200), "polar-verity": (52,)}
_DEFAULT_RATE = {"tracker-imu": 100, "polar-h10": 100, "polar-verity": 52}
_RATES = tuple(sorted({r for rates in _RATES_BY_KIND.values() for r in rates}))


def _check_rate(rate: int | None, kind: str | None = None) -> int | None:
    """`--rate` as given (None: the sensor's usual rate), checked against what the kind offers."""
    if rate is None:
        return None
    allowed = _RATES_BY_KIND.get(kind or "", _RATES)
    if rate not in allowed:
        from tracker.errors import UsageError

        what = f"the {kind} sensor" if kind else "any sensor"
        raise UsageError(
            f"--rate {rate} is not supported by {what}", hint=f"use one of {', '.join(map(str, allowed))} Hz, or leave --rate out"
        )
    return rate


def _check_transport(spec: str) -> None:
    """A Bumble transport whose last field is a port must name one that exists: Python's sockets
    would take 70000 modulo 65536 and listen somewhere else than the hint says."""
    import re

    from tracker.errors import UsageError

    kind, _, rest = spec.partition(":")
    if kind not in ("tcp-server", "tcp-client", "udp", "ws-server", "ws-client") or not rest:
        return
    port = rest.rsplit(":", 1)[-1]
    if not re.fullmatch(r"\d{1,6}", port) or not 1 <= int(port) <= 65535:
        raise UsageError(
            f"--expose {spec}: {port!r} is not a port (1 to 65535)",
            hint=f"e.g. --expose {kind}:_:9000",
        )


def _stream_settings(rate: int | None, kind: str | None) -> Any:
    """StreamSettings for `--rate` (the kind's usual rate when not given)."""
    from tracker.link.driver import StreamSettings

    if rate is None:
        return StreamSettings(sample_rate_hz=_DEFAULT_RATE.get(kind or "", 100), rate_is_default=True)
    return StreamSettings(sample_rate_hz=rate)


def _sensor_kind(value: str | None) -> str | None:
    """The sensor kind a `--sensor` value names, or None when it names a sensor (name/address)."""
    if value is None:
        return None
    lowered = value.strip().lower()
    return lowered if lowered in _KINDS else None


def _emulated_kinds(kind: str | None, paired: Any = None) -> tuple[str, ...]:
    """Which emulated sensors to put on the virtual radio for pair/record."""
    if kind is not None:
        return (kind,)
    if paired is not None and paired.driver in _KINDS:
        return (paired.driver,)
    return ("tracker-imu",)


def _run(coro: Any) -> Any:
    import asyncio

    return asyncio.run(coro)


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)  # one message, one line


# --- scan ----------------------------------------------------------------------------------------
@app.command(
    "scan",
    help="List sensors in range: name, kind (tracker-imu, polar-h10, polar-verity), address, signal strength, battery when known.\n\nExample: tracker scan --emulated --json",
)
def scan_command(
    emulated: Annotated[bool, _EMULATED] = False,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, max=120.0, help="Seconds to listen.")] = 5.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON list of sensors on stdout.")] = False,
    sensor: Annotated[
        str | None, typer.Option("--sensor", metavar="KIND", help=f"Only sensors of this kind: {', '.join(_KINDS)}.")
    ] = None,
) -> None:
    import json

    from tracker.link.environment import emulated_environment, real_environment
    from tracker.link.registry import SensorRegistry
    from tracker.link.scan import scan_sensors

    kind = _kind_option(sensor)

    async def go() -> list[Any]:
        kinds = (kind,) if kind else _KINDS
        env_cm = emulated_environment(speed=1.0, kinds=kinds) if emulated else real_environment()
        async with env_cm as env:
            return await scan_sensors(env, timeout, registry=SensorRegistry(), kind=kind)

    found = _run(go())
    if as_json:
        typer.echo(json.dumps([s.to_json() for s in found]))
        return
    if not found:
        _stderr_console().print("No sensor found. Is it switched on and nearby? (try --timeout 15)")
        return
    from rich.console import Console
    from rich.table import Table

    from tracker.display import shown

    table = Table(title=None)
    for column in ("name", "kind", "address", "signal", "battery", "status"):
        table.add_column(column)
    for s in found:
        # names come from the radio: shown as sent (no markup, no terminal escapes); the hint
        # names the address when the name would not survive a shell
        name = s.name or ""
        safe = name.isprintable() and name.replace("-", "").isalnum()
        hint = name if safe else s.address
        status = "default" if s.default else ("paired" if s.paired else "not paired: tracker pair " + shown(hint))
        table.add_row(shown(s.name), s.driver, shown(s.address), f"{s.rssi} dBm", shown(s.battery), status)
    Console().print(table)

def _kind_option(value: str | None) -> str | None:
    """`--sensor KIND` for scan and pair: a sensor kind, or a usage error."""
    if value is None:
        return None
    kind = _sensor_kind(value)
    if kind is None:
        from tracker.errors import UsageError

        raise UsageError(f"--sensor {value!r} is not a sensor kind", hint=f"use one of {', '.join(_KINDS)}")
    return kind


# --- pair ----------------------------------------------------------------------------------------
class _ConsoleUI:
    def __init__(self, yes: bool, emulated: bool) -> None:
        self.console = _stderr_console()
        self.yes = yes
        self.emulated = emulated

    def say(self, text: str) -> None:
        from tracker.display import plain

        self.console.print(plain(text), markup=False)  # it may quote what the sensor sent

    def wait(self, text: str) -> None:
        from tracker.display import plain

        self.console.print(plain(text), markup=False)
        if self.emulated:
            self.console.print("  (the emulated person does this now)")
        elif not self.yes:
            typer.prompt("  press Enter", default="", show_default=False, prompt_suffix="", err=True)


@app.command(
    "pair",
    help=(
        "Bond with a sensor, check its signal, calibrate how it sits (stand still, then lie on the roller "
        "still), and store it as the default.\n\nExample: tracker pair TRK-C0DE --yes "
        "(a Polar sensor: tracker pair --emulated --sensor polar-verity --yes)"
    ),
)
def pair_command(
    target: Annotated[str | None, typer.Argument(metavar="[NAME|ADDRESS]", help="Which sensor (default: the first one heard).")] = None,
    emulated: Annotated[bool, _EMULATED] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Run the calibration without waiting for Enter.")] = False,
    sensor: Annotated[
        str | None, typer.Option("--sensor", metavar="KIND", help=f"Only a sensor of this kind: {', '.join(_KINDS)}.")
    ] = None,
    rate: Annotated[
        int | None, typer.Option("--rate", help="Sample rate for the signal check, Hz (default: the sensor's usual rate).")
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=0.5, max=120.0, help="Seconds to look for the sensor.")] = 10.0,
    speed: Annotated[float, typer.Option("--speed", hidden=True, min=0.1, max=100.0, help="Emulator time scale (tests).")] = 1.0,
) -> None:
    import contextlib

    import numpy as np

    from tracker.link.environment import emulated_environment, real_environment
    from tracker.link.pairing import pair_sensor

    kind = _kind_option(sensor)
    _check_rate(rate, kind)
    signal_s, stand_s, lie_s = 3.0, 3.0, 3.0
    ui = _ConsoleUI(yes, emulated)

    async def go() -> Any:
        if emulated:
            from tracker.emulator import calibration_pose_source

            # The emulated person stands through the signal check and the standing pose (half a
            # second more: a Verity Sense's first samples come once both its streams started),
            # then lies on the roller (sample time, so the poses line up whatever the load).
            source = calibration_pose_source(stand_s=signal_s + stand_s + 0.5, lie_s=60.0, seed=0)
            env_cm: contextlib.AbstractAsyncContextManager[Any] = emulated_environment(
                source=source, speed=speed, kinds=_emulated_kinds(kind)
            )
        else:
            env_cm = real_environment()
        async with env_cm as env:
            return await pair_sensor(
                env,
                target,
                ui=ui,
                settings=_stream_settings(rate, kind),
                signal_s=signal_s,
                stand_s=stand_s,
                lie_s=lie_s,
                scan_timeout_s=timeout,
                kind=kind,
            )

    from tracker.display import plain, shown

    report = _run(go())
    s = report.signal
    out = typer.echo
    out(f"Paired {plain(report.record.name)} ({plain(report.record.address)}) and stored it as the default sensor.")
    gyro_noise = "no gyroscope" if np.isnan(s.gyro_noise_rad_s) else f"{np.degrees(s.gyro_noise_rad_s):.2f} °/s"
    out(
        f"Signal: {s.actual_rate_hz:.1f} samples/s of {s.nominal_rate_hz:.0f} nominal, "
        f"loss {100 * s.loss_fraction:.2f} %, noise {1000 * s.acc_noise_m_s2:.1f} mm/s² and {gyro_noise}."
    )
    q = report.calibration.quality
    out(f"Calibration: standing and lying {q.get('pose_angle_deg', float('nan')):.0f}° apart; sensor-to-body rotation stored.")
    for warning in report.warnings:
        _stderr_console().print(f"warning: {shown(warning)}")


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


def store_in_history(capture_path: Path, analysis: Any = None, recording: Any = None) -> str:
    """Store the session of this capture in the history, exactly once; return a line for the user.

    `tracker record` and `tracker replay` pass their analysis and recording; without them the
    capture is loaded and analysed like `tracker import` would. The capture's checksum makes a
    second store of the same file a no-op. A capture that cannot be analysed (too short, never on
    the roller) stays where it is and is not stored; the line says why. When the history cannot be
    written (read-only or full data directory, damaged database) a `StorageError` says so and how
    to store the kept capture later.
    """
    import sqlite3

    from tracker import paths
    from tracker.errors import StorageError, TrackerError
    from tracker.history import SessionStore
    from tracker.history.ingest import FAILED, SKIPPED, import_file, store_analysis

    later = f"the capture is kept: store it later with: tracker import {capture_path}"
    try:
        with SessionStore() as store:
            if analysis is not None and recording is not None:
                session_id, created = store_analysis(store, analysis, recording, capture_path=capture_path)
            else:
                from tracker.settings import load_guidance

                outcome = import_file(store, capture_path, guidance=load_guidance())
                if outcome.status == FAILED:
                    return f"not stored in the history: {outcome.reason}"
                if outcome.status == SKIPPED:
                    return f"not stored in the history: {outcome.reason} (the capture is kept)"
                session_id, created = outcome.session_id, outcome.status != "already imported"
    except StorageError as exc:
        exc.hint = f"{exc.hint}; {later}" if exc.hint else later
        raise
    except TrackerError as exc:
        # the recording itself is not a session (e.g. never on the roller): nothing to store
        line = exc.one_line()
        return line if line.startswith("not stored") else f"not stored in the history: {line}"
    except (sqlite3.Error, OSError) as exc:
        # e.g. "attempt to write a readonly database": the place, not the session, is the problem
        raise StorageError(
            f"cannot store the session in the history ({exc})",
            hint=f"check that {paths.data_dir()} is writable and has free space; {later}",
        ) from exc
    if created:
        return f"stored as session {session_id} (see `tracker show {session_id}`)"
    return f"already in the history as session {session_id}"


_CONNECTION_OF_STATE = {
    "searching": "connecting", "connecting": "connecting", "streaming": "connected",
    "reconnecting": "reconnecting", "stopping": "stopped", "stopped": "stopped",
}  # fmt: skip
"""The live view's word for each recorder state: a recording that ends (duration, Ctrl-C) has
"stopped"; only a sensor lost for good is "lost" (set where the error is caught)."""


def _live_feed(
    rate_hz: float, calibration: Any, quiet: bool, *, connection: str = "connecting", has_gyro: bool = True
) -> Any:
    """The live coaching view fed block by block (record --live, replay --live). `has_gyro`
    False for a sensor without a gyroscope (Polar H10); a sensor of unknown kind that turns out
    to have none is noticed by the live analysis at its first block."""
    from rich.console import Console

    from tracker.live import LiveSession, LiveView
    from tracker.live.feed import LiveFeed
    from tracker.settings import load_guidance

    session = LiveSession(load_guidance(), float(rate_hz), calibration, has_gyro=has_gyro)
    feed = LiveFeed(session, LiveView(Console(), quiet=quiet))
    feed.session.set_link(connection=connection)
    feed.view.set_state(feed.session.state)  # the first frame: this session, this connection
    return feed


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
    emulated: Annotated[bool, _EMULATED] = False,
    duration: Annotated[float | None, typer.Option("--duration", min=0.1, help="Stop after this many seconds (default: until Ctrl-C).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Capture file to write (default: captures/<UTC start>.capture in the data directory).")] = None,
    sensor: Annotated[
        str | None,
        typer.Option(
            "--sensor",
            help=f"A sensor kind ({', '.join(_KINDS)}), name or address (default: the paired default sensor).",
        ),
    ] = None,
    rate: Annotated[
        int | None,
        typer.Option("--rate", help="Sample rate, Hz (default: the sensor's usual rate: 100, or 52 for a Verity Sense)."),
    ] = None,
    speed: Annotated[float, typer.Option("--speed", hidden=True, help="Emulator time scale (tests).")] = 1.0,
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
    kind = _sensor_kind(sensor)
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
    known_kind = kind or (paired.driver if paired is not None and paired.driver in _KINDS else None)
    _check_rate(rate, known_kind)
    path = out if out is not None else _default_capture_path()
    release = None if out is not None else functools.partial(_release_capture_name, path)
    try:
        with _Interrupts(path, on_abandon=release) as interrupts:
            _record_and_store(
                path, interrupts, registry=registry, emulated=emulated, target=target, calibration=calibration,
                duration=duration, rate=rate, speed=speed, live=live, quiet=quiet, kind=kind,
                known_kind=known_kind, emulated_kinds=_emulated_kinds(kind, paired),
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
) -> None:
    import asyncio
    import contextlib
    import signal

    from tracker.errors import SensorError
    from tracker.link.environment import SEND_LOG_LIMIT, emulated_environment, real_environment
    from tracker.link.recorder import Recorder

    console = _stderr_console()

    async def go() -> tuple[Any, Any, Any]:
        from rich.live import Live
        from rich.text import Text

        # a recording may last an hour: the emulator keeps a bounded log of what it sent
        env_cm = (
            emulated_environment(speed=speed, send_log_limit=SEND_LOG_LIMIT, kinds=emulated_kinds)
            if emulated
            else real_environment()
        )
        settings = _stream_settings(rate, known_kind)
        async with env_cm as env:
            feed = (
                _live_feed(settings.sample_rate_hz, calibration, quiet, has_gyro=known_kind != "polar-h10")
                if live
                else None
            )
            display = feed.view if feed is not None else Live(
                Text("searching for the sensor…"), console=console, transient=False, refresh_per_second=4
            )

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

            recorder = Recorder(
                env,
                path,
                target=target,
                kind=kind,
                settings=settings,
                duration_s=duration,
                calibration=calibration,
                on_progress=show,
                on_block=feed,
            )
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
                # The sensor was lost for good (out of range, silent, battery empty): what was
                # recorded is still analysed and stored below, then this error ends the command.
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
            return result, recorder, failure

    result, recorder, failure = _run(go())
    after_recording(path, interrupts, result, recorder, failure, registry=registry, nominal_rate_hz=rate or _DEFAULT_RATE.get(known_kind or "", 100))


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
    import contextlib
    import sys

    from tracker.errors import SensorError

    console = _stderr_console()
    try:
        progress = recorder.progress()
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
        lost_samples = result.lost_samples if result is not None else progress.lost_samples
        reconnects = result.reconnects if result is not None else progress.reconnects
        length = (
            f"{result.duration_s:.1f} s"
            if result is not None
            else f"{samples / nominal_rate_hz:.1f} s of data"
        )
        lost = f", {lost_samples} lost" if lost_samples else ""
        again = f", {reconnects} reconnect(s)" if reconnects else ""
        typer.echo(f"Saved {samples} samples ({length}{lost}{again}) to {path}")
        if failure is not None:
            console.print("the recording broke off; analysing and storing what was recorded")
        analysis, recording, why_not = _analyse_for_summary(path)
        if analysis is not None:
            from tracker.cli.summary import print_session_summary

            print_session_summary(analysis, "this session")
            interrupts.phase = "storing"
            line = store_in_history(path, analysis, recording)
            typer.echo(line)
        else:
            kept = "" if str(path) in (why_not or "") else f"; the capture is kept in {path}"
            typer.echo(f"not analysed: {why_not}{kept}")
    except KeyboardInterrupt:
        # only when the handler could not be installed (not the main thread): same words
        print(f"tracker: stopped before the session was stored; store it with: tracker import {path}", file=sys.stderr)
        raise typer.Exit(130) from None
    finally:
        interrupts.phase = "done"
    if failure is not None:
        raise _failure_line(failure, progress.battery_pct)


def _analyse_for_summary(path: Path) -> tuple[Any, Any, str | None]:
    """The just-recorded session analysed for its summary: (analysis, recording, None), or
    (None, None, why not) when it cannot be (too short, never on the roller); the capture is kept
    either way."""
    from tracker.analysis import analyze
    from tracker.analysis.io import load_recording
    from tracker.errors import TrackerError
    from tracker.settings import load_guidance

    try:
        recording = load_recording(path)
        return analyze(recording, guidance=load_guidance()), recording, None
    except TrackerError as exc:
        return None, None, exc.one_line()
    except ValueError as exc:
        return None, None, f"the recording cannot be analysed ({exc})"
    except MemoryError:
        return None, None, "not enough memory to analyse this recording"


# --- replay --------------------------------------------------------------------------------------
@app.command(
    "replay",
    help=(
        "Decode a capture through the same path as live data and analyse it; with --live, watch it in "
        "the live coaching view at its recorded pace. The history is left alone unless you add "
        "--store (once per capture, like `tracker import`).\n\n"
        "Example: tracker replay fixtures/hips_down.capture --live"
    ),
)
def replay_command(
    capture: Annotated[Path, typer.Argument(help="A capture file written by `tracker record`.")],
    realtime: Annotated[bool, typer.Option("--realtime", help="Feed notifications at their recorded pace, as live.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
    live: Annotated[bool, typer.Option("--live", help="Show the live coaching view (implies --realtime).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="With --live: no bell or sound on warnings.")] = False,
    speed: Annotated[float, typer.Option("--speed", min=0.1, max=100.0, help="With --realtime: play this many times faster.")] = 1.0,
    store: Annotated[bool, typer.Option("--store", help="Also store the session in your history (once; as `tracker import` would).")] = False,
) -> None:
    import contextlib
    import json

    from tracker.display import plain, shown
    from tracker.errors import UsageError
    from tracker.link.replay import replay_capture

    if live and as_json:
        raise UsageError("--live and --json do not go together", hint="drop one of them")
    console = _stderr_console()
    feed: Any = None

    def recorded_battery(pct: int) -> None:
        if feed is not None:
            feed.link(battery_pct=pct)

    def live_consumer(header: dict[str, Any]) -> Any:
        nonlocal feed
        from tracker.capture.kinds import sensor_kind
        from tracker.imu import MountingCalibration

        calibration = None
        with contextlib.suppress(KeyError, TypeError, ValueError):
            calibration = MountingCalibration.from_json(header["calibration"])
        rate = float((header.get("settings") or {}).get("sample_rate_hz", 100))
        feed = _live_feed(rate, calibration, quiet, connection="replay", has_gyro=sensor_kind(header) != "polar-h10")
        feed.view.__enter__()
        return feed

    try:
        report = _run(
            replay_capture(
                capture,
                realtime=realtime or live,
                speed=speed,
                on_note=lambda text: console.print(f"note: {shown(text)}"),
                consumer_for=live_consumer if live else None,
                on_battery=recorded_battery if live else None,
            )
        )
    finally:
        if feed is not None:
            feed.view.__exit__(None, None, None)
    # What was decoded and analysed is shown first: if the history then cannot be written, the
    # person has the summary and a line saying how to store the capture later (exit 1).
    if as_json:
        typer.echo(json.dumps(report.to_json(), default=str))
    else:
        for line in report.summary_lines():
            if report.analysis is None and line == report.analysis_note:
                line = _not_analysed(line)
            typer.echo(plain(line))  # it names the sensor as the file says
        if report.analysis is not None:
            from tracker.cli.summary import print_session_summary

            print_session_summary(report.analysis, "analysis")
    if report.analysis is None:
        return  # a cut or too-short capture still replays: status 0, nothing to store
    if store:
        stored = store_in_history(capture, report.analysis, report.recording)
    else:
        stored = "not stored in the history (replay leaves it alone; add --store to keep this session)"
    if as_json:
        console.print(stored, markup=False)
    else:
        typer.echo(stored)


def _not_analysed(note: str) -> str:
    """replay's "analysis: <why>" as a line that cannot be mistaken for a result."""
    why = note.split(":", 1)[1].strip() if note.startswith("analysis:") else note
    return f"not analysed (so not stored in the history): {why}"


# --- emulate -------------------------------------------------------------------------------------
@app.command(
    "emulate",
    help=(
        "Run the emulated sensor on its own until Ctrl-C, reachable through a Bumble transport "
        "(e.g. tcp-server:_:9000 for bumble-scan, usb:0 with a dongle).\n\nExample: tracker emulate --expose tcp-server:_:9000"
    ),
)
def emulate_command(
    expose: Annotated[str | None, typer.Option("--expose", metavar="TRANSPORT", help="Bumble HCI transport to expose a controller on.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the simulated session and the sensor's randomness.")] = 0,
    rate: Annotated[int, typer.Option("--rate", help="Power-on sample rate, Hz (a host can change it).")] = 100,
    sensor: Annotated[
        str | None, typer.Option("--sensor", metavar="KIND", help=f"Which sensor to emulate: {', '.join(_KINDS)} (default tracker-imu).")
    ] = None,
) -> None:
    kind = _kind_option(sensor) or "tracker-imu"
    _check_rate(rate, "tracker-imu")
    if expose is not None:
        _check_transport(expose)
    from tracker.link.emulate import run_emulator

    console = _stderr_console()
    announced = False

    def say(text: str) -> None:
        nonlocal announced
        if not announced and text.startswith("Emulated sensor stopped"):
            return  # it never started (e.g. a bad --expose): "stopped" would mislead
        announced = True
        console.print(text, markup=False)

    _run(run_emulator(expose=expose, seed=seed, rate_hz=rate, say=say, kind=kind))
