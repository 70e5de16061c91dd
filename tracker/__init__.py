"""tracker: a foam-rolling session tracker for a torso-worn IMU.

In a notebook:

    import tracker
    result = tracker.analyze(df)            # df: t, ax, ay, az, gx, gy, gz (s, m/s², rad/s)
    result.strokes_frame()                  # or a capture / CSV path, or an ImuRecording
    tracker.signals(df)                     # the intermediate signals, one row per sample

`analyze` and `signals` are `tracker.analysis.api`'s, loaded on first use (`import tracker`
imports nothing heavy).

Layers, lowest first: a module imports only from its own package and from the rows above its own
(modules on one row never import each other). Read top to bottom it is the data flow, from radio
bytes to the weekly chart; tests/test_architecture.py reads this table and checks every import in
the package against it, those inside functions too.

    errors.py                              TrackerError: one exception tree for what a user can fix
    paths.py display.py guidance.py        private files; outside text shown safely; guidance numbers
    imu.py results.py settings.py          the shared records: IMU samples in SI units (ImuRecording)
                                             and an analysed session (strokes, holds, warnings); the
                                             user's settings
    protocol/                              radio bytes -> packets -> IMU samples (firmware_protocol.md)
    capture/                               raw notifications on disk, append-only and crash-safe
    formats/ ble/ simulate/ multibody/     files from other apps; bleak and the virtual Bumble link;
                                             the two physical models of a person rolling
    emulator/ analysis/                    the emulated sensor (a GATT peripheral on Bumble);
                                             orientation, strokes, holds, pace, regions, warnings
    link/ history/ live/                   scan, pair (learns the mounting with the analysis), record,
                                             replay; SQLite store, weekly tables, charts, report;
                                             causal analysis and the live terminal view
    demo.py                                `tracker demo`: simulated weeks through the whole pipeline
    cli/                                   the `tracker` command
    __main__.py __init__.py                `python -m tracker`; this facade (`analyze`, `signals`)

`__version__` is the one name every layer may import from this facade: it is defined here and
importing it loads nothing else.
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
