"""Options and helpers the sensor commands share (scan, pair, record, replay, emulate).

Nothing heavy is imported here: `tracker --help` builds every command's options from these.
"""

from __future__ import annotations

from typing import Any

import typer

EMULATED = typer.Option("--emulated", help="Use emulated sensors on a virtual radio instead of real Bluetooth.")
KINDS = ("tracker-imu", "polar-h10", "polar-verity")
"""Sensor kinds (tracker.link.driver.SENSOR_KINDS; repeated here so `--help` needs no imports)."""
RATES_BY_KIND = {"tracker-imu": (25, 50, 100, 200, 400), "polar-h10": (25, 50, 100, 200), "polar-verity": (52,)}
DEFAULT_RATE = {"tracker-imu": 100, "polar-h10": 100, "polar-verity": 52}
RATES = tuple(sorted({r for rates in RATES_BY_KIND.values() for r in rates}))


def check_rate(rate: int | None, kind: str | None = None) -> int | None:
    """`--rate` as given (None: the sensor's usual rate), checked against what the kind offers."""
    if rate is None:
        return None
    allowed = RATES_BY_KIND.get(kind or "", RATES)
    if rate not in allowed:
        from tracker.errors import UsageError

        what = f"the {kind} sensor" if kind else "any sensor"
        raise UsageError(
            f"--rate {rate} is not supported by {what}", hint=f"use one of {', '.join(map(str, allowed))} Hz, or leave --rate out"
        )
    return rate


def check_transport(spec: str) -> None:
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


def stream_settings(rate: int | None, kind: str | None) -> Any:
    """StreamSettings for `--rate` (the kind's usual rate when not given)."""
    from tracker.link.driver import StreamSettings

    if rate is None:
        return StreamSettings(sample_rate_hz=DEFAULT_RATE.get(kind or "", 100), rate_is_default=True)
    return StreamSettings(sample_rate_hz=rate)


def sensor_kind(value: str | None) -> str | None:
    """The sensor kind a `--sensor` value names, or None when it names a sensor (name/address)."""
    if value is None:
        return None
    lowered = value.strip().lower()
    return lowered if lowered in KINDS else None


def emulated_kinds(kind: str | None, paired: Any = None) -> tuple[str, ...]:
    """Which emulated sensors to put on the virtual radio for pair/record."""
    if kind is not None:
        return (kind,)
    if paired is not None and paired.driver in KINDS:
        return (paired.driver,)
    return ("tracker-imu",)


def run(coro: Any) -> Any:
    import asyncio

    return asyncio.run(coro)


def stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)  # one message, one line


def kind_option(value: str | None) -> str | None:
    """`--sensor KIND` for scan and pair: a sensor kind, or a usage error."""
    if value is None:
        return None
    kind = sensor_kind(value)
    if kind is None:
        from tracker.errors import UsageError

        raise UsageError(f"--sensor {value!r} is not a sensor kind", hint=f"use one of {', '.join(KINDS)}")
    return kind
