"""The human summary of one analysed session, shared by `analyze`, `replay` and `show`."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from tracker.display import clock, shown
from tracker.results import SessionAnalysis


def print_session_summary(result: SessionAnalysis, title: str, console: Console | None = None) -> None:
    """Print what a person wants to know about one analysed session."""
    guidance = result.parameters.get("guidance", {})
    target = float(guidance.get("target_pace_cm_s", 2.5))
    console = console or Console(highlight=False)
    console.print(f"[bold]{title}[/bold]: {result.duration_s / 60:.1f} min recorded")
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
                clock(h.start_s),
                f"{h.duration_s:.0f} s",
                f"~{h.position_cm:.0f} cm from the hips",
                h.region.replace("_", " "),
            )
        console.print(table)
    roller = result.parameters.get("roller")
    if roller and result.on_roller_s > 0:
        from tracker.analysis.kinematics import RollerDiameter

        console.print(RollerDiameter.from_json(roller).describe().capitalize())
    regions = [f"{k.replace('_', ' ')} {v:.0f} s" for k, v in result.region_time_s.items() if v > 0]
    if regions:  # nothing found on the back: no line rather than an empty one
        console.print("Time per region: " + ", ".join(regions))
    if result.warnings:
        console.print("[bold]Warnings[/bold]")
        for w in result.warnings:
            console.print(f"  - at {clock(w.start_s)}: {shown(w.message)}")
    else:
        console.print("No warnings.")
    for note in result.notes:  # notes quote files and radios: shown as text, never as markup
        console.print(f"[dim]note: {shown(note)}[/dim]")
