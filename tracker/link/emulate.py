"""`tracker emulate`: the emulated sensor on its own, reachable from outside through a Bumble transport.

The sensor lives on a `VirtualRadio`; `--expose TRANSPORT` attaches one more virtual controller of
that radio to a Bumble HCI transport (e.g. "tcp-server:_:9000"). A Bumble host on the other end
(`bumble-scan tcp-client:127.0.0.1:9000`, `bumble-gatt-dump`, a `bumble.device.Device`) then
scans, connects, pairs and streams as if the sensor were on real air.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from typing import Any

from tracker.errors import UsageError


async def run_emulator(
    *,
    expose: str | None,
    seed: int = 0,
    rate_hz: int = 100,
    say: Callable[[str], None] = print,
    stop: asyncio.Event | None = None,
    kind: str = "tracker-imu",
) -> None:
    """Run until SIGINT/SIGTERM (or `stop` is set). `kind`: "tracker-imu", "polar-h10" or
    "polar-verity" (the Polar sensors keep their own rates; `rate_hz` is the tracker IMU's)."""
    from tracker.ble.virtual import VirtualRadio
    from tracker.emulator import EmulatedSensor
    from tracker.emulator.polar import POLAR_EMULATORS
    from tracker.link.environment import EMULATED_POLAR, SEND_LOG_LIMIT

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    radio = VirtualRadio()
    # it runs until interrupted, maybe for hours: keep the send log (a test aid) bounded
    sensor: Any
    if kind in POLAR_EMULATORS:
        sensor = POLAR_EMULATORS[kind](
            radio.link, controller_factory=radio.create_controller, seed=seed, send_log_limit=SEND_LOG_LIMIT, **EMULATED_POLAR[kind]
        )
    else:
        sensor = EmulatedSensor(
            radio.link,
            controller_factory=radio.create_controller,
            seed=seed,
            sampling_rate_hz=rate_hz,
            send_log_limit=SEND_LOG_LIMIT,
        )
    try:
        await sensor.start()
        if expose:
            try:
                await radio.attach_transport(expose)
            except Exception as exc:  # noqa: BLE001  Bumble raises many kinds for a bad transport
                raise UsageError(
                    f"cannot open the transport {expose!r}: {exc}",
                    hint="use a Bumble transport such as tcp-server:_:9000 (a free port) or usb:0",
                ) from exc
        say(f"Emulated sensor {sensor.name} ({sensor.address}) is advertising.")
        if expose:
            say(f"Reachable through {expose}; for example: bumble-scan {_client_hint(expose)}")
        else:
            say("Nothing outside this process can reach it; add --expose tcp-server:_:9000 to reach it.")
        say("Press Ctrl-C to stop.")
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            await sensor.stop()
        await radio.close()
        say("Emulated sensor stopped.")


def _client_hint(expose: str) -> str:
    if expose.startswith("tcp-server:"):
        port = expose.rsplit(":", 1)[-1]
        return f"tcp-client:127.0.0.1:{port}"
    return expose
