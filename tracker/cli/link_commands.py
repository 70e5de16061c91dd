"""`tracker scan` and `tracker pair`: finding and bonding sensors (registered on import;
`tracker record` is in record_command.py, replay and emulate in playback_commands.py).

Heavy imports (bleak, bumble, numpy, the emulator) happen inside the commands so `tracker --help`
stays fast. Every user-facing failure is a `TrackerError` (one line and an exit status, printed by
`tracker.cli.main`).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tracker.cli.app import app
from tracker.cli.sensor_options import (
    EMULATED,
    KINDS,
    check_rate,
    emulated_kinds,
    kind_option,
    run,
    stderr_console,
    stream_settings,
)


# --- scan ----------------------------------------------------------------------------------------
@app.command(
    "scan",
    help="List sensors in range: name, kind (tracker-imu, polar-h10, polar-verity), address, signal strength, battery when known.\n\nExample: tracker scan --emulated --json",
)
def scan_command(
    emulated: Annotated[bool, EMULATED] = False,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, max=120.0, help="Seconds to listen.")] = 5.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON list of sensors on stdout.")] = False,
    sensor: Annotated[
        str | None, typer.Option("--sensor", metavar="KIND", help=f"Only sensors of this kind: {', '.join(KINDS)}.")
    ] = None,
) -> None:
    import json

    from tracker.link.environment import emulated_environment, real_environment
    from tracker.link.registry import SensorRegistry
    from tracker.link.scan import scan_sensors

    kind = kind_option(sensor)

    async def go() -> list[Any]:
        kinds = (kind,) if kind else KINDS
        env_cm = emulated_environment(speed=1.0, kinds=kinds) if emulated else real_environment()
        async with env_cm as env:
            return await scan_sensors(env, timeout, registry=SensorRegistry(), kind=kind)

    found = run(go())
    if as_json:
        typer.echo(json.dumps([s.to_json() for s in found]))
        return
    if not found:
        stderr_console().print("No sensor found. Is it switched on and nearby? (try --timeout 15)")
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

# --- pair ----------------------------------------------------------------------------------------
class _ConsoleUI:
    def __init__(self, yes: bool, emulated: bool) -> None:
        self.console = stderr_console()
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
    emulated: Annotated[bool, EMULATED] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Run the calibration without waiting for Enter.")] = False,
    sensor: Annotated[
        str | None, typer.Option("--sensor", metavar="KIND", help=f"Only a sensor of this kind: {', '.join(KINDS)}.")
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

    kind = kind_option(sensor)
    check_rate(rate, kind)
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
                source=source, speed=speed, kinds=emulated_kinds(kind)
            )
        else:
            env_cm = real_environment()
        async with env_cm as env:
            return await pair_sensor(
                env,
                target,
                ui=ui,
                settings=stream_settings(rate, kind),
                signal_s=signal_s,
                stand_s=stand_s,
                lie_s=lie_s,
                scan_timeout_s=timeout,
                kind=kind,
            )

    from tracker.display import plain, shown

    report = run(go())
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
        stderr_console().print(f"warning: {shown(warning)}")
