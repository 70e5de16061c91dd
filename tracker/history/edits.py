"""Changing the history by hand: taking sessions out, re-dating one, and knowing a recording by
its samples.

`SessionEdits` is a part of `tracker.history.store.SessionStore` (a mixin: the store's file
stays about storing and reading). Every change is one transaction: a delete takes the session
and all its strokes, holds, warnings, phases, region times and position track, or nothing. A
delete never touches the capture file the session came from: `tracker import CAPTURE` brings the
session back.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tracker.errors import UsageError
from tracker.history.timezones import as_utc, local_offset

if TYPE_CHECKING:
    from tracker.history.store import SessionRow, SessionStore
    from tracker.imu import ImuRecording

CHILD_TABLES = ("strokes", "holds", "warnings", "phases", "region_times", "position_tracks")
"""Every table whose rows belong to one session (`session_id`)."""

_UTC_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_LOCAL_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"


def samples_sha256(recording: ImuRecording) -> str:
    """sha256 (hex) of a recording's samples: times from its first sample, acceleration and
    rotation rate, as little-endian float64. Two files with the same samples (a capture re-saved
    with another header, a CSV with other line endings) are the same recording."""
    import numpy as np

    digest = hashlib.sha256()
    t = np.asarray(recording.t_s, dtype="<f8")
    digest.update((t - t[0] if len(t) else t).tobytes())
    digest.update(np.ascontiguousarray(recording.acc_m_s2, dtype="<f8").tobytes())
    digest.update(np.ascontiguousarray(recording.gyr_rad_s, dtype="<f8").tobytes())
    return digest.hexdigest()


class SessionEdits:
    """Deleting and re-dating sessions; see the module docstring."""

    if TYPE_CHECKING:  # provided by SessionStore
        _conn: sqlite3.Connection

        def batch(self) -> contextlib.AbstractContextManager[SessionStore]: ...
        def _errors(self, *, writing: bool = False) -> contextlib.AbstractContextManager[None]: ...
        def session_rows(self, since: Any = None, until: Any = None) -> list[SessionRow]: ...

    def session_id_for_content(self, content_sha256: str) -> int | None:
        """The session stored from a recording with these samples (`samples_sha256`), if any."""
        with self._errors():
            row = self._conn.execute(
                "SELECT id FROM sessions WHERE content_sha256 = ?", (content_sha256,)
            ).fetchone()
        return int(row[0]) if row else None

    def rows_for(self, session_ids: Sequence[int]) -> list[SessionRow]:
        """The listing rows of these sessions, in the order asked; `UsageError` naming every id
        that is not stored."""
        wanted = [int(i) for i in session_ids]
        rows = {r.id: r for r in self.session_rows() if r.id in set(wanted)}
        missing = [i for i in wanted if i not in rows]
        if missing:
            what = "no session" if len(missing) == 1 else "no sessions"
            raise UsageError(
                f"{what} {', '.join(map(str, missing))}",
                hint="list the stored sessions with `tracker sessions`; nothing was changed",
            )
        return [rows[i] for i in dict.fromkeys(wanted)]

    def delete_sessions(self, session_ids: Sequence[int]) -> list[SessionRow]:
        """Remove these sessions and everything stored with them, all in one transaction, and
        return what they were. If any id is not stored, nothing is deleted (`UsageError`).
        Capture files are left where they are."""
        rows = self.rows_for(session_ids)
        ids = [(r.id,) for r in rows]
        with self._errors(writing=True), self._changing():
            for table in CHILD_TABLES:
                self._conn.executemany(f"DELETE FROM {table} WHERE session_id = ?", ids)
            self._conn.executemany("DELETE FROM sessions WHERE id = ?", ids)
        return rows

    def redate_session(
        self, session_id: int, start_utc: datetime, *, timezone: str | None = None
    ) -> SessionRow:
        """Move a session to start at `start_utc` (aware). Its local time is taken in `timezone`,
        else the zone stored with the session, else this computer's; returns the updated row."""
        (row,) = self.rows_for([session_id])
        start = as_utc(start_utc)
        offset, name = local_offset(start, timezone or row.timezone)
        local = (start + timedelta(seconds=offset)).replace(tzinfo=None)
        with self._errors(writing=True), self._changing():
            self._conn.execute(
                "UPDATE sessions SET start_utc = ?, start_local = ?, utc_offset_s = ?, timezone = ? "
                "WHERE id = ?",
                (start.strftime(_UTC_FORMAT), local.strftime(_LOCAL_FORMAT), int(offset), name, row.id),
            )
        (updated,) = self.rows_for([row.id])
        return updated

    @contextlib.contextmanager
    def _changing(self) -> Iterator[None]:
        """One write transaction (`batch`): all of a change, or none of it."""
        with self.batch():
            yield
