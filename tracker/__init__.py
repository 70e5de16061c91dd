"""tracker: a foam-rolling session tracker for a torso-worn IMU.

In a notebook:

    import tracker
    result = tracker.analyze(df)            # df: t, ax, ay, az, gx, gy, gz (s, m/s², rad/s)
    result.strokes_frame()                  # or a capture / CSV path, or an ImuRecording
    tracker.signals(df)                     # the intermediate signals, one row per sample

`analyze` and `signals` are `tracker.analysis.api`'s, loaded on first use (`import tracker`
imports nothing heavy).

The data flows through the package in this order (each layer imports only the ones above it):

    protocol/    radio bytes -> packets -> IMU samples (SI units)       firmware_protocol.md
    capture/     raw notifications on disk, append-only and crash-safe
    ble/         bleak application code, and a bleak backend over Bumble's virtual link
    emulator/    the emulated sensor: a real GATT peripheral on Bumble
    link/        scan, pair, record (reconnect, watchdog) for any supported sensor
    imu.py       ImuRecording: the one documented column set every analysis starts from
    simulate/    a physical model of a person rolling, with exact ground truth
    analysis/    orientation, posture, strokes, holds, pace, regions, warnings
    results.py   what an analysed session is (strokes, holds, warnings), shared by all layers below
    history/     SQLite store, weekly tables, load ratio, charts, HTML report
    live/        causal analysis and the live terminal view
    cli/         the `tracker` command
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "analyze", "signals"]


def __getattr__(name: str) -> Any:
    if name in ("analyze", "signals"):
        from tracker.analysis import api

        return getattr(api, name)
    raise AttributeError(f"module 'tracker' has no attribute {name!r}")
