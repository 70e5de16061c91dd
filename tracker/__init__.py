"""tracker: a foam-rolling session tracker for a torso-worn IMU.

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

__version__ = "0.1.0"
