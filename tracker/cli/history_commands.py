"""`tracker` commands of the history layer (registered on import): import, sessions, show,
delete, edit, export, report.

Heavy imports (pandas, matplotlib, the analysis) happen inside the commands, so `tracker --help`
and `tracker sessions` stay quick.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from tracker.cli.app import app
from tracker.cli.file_options import (
    FORMATS_EPILOG,
    AccelUnitOption,
    ColumnsOption,
    GyroUnitOption,
    TimeUnitOption,
)
from tracker.errors import UsageError
from tracker.guidance import ROLLER_DIAMETER_RANGE_CM


def _parse_date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"{option} {text!r} is not a date", hint="use YYYY-MM-DD, e.g. 2025-03-01"
        ) from None


@app.command("import", epilog=FORMATS_EPILOG)
def import_command(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Capture (.capture) files, CSV files (t,ax,ay,az,gx,gy,gz), or phone apps' exports "
            "(Sensor Logger zip or folder, phyphox CSV or zip).",
            show_default=False,
        ),
    ],
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone",
            help="IANA zone where the sessions happened, e.g. Europe/Berlin (default: the capture's own, else this computer's).",
        ),
    ] = None,
    roller_diameter: Annotated[
        float | None,
        typer.Option(
            "--roller-diameter",
            min=ROLLER_DIAMETER_RANGE_CM[0],
            max=ROLLER_DIAMETER_RANGE_CM[1],
            help="Roller diameter in cm (default: your roller_diameter_cm setting, 15 unless changed; see `tracker config`).",
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--start",
            help="Start time for files that carry none (a CSV without Unix times, a phyphox CSV without meta/time.csv): ISO 8601, local in --timezone unless it has an offset "
            "(default: the file's modification time minus the recording's length). Only with one file.",
        ),
    ] = None,
    columns: ColumnsOption = None,
    time_unit: TimeUnitOption = None,
    accel_unit: AccelUnitOption = None,
    gyro_unit: GyroUnitOption = None,
) -> None:
    """Analyse recordings and store them in your history, each exactly once.

    Each file is reported as imported, already imported (same bytes as a stored capture) or failed
    with the reason; the good ones are kept and the exit status is 1 if any failed.

    Example: tracker import captures/*.capture session.csv --timezone Europe/Berlin

    Example: tracker import "Sensor Logger/2025-03-01_07-30-00.zip" phyphox.zip

    Example: tracker import log.csv --columns t=timestamp,ax=AccX,ay=AccY,az=AccZ,gx=GyroX,gy=GyroY,gz=GyroZ --time-unit ms
    """
    import sys

    from tracker.cli.file_options import format_line, load_for_analysis, reading_options
    from tracker.history.ingest import FAILED, SKIPPED, import_file
    from tracker.history.store import SessionStore
    from tracker.history.timezones import parse_start, zone

    if timezone is not None:
        zone(timezone)
    if start is not None and len(files) > 1:
        raise UsageError(
            "--start applies to one file", hint="import files with different start times one by one"
        )
    start_utc = parse_start(start, timezone) if start is not None else None
    mapping, units = reading_options(columns, time_unit, accel_unit, gyro_unit)

    def load(path: Path) -> Any:
        recording = load_for_analysis(path, mapping, units)
        line = format_line(recording)
        if line:
            print(f"{path}: {line}", file=sys.stderr, flush=True)
        return recording

    from tracker.settings import load_guidance

    guidance = load_guidance(roller_diameter_cm=roller_diameter)
    outcomes = []
    with SessionStore() as store:
        kwargs: dict[str, Any] = {"guidance": guidance, "tz_name": timezone, "start_utc": start_utc, "load": load}
        if len(files) > 1:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            progress_columns = (
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )
            with Progress(*progress_columns, console=Console(stderr=True), transient=True) as progress:
                task = progress.add_task("importing", total=len(files))
                for path in files:
                    progress.update(task, description=f"importing {path.name}")
                    outcome = import_file(store, path, **kwargs)
                    print(outcome.line(), flush=True)
                    outcomes.append(outcome)
                    progress.advance(task)
        else:
            for path in files:
                outcome = import_file(store, path, **kwargs)
                # one file: a failure is the command's error, on stderr (several: the summary is)
                print(outcome.line(), file=sys.stderr if outcome.status == FAILED else sys.stdout)
                outcomes.append(outcome)
    failed = sum(o.status == FAILED for o in outcomes)
    if len(outcomes) > 1:
        skipped = sum(o.status == SKIPPED for o in outcomes)
        done = len(outcomes) - failed - skipped
        skipped_part = f"{skipped} skipped (never on the roller); " if skipped else ""
        print(
            f"{done} of {len(outcomes)} file(s) stored or already there; {skipped_part}{failed} failed",
            file=sys.stderr,
        )
    if failed:
        raise typer.Exit(1)


@app.command("sessions")
def sessions_command(
    since: Annotated[
        str | None, typer.Option("--since", help="First local date to list (YYYY-MM-DD).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Last local date to list (YYYY-MM-DD), inclusive.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON array on stdout instead of a table.")
    ] = False,
) -> None:
    """List stored sessions, oldest first, in the local time they happened.

    Example: tracker sessions --since 2025-03-01
    """
    from tracker.history.store import SessionStore

    first, last = _parse_date(since, "--since"), _parse_date(until, "--until")
    if first and last and first > last:
        raise UsageError(f"--since {first} is after --until {last}", hint="swap the dates")
    with SessionStore(read_only=True) as store:
        rows = store.session_rows(first, last)
        stored = store.count() if not rows and (first or last) else 0
    if as_json:
        print(json.dumps([r.to_json() for r in rows], indent=None))
        return
    if not rows:
        if stored:
            print(f"No sessions in that date range ({stored} stored; `tracker sessions` lists them all).")
        else:
            print("No sessions stored yet. Import one with `tracker import FILE`, or try `tracker demo`.")
        return
    # Plain columns, not a rich Table: rich renders a thousand rows in about a second.
    header = f"{'id':>5}  {'start (local)':<22}  {'on roller':>9}  {'strokes':>7}  {'holds':>5}  {'pace cm/s':>9}  {'too fast':>8}  {'warnings':>8}  posture"
    lines = [header]
    for r in rows:
        # no strokes, no pace: a dash, not a pace of 0.0
        pace, fast = (f"{r.mean_pace_cm_s:>9.1f}", f"{r.too_fast_fraction:>8.0%}") if r.n_strokes else (f"{'–':>9}", f"{'–':>8}")
        lines.append(
            f"{r.id:>5}  {r.start_local:%Y-%m-%d %H:%M %z}  {r.on_roller_s / 60:>5.1f} min  {r.n_strokes:>7}  {r.n_holds:>5}  "
            f"{pace}  {fast}  {r.n_warnings:>8}  {r.posture or ''}"
        )
    print("\n".join(lines))
    print(f"{len(rows)} session(s)")


def _summary_rows(s: Any) -> list[tuple[str, str]]:
    """The name/value lines at the top of `tracker show` for a stored session."""
    from tracker.cli.summary import pm, position_line

    a = s.analysis
    u = a.uncertainty
    mean_pm = u.mean_pace_pm_cm_s if u is not None else None
    return [
        (
            "length",
            f"{a.duration_s / 60:.1f} min, {a.on_roller_s / 60:.1f} min on the roller, {a.rolling_s / 60:.1f} min rolling",
        ),
        ("posture", a.posture or "unknown"),
        (
            "strokes",
            f"{len(a.strokes)}, mean pace {a.mean_pace_cm_s:.1f}{pm(mean_pm, 'cm/s') or ' cm/s'}"
            + (f" ({u.pace_trust})" if u is not None and u.pace_trust != "good" else "")
            if a.strokes
            else "none",
        ),
        ("positions", (position_line(a) or "–").removeprefix("Positions along the back: ")),
        ("holds", f"{len(a.holds)}, {sum(h.duration_s for h in a.holds):.0f} s in all"),
        (
            "time per region",
            ", ".join(f"{k.replace('_', ' ')} {v / 60:.1f} min" for k, v in a.region_time_s.items())
            or "–",
        ),
        ("warnings", str(len(a.warnings))),
        ("sensor", " ".join(x for x in (s.sensor_name, s.sensor_address) if x) or "–"),
        ("source", s.capture_path or "–"),
        ("analysed by", f"tracker {a.tracker_version}" if a.tracker_version else "–"),
    ]


def _print_tables(console: Any, a: Any) -> None:
    """The strokes and holds tables of `tracker show`."""
    from rich.table import Table

    from tracker.display import shown

    if a.strokes:
        t = Table(title="Strokes", box=None, title_justify="left", header_style="bold")
        for col in ("#", "start s", "end s", "distance cm", "pace cm/s", "± cm/s", "direction", "region"):
            t.add_column(col, justify="left" if col in ("direction", "region") else "right")
        for i, st in enumerate(a.strokes, 1):
            t.add_row(str(i), f"{st.start_s:.1f}", f"{st.end_s:.1f}", f"{st.distance_cm:.1f}", f"{st.pace_cm_s:.1f}",
                      "–" if st.pace_pm_cm_s is None else f"{st.pace_pm_cm_s:.1f}",
                      shown(st.direction.replace("_", " ")), shown(st.region.replace("_", " ")))  # fmt: skip
        console.print(t)
    if a.holds:
        t = Table(title="Holds", box=None, title_justify="left", header_style="bold")
        for col in ("#", "start s", "duration s", "position cm", "± cm", "region"):
            t.add_column(col, justify="left" if col == "region" else "right")
        for i, h in enumerate(a.holds, 1):
            t.add_row(
                str(i),
                f"{h.start_s:.1f}",
                f"{h.duration_s:.1f}",
                f"{h.position_cm:.1f}",
                "–" if h.position_pm_cm is None else f"{h.position_pm_cm:.1f}",
                shown(h.region.replace("_", " ")),
            )
        console.print(t)


@app.command("show")
def show_command(
    session_id: Annotated[
        int, typer.Argument(help="Session id (see `tracker sessions`).", show_default=False)
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Where to write the timeline chart (PNG; default <data dir>/charts/session-ID.png).",
        ),
    ] = None,
) -> None:
    """Show one session in full: summary, strokes, holds, warnings, and its timeline chart.

    Example: tracker show 12 --out session-12.png
    """
    from rich.console import Console
    from rich.table import Table

    from tracker import paths
    from tracker.cli.summary import other_activity_lines
    from tracker.display import plain, shown
    from tracker.history import charts
    from tracker.history.store import SessionStore

    with SessionStore(read_only=True) as store:
        s = store.session(session_id)
    a = s.analysis
    u = a.uncertainty
    console = Console(highlight=False)
    console.print(
        f"[bold]Session {s.id}[/bold]  {s.start_local:%A %Y-%m-%d %H:%M %z}"
        + (f" ({shown(s.timezone)})" if s.timezone else "")
    )
    summary = _summary_rows(s)
    for k, v in summary:
        console.print(f"  {k:<16} {plain(v)}", markup=False)  # stored text: shown as text
    for line in other_activity_lines(a):
        console.print(f"  {plain(line)}", markup=False)
    _print_tables(console, a)
    if u is not None and u.caveats:
        console.print("[bold]How sure[/bold] (each ± holds the truth about 80 % of the time)")
        for caveat in u.caveats:
            console.print(f"  - {plain(caveat)}", markup=False)
    elif u is None:
        console.print("  (analysed before tracker said how sure its numbers are: no ±)", markup=False)
    if a.warnings:
        t = Table(title="Warnings", box=None, title_justify="left", header_style="bold")
        for col in ("kind", "from s", "to s", "message"):
            t.add_column(col)
        for w in a.warnings:
            t.add_row(shown(w.kind), f"{w.start_s:.0f}", f"{w.end_s:.0f}", shown(w.message))
        console.print(t)
    from tracker.errors import StorageError

    try:
        target = (
            out
            if out is not None
            else paths.ensure_private_dir(paths.data_dir() / "charts") / f"session-{s.id}.png"
        )
    except StorageError as exc:
        # the session is shown; only its chart has nowhere to go (e.g. a read-only data directory)
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            f"note: no timeline chart ({exc.one_line()}); write it elsewhere with --out FILE.png"
        )
        return
    fig = charts.new_figure(11, 4.5)
    charts.plot_session_timeline(a, fig.add_subplot())
    paths.write_private_figure(fig, target, dpi=110)  # a symlink there is replaced, not followed
    print(f"timeline chart: {target}")


def _session_line(row: object) -> str:
    """"3  2025-03-30 07:45 +0200, 4.2 min on the roller" for a `SessionRow`."""
    r: Any = row
    return f"{r.id:>5}  {r.start_local:%Y-%m-%d %H:%M %z}, {r.on_roller_s / 60:.1f} min on the roller"


@app.command("delete")
def delete_command(
    session_ids: Annotated[
        list[int],
        typer.Argument(metavar="ID...", help="Session ids (see `tracker sessions`).", show_default=False),
    ],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
) -> None:
    """Take sessions out of your history: each with its strokes, holds and warnings, all in one
    go. Asks first (unless --yes). Capture files are kept: `tracker import CAPTURE` brings a
    session back.

    Example: tracker delete 12 13
    """
    from tracker.history.store import SessionStore

    with SessionStore() as store:
        rows = store.rows_for(session_ids)  # every id checked before anything is asked or deleted
        if not yes:
            typer.echo("\n".join(_session_line(r) for r in rows), err=True)
            question = f"Delete {'this session' if len(rows) == 1 else f'these {len(rows)} sessions'} from your history? (capture files are kept)"
            try:
                go = typer.confirm(question, default=False, err=True)
            except typer.Abort:  # no answer (end of input)
                go = False
            if not go:
                typer.echo("nothing deleted", err=True)
                raise typer.Exit(1)
        deleted = store.delete_sessions([r.id for r in rows])
    for r in deleted:
        kept = f"; its capture is kept: {r.capture_path}" if r.capture_path else ""
        typer.echo(f"deleted session {r.id} ({r.start_local:%Y-%m-%d %H:%M %z}, {r.on_roller_s / 60:.1f} min on the roller){kept}")


@app.command("edit")
def edit_command(
    session_id: Annotated[
        int, typer.Argument(metavar="ID", help="Session id (see `tracker sessions`).", show_default=False)
    ],
    start: Annotated[
        str | None,
        typer.Option(
            "--start",
            metavar="WHEN",
            help="When the session really started: ISO 8601, local in --timezone (default: the session's own zone) "
            "unless it has an offset, e.g. 2025-03-30T07:45 or 2025-03-30T05:45Z.",
        ),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option("--timezone", metavar="ZONE", help="IANA zone where it happened, e.g. Europe/Berlin."),
    ] = None,
) -> None:
    """Re-date a stored session: a CSV import dated by its file's time, or a session at a wrong time.

    Example: tracker edit 12 --start 2025-03-30T07:45
    """
    from tracker.history.store import SessionStore
    from tracker.history.timezones import parse_start, zone

    if start is None:
        raise UsageError("nothing to change", hint="give the session's real start with --start WHEN")
    if timezone is not None:
        zone(timezone)
    with SessionStore() as store:
        (before,) = store.rows_for([session_id])
        moment = parse_start(start, timezone or before.timezone)
        after = store.redate_session(session_id, moment, timezone=timezone)
    typer.echo(
        f"session {after.id} now starts {after.start_local:%Y-%m-%d %H:%M %z}"
        f" (was {before.start_local:%Y-%m-%d %H:%M %z})"
    )


@app.command("export")
def export_command(
    fmt: Annotated[str | None, typer.Option("--format", metavar="FORMAT", help="csv (the default), parquet or jsonl.")] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="PATH",
            help="Directory for csv/parquet, file for jsonl (default: ./tracker-export-FORMAT or ./tracker-export.jsonl).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an earlier export there.")] = False,
    partitioned: Annotated[
        Path | None,
        typer.Option(
            "--partitioned",
            metavar="DIR",
            help="Add this history to a pooled Parquet dataset in DIR, partitioned person/year/month "
            "(Hive style: DuckDB and Spark read it as it is). Implies --format parquet.",
        ),
    ] = None,
    person: Annotated[
        str | None,
        typer.Option(
            "--person",
            metavar="ID",
            help="With --partitioned: your id in the dataset (default: a pseudonym made once and kept in your settings).",
        ),
    ] = None,
) -> None:
    """Export every session with its strokes, holds and warnings. Never replaces an earlier
    export unless you add --force.

    csv and parquet write sessions, strokes, holds and warnings tables (joined by session_id);
    jsonl writes one session per line with the rest nested. Parquet needs pyarrow. With
    --partitioned DIR, several people's histories go into one dataset for a clinic or a study
    (README: a DuckDB query over it).

    Example: tracker export --format parquet --partitioned ~/study-data --person P017
    """
    from tracker.history.export import export_partitioned, export_store
    from tracker.history.store import SessionStore

    if partitioned is not None:
        if (fmt is not None and fmt.lower() != "parquet") or out is not None:
            raise UsageError("--partitioned writes Parquet into its own DIR", hint="drop --format and --out")
        from tracker.settings import person_pseudonym

        who = person or person_pseudonym()
        with SessionStore(read_only=True) as store:
            written = export_partitioned(store, partitioned, person=who, force=force)
        print(f"{len(written)} file(s) for person={who} in {partitioned}")
        return
    if person is not None:
        raise UsageError("--person goes with --partitioned", hint="add --partitioned DIR, or drop --person")
    with SessionStore(read_only=True) as store:
        written = export_store(store, fmt or "csv", out, force=force)
    for path in written:
        print(path)


@app.command("report")
def report_command(
    weeks: Annotated[
        int, typer.Option("--weeks", min=1, max=520, help="How many weeks to show, up to this one.")
    ] = 12,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Directory for the charts and index.html (default <data dir>/report)."
        ),
    ] = None,
    week_start: Annotated[
        str | None,
        typer.Option("--week-start", help="First day of the week, e.g. monday or sunday (default: the week_start setting, monday)."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until", help="Last local date the report covers (YYYY-MM-DD; default today)."
        ),
    ] = None,
) -> None:
    """Write the weekly charts (PNG and SVG) and a self-contained HTML page, and say where.

    Example: tracker report --weeks 26 --out ~/rolling-report
    """
    import sys

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn

    from tracker.history.report import write_report
    from tracker.history.weekly import week_start_index
    from tracker.settings import load_guidance

    if week_start is not None:
        try:
            week_start_index(week_start)
        except ValueError as exc:
            raise UsageError(str(exc), hint="e.g. --week-start sunday") from None
    guidance = load_guidance(week_start=week_start.strip().lower() if week_start else None)
    end = _parse_date(until, "--until")
    from tracker.history.store import SessionStore

    console = Console(stderr=True)
    with SessionStore(read_only=True) as store:  # opened first: a damaged database is reported before any output
        if console.is_terminal:
            with Progress(
                TextColumn("{task.description}"), BarColumn(), console=console, transient=True
            ) as progress:
                task = progress.add_task("report", total=1)

                def on_progress(what: str, done: int, total: int) -> None:
                    progress.update(task, description=what, completed=done, total=total)

                report = write_report(
                    store, out, weeks=weeks, guidance=guidance, end=end, progress=on_progress
                )
        else:
            report = write_report(store, out, weeks=weeks, guidance=guidance, end=end)
    if report.empty_message:
        print(report.empty_message, file=sys.stderr)
    for path in report.files:
        print(path)
    print(f"report: {report.html}")
