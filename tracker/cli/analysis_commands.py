"""`tracker` commands of the analysis layer (registered on import): `tracker analyze`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tracker.cli.app import app
from tracker.cli.file_options import (
    FORMATS_EPILOG,
    AccelUnitOption,
    ColumnsOption,
    GyroUnitOption,
    TimeUnitOption,
)


@app.command(
    "analyze",
    help=(
        "Analyse a recorded session: time on the roller, strokes and their pace, holds over tender "
        "spots, regions and warnings. "
        + FORMATS_EPILOG
        + "\n\nExample: tracker analyze session.capture --json"
        "\n\nExample: tracker analyze 2025-03-01_07-30-00.zip   (a Sensor Logger export)"
        "\n\nExample: tracker analyze log.csv --columns t=timestamp,ax=AccX,ay=AccY,az=AccZ,"
        "gx=GyroX,gy=GyroY,gz=GyroZ --time-unit ms --gyro-unit deg/s"
    ),
)
def analyze_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="Capture file (from `tracker record`), CSV file, or a phone app's export (zip or folder)."
        ),
    ],
    json_out: Annotated[
        bool, typer.Option("--json", help='Print exactly one JSON document on stdout (the holds are its "pauses", a name kept for compatibility).')
    ] = False,
    roller_diameter: Annotated[
        float | None,
        typer.Option("--roller-diameter", metavar="CM", help="Roller diameter in cm (default: your roller_diameter_cm setting, 15 unless changed; see `tracker config roller_diameter_cm`)."),
    ] = None,
    columns: ColumnsOption = None,
    time_unit: TimeUnitOption = None,
    accel_unit: AccelUnitOption = None,
    gyro_unit: GyroUnitOption = None,
) -> None:
    import json
    from dataclasses import replace

    from tracker.analysis import analyze
    from tracker.cli.file_options import format_line, load_for_analysis, reading_options
    from tracker.errors import UsageError
    from tracker.guidance import ROLLER_DIAMETER_RANGE_CM
    from tracker.settings import load_guidance

    low, high = ROLLER_DIAMETER_RANGE_CM
    if roller_diameter is not None and not (low <= roller_diameter <= high):
        raise UsageError(
            f"--roller-diameter {roller_diameter:g} cm is not a foam roller",
            hint=f"give the diameter in centimetres, between {low:g} and {high:g} (most rollers are 10-15)",
        )
    mapping, units = reading_options(columns, time_unit, accel_unit, gyro_unit)
    recording = load_for_analysis(file, mapping, units)
    guidance = load_guidance(roller_diameter_cm=roller_diameter)
    result = analyze(recording, guidance)
    assert not isinstance(result, tuple)  # details=False
    if json_out:
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False))
        return
    from tracker.cli.summary import print_session_summary

    line = format_line(recording)
    if line:
        typer.echo(f"{file.name}: {line}")
        # said once, at the top, instead of again among the notes
        result = replace(result, notes=[n for n in result.notes if n != line])
    print_session_summary(result, file.name)
