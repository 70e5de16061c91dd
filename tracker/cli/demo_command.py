"""`tracker demo`: the README's main job (registered on import)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tracker.cli.app import app


@app.command(
    "demo",
    help=(
        "Simulate a few weeks of rolling, stream every session from the emulated sensor through the "
        "whole pipeline (Bluetooth, capture, analysis, history) into a demo data directory, and "
        "write the weekly report. No hardware needed.\n\nExample: tracker demo --weeks 6"
    ),
)
def demo_command(
    weeks: Annotated[int, typer.Option("--weeks", min=1, max=26, help="Weeks of simulated sessions (6 give the 28-day load ratio something to compare).")] = 6,
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Demo data directory (default: demo/ in the data directory; your own sessions are never touched)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the simulated weeks.")] = 0,
    timezone: Annotated[str, typer.Option("--timezone", help="IANA time zone the simulated person lives in.")] = "Europe/Berlin",
) -> None:
    from rich.console import Console

    from tracker import paths
    from tracker.demo import prepare_demo_dir, run_demo
    from tracker.history.timezones import zone

    zone(timezone)  # a misspelt zone fails now, with its hint
    target = directory if directory is not None else paths.data_dir() / "demo"
    prepare_demo_dir(target)  # refuses a directory that is not the demo's before drawing anything
    console = Console(stderr=True, highlight=False)
    if console.is_terminal:
        with _ProgressBar(console) as bar:
            result = run_demo(target, weeks=weeks, seed=seed, timezone=timezone, progress=bar.update)
    else:
        # piped or logged: one plain line per step, as it starts (a bar would print nothing)
        result = run_demo(target, weeks=weeks, seed=seed, timezone=timezone, progress=_progress_line)
    from tracker.display import shown

    for line in result.failed:
        console.print(f"not analysed: {shown(line)}")
    typer.echo(f"{result.sessions} simulated sessions recorded through the emulated sensor into {result.data_dir}")
    typer.echo(f"report: {result.report_html}")
    typer.echo(f"explore: tracker --data-dir {result.data_dir} sessions")


def _progress_line(what: str, done: int, total: int) -> None:
    import sys

    if what != "done":
        print(what, file=sys.stderr, flush=True)


class _ProgressBar:
    """A rich progress bar whose task appears with the first step, so it never shows an unknown
    total ("0/None")."""

    def __init__(self, console: Any) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(), console=console, transient=True,
        )  # fmt: skip
        self.task: Any = None

    def __enter__(self) -> _ProgressBar:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)  # type: ignore[arg-type]

    def update(self, what: str, done: int, total: int) -> None:
        if self.task is None:
            self.task = self.progress.add_task(what, total=total)
        self.progress.update(self.task, description=what, completed=done, total=total)
