"""`tracker record --phone`: a phone running Sensor Logger, pushing its readings over HTTP.

The options are declared on `tracker record` (tracker/cli/record_command.py); this module does the
rest: checks them, listens (`tracker.link.phone.PhoneRecorder`), tells the person the URL to type
into the app, shows the progress line or the live view, then hands over to the same
`after_recording` as a Bluetooth sensor (what was saved, analysis, storing, the exit status).
With `--emulated`, an emulated phone (`tracker.emulator.phone`) pushes a simulated session.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

PHONE_OS = {"android": ("android", False), "ios": ("ios", False), "ios-standardised": ("ios", True)}
"""`--phone-os` -> (platform, "Standardise Units & Frames" on)."""
EMULATED_SESSION_S = 300.0


def _check(phone: bool, phone_os: str | None, sensor: str | None, rate: int | None) -> tuple[str | None, bool]:
    from tracker.errors import UsageError

    if not phone:
        raise UsageError("--port, --listen and --phone-os are for a phone", hint="add --phone (tracker record --phone --listen 0.0.0.0)")
    if sensor is not None or rate is not None:
        raise UsageError("--sensor and --rate are for a Bluetooth sensor", hint="a phone's rate is set in Sensor Logger; drop them")
    if phone_os is None:
        return None, False
    try:
        return PHONE_OS[phone_os.strip().lower()]
    except KeyError:
        raise UsageError(f"--phone-os {phone_os!r} is not one of {', '.join(PHONE_OS)}", hint="ios-standardised is an iPhone with Standardise Units & Frames on") from None


def record_phone(
    *,
    phone: bool,
    port: int | None,
    listen: str | None,
    phone_os: str | None,
    emulated: bool,
    duration: float | None,
    out: Path | None,
    live: bool,
    quiet: bool,
    speed: float = 1.0,
    sensor: str | None = None,
    rate: int | None = None,
) -> None:
    import functools

    from tracker.cli.record_command import (
        _check_out_path,
        _default_capture_path,
        _Interrupts,
        _release_capture_name,
        after_recording,
    )
    from tracker.link.phone_server import DEFAULT_PORT
    from tracker.settings import load_guidance

    platform, standardised = _check(phone, phone_os, sensor, rate)
    load_guidance()  # a setting analysis cannot use is reported now, not after the recording
    if out is not None:
        _check_out_path(out)
    path = out if out is not None else _default_capture_path()
    release = None if out is not None else functools.partial(_release_capture_name, path)
    try:
        with _Interrupts(path, on_abandon=release) as interrupts:
            result, recorder, failure = _record(
                path, interrupts, host=listen or "127.0.0.1", port=DEFAULT_PORT if port is None else port,
                platform=platform, standardised=standardised, duration=duration, live=live, quiet=quiet,
                emulated=emulated, speed=speed,
            )  # fmt: skip
            if not recorder.written and failure is None:
                from tracker.errors import SensorError

                raise SensorError(
                    "no push from the phone arrived",
                    hint="check the Push URL in Sensor Logger, that HTTP Push is on and, for a phone on your Wi-Fi, --listen 0.0.0.0; then record again",
                )
            after_recording(path, interrupts, result, recorder, failure, nominal_rate_hz=recorder.decoder.sample_rate_hz or 100.0)
    finally:
        if release is not None:
            release()


def _say_where(console: Any, url: str, host: str, emulated: bool) -> None:
    from tracker.link.phone_server import is_local

    console.print(f"In Sensor Logger, tap the gear icon on the Logger page and turn on HTTP Push with the Push URL: {url}", markup=False, soft_wrap=True)
    console.print("Switch on Accelerometer, Gravity and Gyroscope (Android: also Total Acceleration), then start recording in the app.", markup=False)
    if emulated:
        console.print("(an emulated phone pushes a simulated session now)", markup=False)
    elif is_local(host):
        console.print("note: listening on this computer only; for a phone on your Wi-Fi add --listen 0.0.0.0", markup=False)
    else:
        console.print(
            "note: listening on your network: anyone on it who has this URL can push readings, and they travel unencrypted; the token changes every recording",
            markup=False,
        )


class _PhoneLive:
    """The live view for a phone: the analysis starts with the first samples, at the rate the
    decoder measured from them (a phone's rate is the app's choice)."""

    def __init__(self, quiet: bool, decoder: Any) -> None:
        from tracker.cli.session_output import live_feed

        self.feed = live_feed(100.0, None, quiet)
        self.view = self.feed.view
        self.decoder = decoder
        self.started = False

    def __call__(self, block: Any) -> Any:
        if not self.started:
            from tracker.live.streaming import LiveSession
            from tracker.settings import load_guidance

            self.feed.session = LiveSession(load_guidance(), self.decoder.sample_rate_hz, None)
            self.feed.session.set_link(connection="connected")
            self.started = True
        return self.feed(block)

    def link(self, *args: Any, **kwargs: Any) -> None:
        self.feed.link(*args, **kwargs)


def _record(
    path: Path,
    interrupts: Any,
    *,
    host: str,
    port: int,
    platform: str | None,
    standardised: bool,
    duration: float | None,
    live: bool,
    quiet: bool,
    emulated: bool,
    speed: float,
) -> tuple[Any, Any, Any]:
    import asyncio

    from rich.live import Live
    from rich.text import Text

    from tracker.cli.record_command import _CONNECTION_OF_STATE, run_until_done
    from tracker.cli.sensor_options import stderr_console as _stderr_console
    from tracker.link.phone import PhoneRecorder

    console = _stderr_console()
    phones: list[tuple[threading.Thread, Any]] = []

    async def go() -> tuple[Any, Any, Any]:
        loop = asyncio.get_running_loop()
        recorder = PhoneRecorder(
            path, host=host, port=port, platform=platform, standardised=standardised, duration_s=duration,
            first_push_timeout_s=30.0 if emulated else None, header_extra={"emulated": emulated},
        )  # fmt: skip
        feed = _PhoneLive(quiet, recorder.decoder) if live else None
        display = feed.view if feed is not None else Live(Text("waiting for the phone's first push…"), console=console, transient=False, refresh_per_second=4)

        def show(p: Any) -> None:
            if feed is not None:
                feed.link(_CONNECTION_OF_STATE.get(p.state, "connecting"), None, p.lost_samples)
                return
            state = "waiting" if p.state == "searching" else ("silent" if p.state == "reconnecting" else p.state)
            display.update(
                Text(
                    f"{state:<12} {p.elapsed_s:7.1f} s  {p.samples:>8} samples  {p.rate_hz:6.1f}/s  loss {p.loss_pct:4.1f} %"
                    + (f"  gaps {p.reconnects}" if p.reconnects else "")
                )
            )

        def listening(url: str) -> None:
            _say_where(console, url, host, emulated)
            if emulated:
                phones.append(_start_emulated_phone(url, duration, speed, lambda: _call_soon(loop, recorder.stop)))

        recorder.on_progress = show
        recorder.on_block = feed
        recorder.on_listening = listening
        result, failure = await run_until_done(recorder, display, feed, console, path, interrupts)
        return result, recorder, failure

    try:
        return asyncio.run(go())
    finally:
        for thread, phone in phones:
            phone.stop()
            thread.join(timeout=5.0)


def _call_soon(loop: Any, callback: Any) -> None:
    import contextlib

    with contextlib.suppress(RuntimeError):  # the recording already ended (its loop is closed)
        loop.call_soon_threadsafe(callback)


def _start_emulated_phone(url: str, duration: float | None, speed: float, done: Any) -> tuple[threading.Thread, Any]:
    """A simulated session pushed to `url` by an emulated phone in a thread; `done()` once all
    of it was pushed (the recording then ends, as when the person stops the app)."""
    from datetime import UTC, datetime

    from tracker.emulator.phone import EmulatedPhone, phone_streams, push_messages
    from tracker.simulate import random_script, simulate_session

    session_s = max(30.0, min(duration + 5.0, EMULATED_SESSION_S) if duration is not None else EMULATED_SESSION_S)
    sim = simulate_session(random_script(0, duration_s=session_s), seed=0)
    streams = phone_streams(sim, seed=0, start_utc=datetime.now(UTC))  # the phone's clock: now
    phone = EmulatedPhone(url, push_messages(streams), speed=speed)

    def run() -> None:
        try:
            phone.run()
        finally:
            done()

    thread = threading.Thread(target=run, name="emulated-phone", daemon=True)
    thread.start()
    return thread, phone
