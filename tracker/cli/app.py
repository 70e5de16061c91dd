"""The Typer application and the options every command shares.

Typer (on Click) gives typed options, `--help` on every command and shell completion, and rich
renders tables and progress; both are well kept and save hand-written argument parsing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="tracker",
    help=(
        "Foam-rolling session tracker: pair a torso IMU, record and replay sessions, analyse rolling "
        "pace and holds, and chart your weeks.\n\n"
        "Example: tracker demo"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        from tracker import __version__

        typer.echo(f"tracker {__version__}")
        raise typer.Exit()


@app.callback()
def _global_options(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Where sessions, captures and settings live (default: $TRACKER_HOME or the user data directory).",
            envvar=None,
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log details to stderr.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    from tracker import paths
    from tracker.cli.logs import configure_logging

    paths.set_data_dir(data_dir)
    configure_logging(verbose)
