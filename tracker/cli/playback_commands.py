"""`tracker replay` (a capture through the live decode path) and `tracker emulate` (the emulated
sensor on its own): playing back what was recorded or simulated (registered on import).

Heavy imports happen inside the commands so `tracker --help` stays fast. Every user-facing failure
is a `TrackerError` (one line and an exit status, printed by `tracker.cli.main`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tracker.cli.app import app
from tracker.cli.sensor_options import (
    KINDS,
    check_rate,
    check_transport,
    kind_option,
    run,
    stderr_console,
)
from tracker.cli.session_output import live_feed, store_in_history


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
    console = stderr_console()
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
        feed = live_feed(rate, calibration, quiet, connection="replay", has_gyro=sensor_kind(header) != "polar-h10")
        feed.view.__enter__()
        return feed

    try:
        report = run(
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
        str | None, typer.Option("--sensor", metavar="KIND", help=f"Which sensor to emulate: {', '.join(KINDS)} (default tracker-imu).")
    ] = None,
) -> None:
    kind = kind_option(sensor) or "tracker-imu"
    check_rate(rate, "tracker-imu")
    if expose is not None:
        check_transport(expose)
    from tracker.link.emulate import run_emulator

    console = stderr_console()
    announced = False

    def say(text: str) -> None:
        nonlocal announced
        if not announced and text.startswith("Emulated sensor stopped"):
            return  # it never started (e.g. a bad --expose): "stopped" would mislead
        announced = True
        console.print(text, markup=False)

    run(run_emulator(expose=expose, seed=seed, rate_hz=rate, say=say, kind=kind))
