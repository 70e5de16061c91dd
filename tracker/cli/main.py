"""Entry point of the `tracker` console script."""

# ruff: noqa: I001  the command modules are imported in data-flow order: it is the order of `--help`

from __future__ import annotations

import sys

from tracker.cli.app import app
from tracker.errors import TrackerError

# Each module registers its commands on `app` when imported.
from tracker.cli import link_commands  # noqa: E402,F401  scan, pair, record, replay, emulate
from tracker.cli import analysis_commands  # noqa: E402,F401  analyze
from tracker.cli import history_commands  # noqa: E402,F401  import, sessions, show, export, report
from tracker.cli import demo_command  # noqa: E402,F401  demo
from tracker.cli import settings_commands  # noqa: E402,F401  config


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit status.

    Typer's standalone mode handles usage errors (exit 2) and --help; a `TrackerError` (a user's
    mistake or a problem they can fix) becomes one line on stderr and its own exit status; any
    other exception is a bug and keeps its traceback.
    """
    try:
        app(args=argv, prog_name="tracker")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except TrackerError as exc:
        print(f"tracker: error: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("tracker: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    return 0


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())


if __name__ == "__main__":
    main()
