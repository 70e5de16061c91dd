"""The Typer application and the options every command shares.

Typer (on Click) gives typed options, `--help` on every command and shell completion, and rich
renders tables and progress; both are well kept and save hand-written argument parsing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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


_METAVAR_OF_TYPE = {"path": "PATH", "int": "N", "integer": "N", "float": "NUMBER", "str": "TEXT", "text": "TEXT"}


def tidy_help(command: Any) -> Any:
    """Give `--help` the names people read, not Typer's Python types.

    Typer writes an argument as `{capture}` in the usage line and `files... <list[Path]>` in the
    list, and an option's value as `<float range>`. Here an argument is its metavar or its name in
    capitals (`CAPTURE`, `FILE...`, `[NAME]`) and an option without a metavar shows a plain word
    (`PATH`, `N`, `NUMBER`, `TEXT`). Changes only how help is written; parsing is untouched.
    """
    for sub in getattr(command, "commands", {}).values():
        tidy_help(sub)
    for param in getattr(command, "params", []):
        if getattr(param, "param_type_name", "") == "argument":
            _tidy_argument(param)
        elif param.metavar is None and not getattr(param, "is_flag", False):
            param.metavar = _METAVAR_OF_TYPE.get(_value_kind(param))
    return command


def _value_kind(param: Any) -> str:
    """"path", "int", "float", "str" (Typer's type descriptor), or Click's type name."""
    descriptor = getattr(param, "type_descriptor", None)  # Typer >= 0.17
    if descriptor is not None:
        if descriptor.is_path:
            return "path"
        return str(getattr(descriptor.annotation, "__name__", ""))
    name = str(getattr(getattr(param, "type", None), "name", ""))  # Click's: "integer range"
    return name.removesuffix(" range")


def _tidy_argument(param: Any) -> None:
    name = param.metavar or str(param.name).upper()
    many = param.nargs != 1
    usage = name + ("..." if many and not name.endswith("...") else "")
    if not param.required and not usage.startswith("["):
        usage = f"[{usage}]"
    param.metavar = usage
    # instance attributes: this one parameter's help, not Typer's class
    param.get_usage_pieces = lambda ctx: [usage]
    param.display_type_rich = lambda ctx: None
