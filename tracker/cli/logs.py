"""What log records reach the person at the terminal.

Without `-v`, tracker's own warnings are plain "note: …" lines on stderr (one line, no logger
name, no traceback), and the purely technical ones (byte-level decoding, the radio stack, the
emulator's insides; their counts show in `replay`'s decode line) stay hidden unless they are
errors. With `-v`, everything from INFO on is logged in full. Python's default ("WARNING:name:…"
from its last-resort handler) never shows.
"""

from __future__ import annotations

import logging
import sys

TECHNICAL = ("tracker.protocol", "tracker.ble", "tracker.emulator")
"""Loggers whose warnings only a developer can act on."""


class _StderrHandler(logging.Handler):
    """Writes to whatever `sys.stderr` is at the time (a rich Live view redirects it, tests capture it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = sys.stderr
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:  # noqa: BLE001  logging must never stop a command
            self.handleError(record)


class _NoteFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            text += f" ({type(exc).__name__}: {exc}; run with -v for the details)"
        return "note: " + " ".join(text.split())


def _shown_without_verbose(record: logging.LogRecord) -> bool:
    if record.levelno >= logging.ERROR:
        return True
    name = record.name
    return record.levelno >= logging.WARNING and (
        name == "tracker" or (name.startswith("tracker.") and not name.startswith(TECHNICAL))
    )


_installed: tuple[logging.Handler, int] | None = None


def configure_logging(verbose: bool) -> None:
    """Install the handler for this command (`reset_logging` removes it)."""
    global _installed
    reset_logging()
    root = logging.getLogger()
    handler = _StderrHandler()
    if verbose:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        level = logging.INFO
    else:
        handler.setFormatter(_NoteFormatter())
        handler.addFilter(_shown_without_verbose)
        level = logging.WARNING
    _installed = (handler, root.level)
    root.addHandler(handler)
    root.setLevel(min(level, root.level) if root.level != logging.NOTSET else level)


def reset_logging() -> None:
    """Remove the handler `configure_logging` installed, if any (tests run many commands in one process)."""
    global _installed
    if _installed is None:
        return
    handler, level = _installed
    _installed = None
    root = logging.getLogger()
    root.removeHandler(handler)
    root.setLevel(level)
