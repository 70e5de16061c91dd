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
        bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")
    ] = False,
    roller_diameter: Annotated[
        float | None,
        typer.Option("--roller-diameter", metavar="CM", help="Roller diameter in cm (default 15)."),
    ] = None,
) -> None:
    import json

    from tracker.analysis import analyze, load_recording
    from tracker.errors import UsageError
    from tracker.guidance import Guidance

    if roller_diameter is not None and not (4.0 <= roller_diameter <= 40.0):
        raise UsageError(
            f"--roller-diameter {roller_diameter:g} cm is not a foam roller",
            hint="give the diameter in centimetres, between 4 and 40 (most rollers are 10-15)",
        )
    recording = load_recording(file)
    guidance = Guidance()
    result = analyze(recording, guidance, roller_diameter_cm=roller_diameter)
    if json_out:
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False))
        return
    _print_summary(result, file)


def _print_summary(result, file: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    guidance = result.parameters.get("guidance", {})
    target = float(guidance.get("target_pace_cm_s", 2.5))
    console = Console(highlight=False)
    console.print(f"[bold]{file.name}[/bold]: {result.duration_s / 60:.1f} min recorded")
    console.print(
        f"On the roller {result.on_roller_s / 60:.1f} min, rolling {result.rolling_s / 60:.1f} min"
        + (f" ({result.posture.replace('_', ' ')})" if result.posture else "")
    )
    if result.strokes:
        mean = result.mean_pace_cm_s
        verdict = (
            "good" if mean <= 1.6 * target else ("a bit fast" if mean <= 2 * target else "too fast")
        )
        console.print(
            f"{len(result.strokes)} strokes, mean pace {mean:.1f} cm/s (target about {target:g} cm/s: {verdict})"
        )
    else:
        console.print("No strokes found.")
    if result.holds:
        table = Table(title="Holds", show_edge=False)
        for col in ("start", "duration", "position", "region"):
            table.add_column(col)
        for h in result.holds:
            table.add_row(
                f"{int(h.start_s // 60)}:{h.start_s % 60:04.1f}",
                f"{h.duration_s:.0f} s",
                f"~{h.position_cm:.0f} cm from the hips",
                h.region.replace("_", " "),
            )
        console.print(table)
    if result.region_time_s:
        console.print(
            "Time per region: "
            + ", ".join(
                f"{k.replace('_', ' ')} {v:.0f} s" for k, v in result.region_time_s.items() if v > 0
            )
        )
    if result.warnings:
        console.print("[bold]Warnings[/bold]")
        for w in result.warnings:
            console.print(f"  - at {int(w.start_s // 60)}:{w.start_s % 60:04.1f}: {w.message}")
    else:
        console.print("No warnings.")
    for note in result.notes:
        console.print(f"[dim]note: {note}[/dim]")
