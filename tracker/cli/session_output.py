"""What `tracker record` and `tracker replay` do with a session: show it live, analyse it for
its summary, store it in the history (once per capture)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def live_feed(
    rate_hz: float, calibration: Any, quiet: bool, *, connection: str = "connecting", has_gyro: bool = True
) -> Any:
    """The live coaching view fed block by block (record --live, replay --live)."""
    from rich.console import Console

    from tracker.live.feed import LiveFeed
    from tracker.live.streaming import LiveSession
    from tracker.live.view import LiveView
    from tracker.settings import load_guidance

    session = LiveSession(load_guidance(), float(rate_hz), calibration, has_gyro=has_gyro)
    feed = LiveFeed(session, LiveView(Console(), quiet=quiet))
    feed.session.set_link(connection=connection)
    feed.view.set_state(feed.session.state)  # the first frame: this session, this connection
    return feed


def analyse_for_summary(path: Path) -> tuple[Any, Any, str | None]:
    """The just-recorded session analysed for its summary: (analysis, recording, None), or
    (None, None, why not) when it cannot be (too short, never on the roller); the capture is kept
    either way."""
    from tracker.analysis import analyze
    from tracker.analysis.io import load_recording
    from tracker.errors import TrackerError
    from tracker.settings import load_guidance

    try:
        recording = load_recording(path)
        return analyze(recording, guidance=load_guidance()), recording, None
    except TrackerError as exc:
        return None, None, exc.one_line()
    except ValueError as exc:
        return None, None, f"the recording cannot be analysed ({exc})"
    except MemoryError:
        return None, None, "not enough memory to analyse this recording"


def store_in_history(capture_path: Path, analysis: Any = None, recording: Any = None) -> str:
    """Store the session of this capture in the history, exactly once; return a line for the user.

    `tracker record` and `tracker replay` pass their analysis and recording; without them the
    capture is loaded and analysed like `tracker import` would. The capture's checksum makes a
    second store of the same file a no-op. A capture that cannot be analysed (too short, never on
    the roller) stays where it is and is not stored; the line says why. When the history cannot be
    written (read-only or full data directory, damaged database) a `StorageError` says so and how
    to store the kept capture later.
    """
    import sqlite3

    from tracker import paths
    from tracker.errors import StorageError, TrackerError
    from tracker.history import SessionStore
    from tracker.history.ingest import FAILED, SKIPPED, import_file, store_analysis

    session_id: int | None
    later = f"the capture is kept: store it later with: tracker import {capture_path}"
    try:
        with SessionStore() as store:
            if analysis is not None and recording is not None:
                session_id, created = store_analysis(store, analysis, recording, capture_path=capture_path)
            else:
                from tracker.settings import load_guidance

                outcome = import_file(store, capture_path, guidance=load_guidance())
                if outcome.status == FAILED:
                    return f"not stored in the history: {outcome.reason}"
                if outcome.status == SKIPPED:
                    return f"not stored in the history: {outcome.reason} (the capture is kept)"
                session_id, created = outcome.session_id, outcome.status != "already imported"
    except StorageError as exc:
        exc.hint = f"{exc.hint}; {later}" if exc.hint else later
        raise
    except TrackerError as exc:
        # the recording itself is not a session (e.g. never on the roller): nothing to store
        line = exc.one_line()
        return line if line.startswith("not stored") else f"not stored in the history: {line}"
    except (sqlite3.Error, OSError) as exc:
        # e.g. "attempt to write a readonly database": the place, not the session, is the problem
        raise StorageError(
            f"cannot store the session in the history ({exc})",
            hint=f"check that {paths.data_dir()} is writable and has free space; {later}",
        ) from exc
    if created:
        return f"stored as session {session_id} (see `tracker show {session_id}`)"
    return f"already in the history as session {session_id}"
