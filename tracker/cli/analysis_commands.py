"""`tracker` commands of the analysis layer (registered on import): `tracker analyze`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tracker.cli.app import app


@app.command(
    "analyze",
    help=(
        "Analyse a recorded session (a capture file or a CSV with the header t,ax,ay,az,gx,gy,gz in "
        "s, m/s², rad/s): time on the roller, strokes and their pace, holds over tender spots, "
        "regions and warnings.\n\nExample: tracker analyze session.capture --json"
    ),
)
def analyze_command(
    file: Annotated[Path, typer.Argument(help="Capture file (from `tracker record`) or CSV file.")],
    json_out: Annotated[
        bool, typer.Option("--json", help='Print exactly one JSON document on stdout (the holds are its "pauses", a name kept for compatibility).')
    ] = False,
    roller_diameter: Annotated[
        float | None,
        typer.Option("--roller-diameter", metavar="CM", help="Roller diameter in cm (default: your roller_diameter_cm setting, 15 unless changed; see `tracker config roller_diameter_cm`)."),
    ] = None,
) -> None:
    import json

    from tracker.analysis import analyze, load_recording
    from tracker.errors import UsageError
    from tracker.guidance import ROLLER_DIAMETER_RANGE_CM
    from tracker.settings import load_guidance

    low, high = ROLLER_DIAMETER_RANGE_CM
    if roller_diameter is not None and not (low <= roller_diameter <= high):
        raise UsageError(
            f"--roller-diameter {roller_diameter:g} cm is not a foam roller",
            hint=f"give the diameter in centimetres, between {low:g} and {high:g} (most rollers are 10-15)",
        )
    recording = load_recording(file)
    guidance = load_guidance(roller_diameter_cm=roller_diameter)
    result = analyze(recording, guidance)
    if json_out:
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False))
        return
    from tracker.cli.summary import print_session_summary

    print_session_summary(result, file.name)
