"""Options for reading recording files, shared by `tracker analyze` and `tracker import`.

`--columns` maps another CSV layout onto t, ax, ay, az, gx, gy, gz; `--time-unit`,
`--accel-unit` and `--gyro-unit` state units instead of detecting them. Parsed here into
`tracker.formats` objects (imported on use, so `tracker --help` stays quick).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tracker.errors import UsageError

if TYPE_CHECKING:
    from tracker.formats import ColumnMapping, UnitOverrides
    from tracker.imu import ImuRecording

COLUMNS_HELP = (
    "For a CSV in another layout: which column is which, as KEY=COLUMN pairs for t, ax, ay, az "
    "and gx, gy, gz (leave the g's out for an accelerometer-only file). COLUMN is a header name "
    "or #N (N-th column, from 1); -COLUMN flips that axis. "
    "E.g. t=timestamp,ax=AccX,ay=AccY,az=AccZ,gx=GyroX,gy=GyroY,gz=GyroZ"
)

ColumnsOption = Annotated[
    str | None, typer.Option("--columns", metavar="MAP", help=COLUMNS_HELP, show_default=False)
]
TimeUnitOption = Annotated[
    str | None,
    typer.Option(
        "--time-unit",
        metavar="s|ms|us|ns",
        help="Unit of a CSV's time column (default: seconds, detected; Unix time is recognised).",
        show_default=False,
    ),
]
AccelUnitOption = Annotated[
    str | None,
    typer.Option(
        "--accel-unit",
        metavar="m/s2|g",
        help="Unit of a CSV's acceleration (default: m/s², detected).",
        show_default=False,
    ),
]
GyroUnitOption = Annotated[
    str | None,
    typer.Option(
        "--gyro-unit",
        metavar="rad/s|deg/s",
        help="Unit of a CSV's rotation rate (default: rad/s, detected).",
        show_default=False,
    ),
]

FORMATS_EPILOG = (
    "Files: a tracker capture; a CSV with the header t,ax,ay,az,gx,gy,gz (s, m/s², rad/s); a "
    "Sensor Logger export (its zip or unzipped folder); a phyphox export (CSV or zip; "
    "accelerometer with g and gyroscope in one experiment); any other CSV with --columns and "
    "the unit options."
)


def reading_options(
    columns: str | None, time_unit: str | None, accel_unit: str | None, gyro_unit: str | None
) -> tuple[ColumnMapping | None, UnitOverrides]:
    """The parsed options; a mistake in them is a `UsageError` (exit status 2)."""
    from tracker.formats import ColumnMapping, UnitOverrides

    try:
        mapping = ColumnMapping.parse(columns) if columns is not None else None
        units = UnitOverrides.of(time_unit, accel_unit, gyro_unit)
    except ValueError as exc:
        raise UsageError(str(exc), hint="see tracker analyze --help") from None
    return mapping, units


def load_for_analysis(
    path: Path, columns: ColumnMapping | None, units: UnitOverrides
) -> ImuRecording:
    """Read a recording with the options. One without a gyroscope (a Polar H10's, a phone's
    without one) is analysed from its accelerometer alone (`tracker.analysis.accel_only`): the
    analysis's notes say what that costs."""
    from tracker.formats import load_recording

    return load_recording(path, columns=columns, units=units)


def format_line(recording: ImuRecording) -> str | None:
    """"read as a Sensor Logger export (...)" for files in formats other than tracker's own."""
    label = recording.source.get("format")
    if not label or label in ("tracker capture", "tracker CSV"):
        return None
    return f"read as a {label}" if not str(label).startswith("read") else str(label)
