"""Entry point of the `tracker` console script.

Exit statuses: 0 done; 1 the command could not do its job (a `TrackerError`, one line on stderr);
2 a usage error (unknown command or option, bad value: one line on stderr naming the command and
its `--help`); 130 interrupted by Ctrl-C. Output cut short by its reader (`tracker sessions | head
-1`) ends quietly with status 0: the reader has all it asked for, as with most Unix filters.
"""

# ruff: noqa: I001  the command modules are imported in data-flow order: it is the order of `--help`

from __future__ import annotations

import functools
import importlib
import os
import re
import sys
from typing import Any

import typer

from tracker.cli.app import app, tidy_help
from tracker.cli.logs import reset_logging
from tracker.errors import TrackerError

# Each module registers its commands on `app` when imported.
from tracker.cli import link_commands  # noqa: E402,F401  scan, pair
from tracker.cli import record_command  # noqa: E402,F401  record
from tracker.cli import playback_commands  # noqa: E402,F401  replay, emulate
from tracker.cli import analysis_commands  # noqa: E402,F401  analyze
from tracker.cli import history_commands  # noqa: E402,F401  import, sessions, show, export, report
from tracker.cli import demo_command  # noqa: E402,F401  demo
from tracker.cli import settings_commands  # noqa: E402,F401  config

# Click's exception classes, wherever this Typer version takes them from (recent Typer versions
# vendor Click; older ones use the click package). Click < 8.2 has no NoArgsIsHelpError.
_click_exceptions = importlib.import_module(typer.BadParameter.__module__)
_NO_ARGS_IS_HELP: Any = getattr(_click_exceptions, "NoArgsIsHelpError", ())


@functools.cache
def _command() -> Any:
    """The Click command tree, built once per process: Typer builds it from every command's
    signature and type hints, which costs more than many commands' own work when `run` is called
    again in one process (a notebook, the tests). Click makes a new context for each call."""
    return tidy_help(typer.main.get_command(app))


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit status (see the module docstring).

    Click's own error display (a four-line "Usage: … Try … Error: …" block) is replaced by one
    line; a `TrackerError` (a user's mistake or a problem they can fix) becomes one line and its
    own exit status; any other exception is a bug and keeps its traceback.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        command = _command()
        with command.make_context("tracker", args) as ctx:
            command.invoke(ctx)
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except _NO_ARGS_IS_HELP as exc:
        exc.show()
        return 2
    except _click_exceptions.UsageError as exc:
        print(f"tracker: error: {usage_error_line(exc)}", file=sys.stderr)
        return 2
    except _click_exceptions.ClickException as exc:
        print(f"tracker: error: {_sentence(exc.format_message())}", file=sys.stderr)
        return int(exc.exit_code)
    except typer.Abort:
        print("tracker: stopped", file=sys.stderr)
        return 1
    except TrackerError as exc:
        print(f"tracker: error: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("tracker: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except SystemExit as exc:
        # rich's Console ends with SystemExit(1) when its output pipe closes: that is a reader
        # that has read enough, not a failure.
        if isinstance(exc.__context__, BrokenPipeError):
            return 0
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    finally:
        reset_logging()
    return 0


def _sentence(text: str) -> str:
    """Click's message as a clause: lower-case start, no final full stop."""
    text = " ".join(text.split())
    text = re.sub(r"\.\s*Did you mean (.+)\?$", r" (did you mean \1?)", text)
    text = text.rstrip(".")
    if text[1:2].isupper():  # an acronym or a name: keep it
        return text
    return text[:1].lower() + text[1:]


def _param_label(param: Any) -> str:
    opts = [o for o in getattr(param, "opts", []) if o.startswith("--")] or list(getattr(param, "opts", []))
    if getattr(param, "param_type_name", "") == "option" and opts:
        return opts[0]
    return str(getattr(param, "name", "value") or "value").replace("_", " ")


def _bad_value_text(exc: Any) -> str | None:
    """The user's words for a BadParameter: from the validation error behind it, when there is one."""
    cause = exc.__cause__
    errors = getattr(cause, "errors", None)
    if not callable(errors):
        return None
    try:
        first = errors()[0]
    except (IndexError, TypeError, ValueError):
        return None
    label = _param_label(exc.param)
    value = first.get("input")
    limits = first.get("ctx") or {}
    kind = str(first.get("type", ""))
    is_option = label.startswith("-")
    shown = f"{label} {value}" if is_option else repr(value)
    if kind in ("int_parsing", "int_from_float"):
        return f"{shown} is not a whole number" if is_option else f"{shown} is not a valid {label} (a whole number)"
    if kind in ("float_parsing", "finite_number"):
        return f"{shown} is not a number" if is_option else f"{shown} is not a valid {label} (a number)"
    bounds = {"greater_than_equal": "at least {ge}", "greater_than": "more than {gt}", "less_than_equal": "at most {le}", "less_than": "less than {lt}"}
    if kind in bounds:
        return f"{label} must be {bounds[kind].format(**limits)}, not {value}"
    return None


def usage_error_line(exc: Any) -> str:
    """One line for a Click usage error: which command, what is wrong, where help is."""
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else "tracker"
    sub = path.split(" ", 1)[1] if " " in path else ""
    what: str | None = None
    if isinstance(exc, _click_exceptions.NoSuchOption):
        what = f"no such option {exc.option_name}"
        if exc.possibilities:
            what += f" (did you mean {' or '.join(sorted(exc.possibilities))}?)"
    elif isinstance(exc, _click_exceptions.MissingParameter):
        what = _sentence(exc.format_message())
    elif isinstance(exc, _click_exceptions.BadParameter) and exc.param is not None:
        what = _bad_value_text(exc)
        if what is None:
            what = f"bad {_param_label(exc.param)}: {_sentence(exc.format_message())}"
    if what is None:
        what = _sentence(exc.format_message())
    prefix = f"{sub}: " if sub else ""
    return f"{prefix}{what}; see {path} --help"


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not complain again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def main() -> None:
    """Console-script entry point."""
    import signal

    code = run()
    # The command is over and only exiting is left: a late Ctrl-C must not kill the process by
    # the signal (no message, status -2) after it has said it is done.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    sys.exit(code)


if __name__ == "__main__":
    main()
