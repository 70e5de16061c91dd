"""The session store: one SQLite file in the data directory, private to the user.

Why SQLite: embedded, no server, one file the user can back up, safe for several processes at once
(WAL journal, `BEGIN IMMEDIATE` write transactions, a busy timeout), and readable with any tool.

Guarantees:
- every write (a session with all its strokes, holds, warnings, ...) is one transaction;
- the same capture (sha256 of its bytes) is stored at most once: a second import reports the
  session that is already there and changes nothing; so is the same recording (same sensor
  address, start within half a second), e.g. a cut or damaged copy of a capture: the first stored wins;
- a damaged file (not SQLite, or failing `PRAGMA quick_check`) raises `DatabaseCorruptError` before
  anything is written to it; the file is left byte-for-byte as it was. Only that is "damaged": a
  full disk (or I/O error) while writing raises `DiskFullError`, a read-only data directory a
  "read-only" `StorageError` on the first write (reading still works), and neither changes anything;
- the file and its journals are created 0600 inside a 0700 directory.

Listing (`session_rows`) uses only the standard library so `tracker sessions` starts fast; the
DataFrame readers import pandas lazily.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracker import paths
from tracker.errors import DatabaseCorruptError, DiskFullError, StorageError, UsageError
from tracker.history import schema
from tracker.history.edits import SessionEdits
from tracker.history.timezones import as_utc, local_offset
from tracker.results import ActivitySpan, Hold, Phase, SessionAnalysis, Stroke, Uncertainty, Warning

if TYPE_CHECKING:
    import pandas as pd

SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 30_000
SAME_START_S = 0.01
"""Two sessions of one sensor starting closer than this are one recording. Copies of a capture give
the identical start (the host time of the first notification, stored to the microsecond); two real
sessions are minutes apart, and even the fixtures, which the emulator streamed back to back much
faster than real time, start 0.37 s apart: they stay two."""
_UTC_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_LOCAL_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"

# sqlite3 primary result codes (sqlite3.h)
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_READONLY = 8
_SQLITE_IOERR = 10
_SQLITE_CORRUPT = 11
_SQLITE_FULL = 13
_SQLITE_CANTOPEN = 14
_SQLITE_NOTADB = 26
_SQLITE_PERM = 3
_STORAGE_CODES = frozenset({_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_IOERR,
                            _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB})  # fmt: skip

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SessionRow:
    """One line of `tracker sessions`: the session's summary columns, no per-stroke data."""

    id: int
    start_utc: datetime
    utc_offset_s: int
    timezone: str | None
    duration_s: float
    on_roller_s: float
    rolling_s: float
    n_strokes: int
    n_holds: int
    n_warnings: int
    hold_s: float
    mean_pace_cm_s: float
    too_fast_fraction: float
    posture: str | None
    sensor_name: str | None
    capture_path: str | None
    mean_pace_pm_cm_s: float | None = None
    """± of the mean pace (schema v4; None for sessions analysed before)."""

    @property
    def start_local(self) -> datetime:
        """Start on the wall clock at the time (aware, fixed offset)."""
        return self.start_utc.astimezone(timezone(timedelta(seconds=self.utc_offset_s)))

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        if not self.n_strokes:  # no strokes, no pace (not a pace of 0)
            d["mean_pace_cm_s"] = d["too_fast_fraction"] = d["mean_pace_pm_cm_s"] = None
        d["start_utc"] = self.start_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
        d["start_local"] = self.start_local.isoformat(timespec="seconds")
        return d


@dataclass
class StoredSession:
    """A session as stored: when and where it happened, where it came from, and its analysis."""

    id: int
    start_utc: datetime
    utc_offset_s: int
    timezone: str | None
    analysis: SessionAnalysis
    sensor_address: str | None = None
    sensor_name: str | None = None
    capture_path: str | None = None
    capture_sha256: str | None = None
    imported_utc: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def start_local(self) -> datetime:
        return self.start_utc.astimezone(timezone(timedelta(seconds=self.utc_offset_s)))


_SESSION_ROW_COLUMNS = (
    "id, start_utc, utc_offset_s, timezone, duration_s, on_roller_s, rolling_s, n_strokes, n_holds, "
    "n_warnings, hold_s, mean_pace_cm_s, too_fast_fraction, posture, sensor_name, capture_path, "
    "mean_pace_pm_cm_s"
)


class SessionStore(SessionEdits):
    """Sessions in SQLite at `path` (default: `tracker.paths.database_path()`).

    Opening checks the file (never writing to a damaged one) and migrates an older schema. Use as a
    context manager or call `close()`.

    `read_only=True` (commands that only read: sessions, show, export, report) opens the file with
    SQLite's `mode=ro`: nothing is created, migrated or written, a missing database reads as empty,
    and a read-only data directory works. A store opened for writing whose file or directory turns
    out not to be writable is opened read-only too; its writes then raise a "read-only" error.

    Deleting and re-dating sessions (`delete_sessions`, `redate_session`) live in
    `tracker.history.edits`.
    """

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False) -> None:
        self.path = Path(path) if path is not None else paths.database_path()
        self.read_only = read_only
        self._write_error: StorageError | None = None  # why writes are refused, when they are
        self._conn = self._open()
        self._batch_depth = 0

    # --- opening ----------------------------------------------------------------------------
    def _corrupt(self, detail: str) -> DatabaseCorruptError:
        """The one-line "damaged" error; SQLite's full report goes to the log, not the message."""
        log.info("session database %s failed its check: %s", self.path, detail)
        short = " ".join(detail.split())
        if len(short) > 80:
            short = short[:77] + "..."
        captures = self.path.parent / "captures"
        return DatabaseCorruptError(
            f"session database {self.path} is damaged ({short}); it was left untouched",
            hint=(
                f"restore it from a backup, or move it aside (mv '{self.path}' '{self.path}.damaged') "
                f"and import your captures again: that brings back only sessions whose capture files "
                f"you still have (e.g. in {captures}), and CSV imports dated by their file times"
            ),
        )

    def _not_sqlite(self, head: bytes) -> DatabaseCorruptError:
        """A file in the database's place that is not SQLite at all (not "damaged" SQLite)."""
        from tracker.display import plain

        start = plain(head[:16].decode("latin-1"))
        return DatabaseCorruptError(
            f"session database {self.path} is not an SQLite database (it starts with {start!r}); it was left untouched",
            hint=(
                f"if it is a backup of your sessions in another form, restore the real one; otherwise move it "
                f"aside (mv '{self.path}' '{self.path}.not-sqlite') and import your captures again"
            ),
        )

    def _empty_error(self) -> StorageError:
        return StorageError(
            f"session database {self.path} is empty (0 bytes): it holds no sessions",
            hint=(
                "if you had sessions, restore it from a backup, or import your captures again; otherwise "
                "`tracker import FILE` or `tracker record` starts it afresh"
            ),
        )

    def _read_only_error(self) -> StorageError:
        return StorageError(
            f"the data directory {self.path.parent} is read-only: cannot write {self.path.name}",
            hint="make it writable, or choose another with --data-dir or TRACKER_HOME; nothing stored was changed",
        )

    def _full_error(self) -> DiskFullError:
        return DiskFullError(
            f"disk full (or I/O error) while writing {self.path}",
            hint="free some space and try again; nothing stored was changed",
        )

    def _writable(self) -> bool:
        """Whether the database (or, before it exists, its directory) can be written."""
        import os

        if not os.access(self.path.parent, os.W_OK):
            return False  # also the journals (-wal, -shm) live next to it
        return not self.path.exists() or os.access(self.path, os.W_OK)

    def _storage_error(self, exc: sqlite3.Error, *, writing: bool) -> StorageError:
        """The TrackerError for an SQLite failure: damaged only when SQLite says the file is."""
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
            return self._corrupt(str(exc))
        if code == _SQLITE_FULL or (code == _SQLITE_IOERR and writing and self._writable()):
            return self._full_error()
        if writing and (self.read_only or code == _SQLITE_READONLY or not self._writable()):
            return self._read_only_error()
        if code in (_SQLITE_BUSY, _SQLITE_LOCKED) or "locked" in str(exc):
            return StorageError(
                f"session database {self.path} stayed busy for {BUSY_TIMEOUT_MS // 1000} s",
                hint="another tracker process is writing; try again when it is done",
            )
        return StorageError(
            f"cannot {'write' if writing else 'read'} session database {self.path} ({exc})",
            hint="check the disk and the file's permissions; the database was not changed",
        )

    def _open(self) -> sqlite3.Connection:
        if self.path.exists():
            try:
                with self.path.open("rb") as fh:
                    head = fh.read(len(SQLITE_MAGIC))
            except OSError as exc:
                raise StorageError(
                    f"cannot read {self.path}: {exc.strerror}", hint="check its permissions"
                ) from exc
            if head and head != SQLITE_MAGIC:
                raise self._not_sqlite(head)
            if not head and (self.read_only or not self._writable()):
                raise self._empty_error()
            if self.read_only or not self._writable():
                # Reading needs no write access: a read-only mount still lists, shows, exports.
                self.read_only = True
                return self._open_read_only()
        elif self.read_only:
            return self._open_empty()
        paths.ensure_private_dir(self.path.parent)
        if not self._writable():
            raise self._read_only_error()
        try:
            with paths.private_umask():
                conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except sqlite3.Error as exc:
            raise self._storage_error(exc, writing=True) from exc
        conn.text_factory = _text
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            # Read-only checks first: nothing below writes until the file is known to be sound.
            try:
                self._check(conn)
            except StorageError as exc:
                cause = exc.__cause__
                code = getattr(cause, "sqlite_errorcode", 0) & 0xFF
                if code not in (_SQLITE_IOERR, _SQLITE_FULL, _SQLITE_CANTOPEN) or not self.path.exists():
                    raise
                # A full disk: SQLite cannot even make its shared-memory index. What is stored
                # can still be read; writes say the disk is full.
                conn.close()
                conn = self._open_read_only()
                self.read_only, self._write_error = True, self._full_error()
                return conn
            with paths.private_umask():
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = FULL")
                conn.execute("PRAGMA foreign_keys = ON")
                self._migrate(conn)
            if self.path.stat().st_mode & 0o077:
                self.path.chmod(0o600)
        except sqlite3.Error as exc:
            conn.close()
            raise self._storage_error(exc, writing=True) from exc
        except UnicodeDecodeError as exc:
            conn.close()
            raise self._corrupt("SQLite reports bytes that are not text") from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _check(self, conn: sqlite3.Connection) -> None:
        """Integrity (quick_check) and schema version, reading only."""
        conn.text_factory = _text
        try:
            problems = [r[0] for r in conn.execute("PRAGMA quick_check(3)").fetchall()]
        except sqlite3.DatabaseError as exc:
            raise self._storage_error(exc, writing=False) from exc
        except UnicodeDecodeError as exc:  # SQLite's own message quotes bytes that are not text
            raise self._corrupt("its schema holds bytes that are not text") from exc
        if problems != ["ok"]:
            log.info("PRAGMA quick_check of %s: %s", self.path, "; ".join(problems))
            raise self._corrupt("it fails SQLite's integrity check; --verbose shows where")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > schema.SCHEMA_VERSION:
            raise StorageError(
                f"session database {self.path} has schema version {version}, newer than this "
                f"tracker understands ({schema.SCHEMA_VERSION})",
                hint="upgrade tracker (pip install -U tracker); the database was not changed",
            )

    def _open_read_only(self, *, upgraded: bool = False) -> sqlite3.Connection:
        """Open without any write, and without creating anything beside the file.

        With no `-wal` file beside it, nobody is writing and everything is in the file itself:
        it is opened `immutable`, which creates no `-wal`/`-shm` files (plain `mode=ro` would,
        even for a damaged file). A damaged-looking result is read once more before it is called
        damaged, in case a writer that started meanwhile was folding its journal in. With a
        `-wal` file (a writer is at work, or crashed), `mode=ro` reads through it; on a read-only
        mount, where SQLite cannot make the WAL index, it falls back to `immutable`. A database
        of an older schema is upgraded first when it can be written (`upgraded`: that was done)."""
        from urllib.parse import quote

        uri = f"file:{quote(str(self.path.resolve()))}?mode=ro"
        wal = self.path.with_name(self.path.name + "-wal")
        tries = ("", "&immutable=1") if wal.exists() else ("&immutable=1", "&immutable=1")
        conn = None
        last: sqlite3.Error | None = None
        for attempt, suffix in enumerate(tries):
            try:
                conn = sqlite3.connect(uri + suffix, uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                                       isolation_level=None)  # fmt: skip
                conn.text_factory = _text
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                self._check(conn)
                break
            except StorageError as exc:
                if conn is not None:
                    conn.close()
                conn = None
                cause = exc.__cause__
                code = getattr(cause, "sqlite_errorcode", 0) & 0xFF
                retry = code in (_SQLITE_CANTOPEN, _SQLITE_READONLY, _SQLITE_IOERR) or isinstance(exc, DatabaseCorruptError)
                if attempt == len(tries) - 1 or not retry:
                    raise
                if isinstance(exc, DatabaseCorruptError):
                    import time

                    time.sleep(0.1)  # a writer's checkpoint takes milliseconds
                last = cause if isinstance(cause, sqlite3.Error) else None
            except sqlite3.Error as exc:
                if conn is not None:
                    conn.close()
                conn, last = None, exc
        if conn is None:
            assert last is not None
            raise self._storage_error(last, writing=False) from last
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version < schema.SCHEMA_VERSION:
            conn.close()
            if self._writable() and not upgraded:
                # A newer tracker on an older database: upgrade it once (each step one
                # transaction, see `_migrate`), then read as asked.
                SessionStore(self.path).close()
                return self._open_read_only(upgraded=True)
            raise StorageError(
                f"session database {self.path} has the older schema version {version} and must be "
                "upgraded, which needs write access",
                hint=f"make the data directory writable ({self.path.parent}) and run any tracker command once; nothing was changed",
            )
        return conn

    def _open_empty(self) -> sqlite3.Connection:
        """Read-only and no database yet: an empty one in memory (nothing is created on disk)."""
        conn = sqlite3.connect(":memory:", isolation_level=None)
        self._migrate(conn)
        return conn

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
        while conn.execute("PRAGMA user_version").fetchone()[0] < schema.SCHEMA_VERSION:
            conn.execute("BEGIN IMMEDIATE")
            try:
                # Re-read under the write lock: another process may have migrated meanwhile.
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version < schema.SCHEMA_VERSION:
                    schema.MIGRATIONS[version](conn)
                    conn.execute(f"PRAGMA user_version = {version + 1}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _errors(self, *, writing: bool = False) -> Iterator[None]:
        """Map SQLite failures a user can act on to TrackerErrors."""
        try:
            yield
        except UnicodeDecodeError as exc:  # SQLite quoting damaged bytes in its message
            raise self._corrupt("SQLite reports bytes that are not text") from exc
        except sqlite3.Error as exc:
            code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
            if code not in _STORAGE_CODES and "locked" not in str(exc):
                raise  # a bug (bad SQL, wrong arguments), not the disk or the file
            raise self._storage_error(exc, writing=writing) from exc

    # --- writing ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def batch(self) -> Iterator[SessionStore]:
        """Group several `add_session` calls into one transaction (all or nothing; fast bulk load)."""
        if self._batch_depth:
            self._batch_depth += 1
            try:
                yield self
            finally:
                self._batch_depth -= 1
            return
        if self.read_only:
            raise self._write_error or self._read_only_error()
        with self._errors(writing=True):
            self._conn.execute("BEGIN IMMEDIATE")
        self._batch_depth = 1
        try:
            yield self
        except BaseException:
            self._batch_depth = 0
            if self._conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
            raise
        self._batch_depth = 0
        try:
            with self._errors(writing=True):
                self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
            raise

    def session_id_for_checksum(self, checksum: str) -> int | None:
        """The session stored from the capture with this sha256, if any."""
        with self._errors():
            row = self._conn.execute(
                "SELECT id FROM sessions WHERE capture_sha256 = ?", (checksum,)
            ).fetchone()
        return int(row[0]) if row else None

    def session_for_recording(
        self, sensor_address: str | None, start_utc: datetime
    ) -> tuple[int, float] | None:
        """(id, duration_s) of the stored session recorded by this sensor starting within
        `SAME_START_S` of `start_utc`, if any: the same recording (a copy, a cut copy or a damaged
        copy of one capture has a different checksum but the same sensor and start; a sensor streams
        one session at a time). None without a sensor address (CSV files)."""
        if not sensor_address:
            return None
        start = as_utc(start_utc)
        lo = (start - timedelta(seconds=SAME_START_S)).strftime(_UTC_FORMAT)
        hi = (start + timedelta(seconds=SAME_START_S)).strftime(_UTC_FORMAT)
        with self._errors():
            row = self._conn.execute(
                "SELECT id, duration_s FROM sessions WHERE start_utc > ? AND start_utc < ? "
                "AND sensor_address = ? ORDER BY id LIMIT 1",
                (lo, hi, sensor_address),
            ).fetchone()
        return (int(row[0]), float(row[1])) if row else None

    def add_session(
        self,
        analysis: SessionAnalysis,
        *,
        start_utc: datetime,
        utc_offset_s: int | None = None,
        timezone: str | None = None,
        sensor: Mapping[str, Any] | str | None = None,
        capture_path: str | Path | None = None,
        checksum: str | None = None,
        content_checksum: str | None = None,
    ) -> tuple[int, bool]:
        """Store one analysed session; returns (session id, created).

        `start_utc` is the wall-clock time of the first sample (timezone-aware). `utc_offset_s`
        and `timezone` describe local time then; missing ones are worked out from `timezone` or
        from this computer's zone. `sensor` is {"address": ..., "name": ...} or just a name.
        `checksum` is the sha256 (hex) of the capture's bytes: when a session with the same
        checksum exists, or one from the same sensor address starting within `SAME_START_S` (the same
        recording, see `session_for_recording`), nothing is written and (its id, False) is returned.
        So it is when `content_checksum` (`tracker.history.edits.samples_sha256`: the same samples,
        whatever the file's bytes) matches a stored session.
        """
        start = as_utc(start_utc)
        if utc_offset_s is None:
            utc_offset_s, timezone = local_offset(start, timezone)
        if isinstance(sensor, str):
            sensor = {"name": sensor}
        sensor = dict(sensor or {})
        session_row = _session_values(
            analysis,
            start=start,
            utc_offset_s=int(utc_offset_s),
            tz_name=timezone,
            sensor_address=_opt_str(sensor.get("address")),
            sensor_name=_opt_str(sensor.get("name")),
            capture_path=str(capture_path) if capture_path is not None else None,
            checksum=checksum,
        )
        session_row["content_sha256"] = content_checksum
        with self._errors(writing=True), self.batch():
            for existing in (
                self.session_id_for_checksum(checksum) if checksum is not None else None,
                self.session_id_for_content(content_checksum) if content_checksum is not None else None,
            ):
                if existing is not None:
                    return existing, False
            same = self.session_for_recording(session_row["sensor_address"], start)
            if same is not None:
                return same[0], False
            columns = ", ".join(session_row)
            marks = ", ".join("?" for _ in session_row)
            cur = self._conn.execute(
                f"INSERT INTO sessions ({columns}) VALUES ({marks})", tuple(session_row.values())
            )
            sid = int(cur.lastrowid)
            self._insert_children(sid, analysis)
        return sid, True

    def _insert_children(self, sid: int, a: SessionAnalysis) -> None:
        c = self._conn
        c.executemany(
            "INSERT INTO strokes (session_id, idx, start_s, end_s, distance_cm, pace_cm_s, region, "
            "direction, posture, start_cm, end_cm, pace_pm_cm_s, snr) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    sid, i, s.start_s, s.end_s, s.distance_cm, s.pace_cm_s, s.region, s.direction,
                    s.posture, s.start_cm, s.end_cm, s.pace_pm_cm_s, s.snr,
                )  # fmt: skip
                for i, s in enumerate(a.strokes)
            ],
        )
        c.executemany(
            "INSERT INTO holds (session_id, idx, start_s, end_s, duration_s, position_cm, region, "
            "position_pm_cm) VALUES (?,?,?,?,?,?,?,?)",
            [
                (sid, i, h.start_s, h.end_s, h.duration_s, h.position_cm, h.region, h.position_pm_cm)
                for i, h in enumerate(a.holds)
            ],
        )
        c.executemany(
            "INSERT INTO warnings VALUES (?,?,?,?,?,?,?)",
            [
                (sid, i, w.kind, w.start_s, w.end_s, w.message, w.value)
                for i, w in enumerate(a.warnings)
            ],
        )
        c.executemany(
            "INSERT INTO phases VALUES (?,?,?,?,?)",
            [(sid, i, p.kind, p.start_s, p.end_s) for i, p in enumerate(a.phases)],
        )
        c.executemany(
            "INSERT INTO region_times VALUES (?,?,?)",
            [(sid, region, float(seconds)) for region, seconds in a.region_time_s.items()],
        )
        if a.position_track:
            import numpy as np

            points = np.asarray(a.position_track, dtype="<f4").reshape(len(a.position_track), -1)[
                :, :2
            ]
            c.execute(
                "INSERT INTO position_tracks VALUES (?,?,?)",
                (sid, len(points), np.ascontiguousarray(points).tobytes()),
            )

    # --- reading, standard library only ---------------------------------------------------------
    def session_rows(
        self, since: date | None = None, until: date | None = None
    ) -> list[SessionRow]:
        """Sessions whose local start date lies in [since, until] (both optional), oldest first."""
        where, args = _date_filter(since, until)
        with self._errors():
            rows = self._conn.execute(
                f"SELECT {_SESSION_ROW_COLUMNS} FROM sessions{where} ORDER BY start_utc, id", args
            ).fetchall()
        return [
            SessionRow(
                id=r[0],
                start_utc=_parse_utc(r[1]),
                utc_offset_s=r[2],
                timezone=r[3],
                duration_s=r[4],
                on_roller_s=r[5],
                rolling_s=r[6],
                n_strokes=r[7],
                n_holds=r[8],
                n_warnings=r[9],
                hold_s=r[10],
                mean_pace_cm_s=r[11],
                too_fast_fraction=r[12],
                posture=r[13],
                sensor_name=r[14],
                capture_path=r[15],
                mean_pace_pm_cm_s=r[16],
            )
            for r in rows
        ]

    def count(self) -> int:
        with self._errors():
            return int(self._conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])

    def session(self, session_id: int) -> StoredSession:
        """One session with its full analysis; `UsageError` when there is no such id."""
        c = self._conn
        with self._errors():
            c.row_factory = sqlite3.Row
            try:
                row = c.execute(
                    "SELECT * FROM sessions WHERE id = ?", (int(session_id),)
                ).fetchone()
                if row is None:
                    raise UsageError(
                        f"no session {session_id}",
                        hint="list the stored sessions with `tracker sessions`",
                    )
                strokes = c.execute(
                    "SELECT start_s, end_s, distance_cm, pace_cm_s, region, direction, posture, start_cm, end_cm, "
                    "pace_pm_cm_s, snr "
                    "FROM strokes WHERE session_id = ? ORDER BY idx",
                    (session_id,),
                ).fetchall()
                holds = c.execute(
                    "SELECT start_s, end_s, duration_s, position_cm, region, position_pm_cm FROM holds "
                    "WHERE session_id = ? ORDER BY idx",
                    (session_id,),
                ).fetchall()
                warnings = c.execute(
                    "SELECT kind, start_s, end_s, message, value FROM warnings WHERE session_id = ? ORDER BY idx",
                    (session_id,),
                ).fetchall()
                phases = c.execute(
                    "SELECT kind, start_s, end_s FROM phases WHERE session_id = ? ORDER BY idx",
                    (session_id,),
                ).fetchall()
                regions = c.execute(
                    "SELECT region, seconds FROM region_times WHERE session_id = ?", (session_id,)
                ).fetchall()
                track = c.execute(
                    "SELECT n_points, points_f32 FROM position_tracks WHERE session_id = ?",
                    (session_id,),
                ).fetchone()
            finally:
                c.row_factory = None
        analysis = SessionAnalysis(
            duration_s=row["duration_s"],
            on_roller_s=row["on_roller_s"],
            rolling_s=row["rolling_s"],
            strokes=[Stroke(**dict(s)) for s in strokes],
            holds=[Hold(**dict(h)) for h in holds],
            warnings=[Warning(**dict(w)) for w in warnings],
            phases=[Phase(**dict(p)) for p in phases],
            region_time_s={r["region"]: r["seconds"] for r in regions},
            position_track=_decode_track(track) if track else [],
            posture=row["posture"],
            parameters=json.loads(row["parameters_json"]),
            tracker_version=row["tracker_version"],
            notes=json.loads(row["notes_json"]),
            other_activities=[ActivitySpan(**x) for x in json.loads(row["other_activities_json"] or "[]")],
            uncertainty=Uncertainty.from_json(json.loads(row["uncertainty_json"])) if row["uncertainty_json"] else None,
        )
        return StoredSession(
            id=row["id"],
            start_utc=_parse_utc(row["start_utc"]),
            utc_offset_s=row["utc_offset_s"],
            timezone=row["timezone"],
            analysis=analysis,
            sensor_address=row["sensor_address"],
            sensor_name=row["sensor_name"],
            capture_path=row["capture_path"],
            capture_sha256=row["capture_sha256"],
            imported_utc=_parse_utc(row["imported_utc"]),
        )

    # --- reading into pandas ----------------------------------------------------------------
    def sessions(self, since: date | None = None, until: date | None = None) -> pd.DataFrame:
        """One row per session (index `id`), oldest first.

        Columns: start_utc (datetime64, UTC), start_local (naive wall-clock time then),
        utc_offset_s, timezone, sensor_address, sensor_name, duration_s, on_roller_s, rolling_s,
        stroke_s, n_strokes, n_holds, n_warnings, hold_s, mean_pace_cm_s, mean_pace_pm_cm_s (its
        ±, NULL before schema v4), position_pm_cm (the ± of positions), too_fast_fraction,
        posture, tracker_version, parameters_json, capture_path, capture_sha256, and one
        `region_<name>_s` column per region (seconds; 0 when the session never reached it).
        """
        import pandas as pd

        from tracker.guidance import REGIONS

        where, args = _date_filter(since, until)
        with self._errors():
            df = pd.read_sql_query(
                "SELECT id, start_utc, start_local, utc_offset_s, timezone, sensor_address, sensor_name, "
                "duration_s, on_roller_s, rolling_s, stroke_s, n_strokes, n_holds, n_warnings, hold_s, "
                "mean_pace_cm_s, mean_pace_pm_cm_s, position_pm_cm, too_fast_fraction, posture, "
                "tracker_version, parameters_json, "
                f"capture_path, capture_sha256 FROM sessions{where} ORDER BY start_utc, id",
                self._conn,
                params=args,
            )
            regions = pd.read_sql_query(
                f"SELECT session_id, region, seconds FROM region_times WHERE session_id IN "
                f"(SELECT id FROM sessions{where})",
                self._conn,
                params=args,
            )
        df["start_utc"] = pd.to_datetime(df["start_utc"], format=_UTC_FORMAT, utc=True)
        df["start_local"] = pd.to_datetime(df["start_local"], format=_LOCAL_FORMAT)
        df = df.set_index("id")
        wide = regions.pivot_table(
            index="session_id", columns="region", values="seconds", aggfunc="sum"
        )
        for name in dict.fromkeys([*REGIONS, *wide.columns]):
            col = wide[name] if name in wide.columns else None
            df[f"region_{name}_s"] = col.reindex(df.index).fillna(0.0) if col is not None else 0.0
        return df

    def _child_frame(
        self, table: str, columns: str, since: date | None, until: date | None
    ) -> pd.DataFrame:
        import pandas as pd

        where, args = _date_filter(since, until)
        with self._errors():
            return pd.read_sql_query(
                f"SELECT session_id, {columns} FROM {table} "
                f"WHERE session_id IN (SELECT id FROM sessions{where}) ORDER BY session_id, idx",
                self._conn,
                params=args,
            )

    def strokes(self, since: date | None = None, until: date | None = None) -> pd.DataFrame:
        """All strokes (one row each, with `session_id`) of sessions in the date range."""
        return self._child_frame(
            "strokes",
            "idx, start_s, end_s, end_s - start_s AS duration_s, distance_cm, pace_cm_s, region, direction, "
            "posture, start_cm, end_cm, pace_pm_cm_s, snr",
            since,
            until,
        )

    def stroke_paces(self, since: date | None = None, until: date | None = None) -> pd.DataFrame:
        """Lean stroke table for weekly numbers: session_id, pace_cm_s, duration_s (fast on 100k rows)."""
        import numpy as np
        import pandas as pd

        where, args = _date_filter(since, until)
        with self._errors():
            rows = self._conn.execute(
                "SELECT session_id, pace_cm_s, end_s - start_s FROM strokes "
                f"WHERE session_id IN (SELECT id FROM sessions{where})",
                args,
            ).fetchall()
        arr = np.array(rows, dtype=float).reshape(-1, 3)
        return pd.DataFrame(
            {
                "session_id": arr[:, 0].astype(np.int64),
                "pace_cm_s": arr[:, 1],
                "duration_s": arr[:, 2],
            }
        )

    def holds(self, since: date | None = None, until: date | None = None) -> pd.DataFrame:
        return self._child_frame(
            "holds", "idx, start_s, end_s, duration_s, position_cm, region, position_pm_cm", since, until
        )

    def warnings(self, since: date | None = None, until: date | None = None) -> pd.DataFrame:
        return self._child_frame(
            "warnings", "idx, kind, start_s, end_s, message, value", since, until
        )

    def export(self, fmt: str, out: str | Path | None = None) -> list[Path]:
        """Write sessions, strokes, holds and warnings as csv, parquet or jsonl; see `tracker.history.export`."""
        from tracker.history.export import export_store

        return export_store(self, fmt, out)


# --- helpers ------------------------------------------------------------------------------------
def _text(raw: bytes) -> str:
    """Text columns as str, damaged bytes shown as U+FFFD rather than raising mid-query."""
    return raw.decode("utf-8", errors="replace")


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _parse_utc(text: str) -> datetime:
    return datetime.strptime(text, _UTC_FORMAT).replace(tzinfo=UTC)


def _decode_track(track: tuple[int, bytes]) -> list[tuple[float, float]]:
    import numpy as np

    n, blob = track
    points = np.frombuffer(blob, dtype="<f4")
    if points.size != 2 * n:
        raise DatabaseCorruptError(
            f"a stored position track holds {points.size} values, expected {2 * n}",
            hint="restore the database from a backup; it was left untouched",
        )
    return [(float(t), float(x)) for t, x in points.reshape(n, 2).astype(float)]


def _date_filter(since: date | None, until: date | None) -> tuple[str, tuple[str, ...]]:
    """SQL WHERE on the local start date, `until` inclusive."""
    clauses: list[str] = []
    args: list[str] = []
    if since is not None:
        clauses.append("start_local >= ?")
        args.append(since.strftime("%Y-%m-%dT00:00:00"))
    if until is not None:
        clauses.append("start_local < ?")
        args.append((until + timedelta(days=1)).strftime("%Y-%m-%dT00:00:00"))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(args)


def _session_values(
    a: SessionAnalysis,
    *,
    start: datetime,
    utc_offset_s: int,
    tz_name: str | None,
    sensor_address: str | None,
    sensor_name: str | None,
    capture_path: str | None,
    checksum: str | None,
) -> dict[str, Any]:
    guidance = a.parameters.get("guidance", {}) if isinstance(a.parameters, dict) else {}
    too_fast = float(guidance.get("too_fast_pace_cm_s", 5.0))
    u = a.uncertainty
    local = (start + timedelta(seconds=utc_offset_s)).replace(tzinfo=None)
    return {
        "start_utc": start.strftime(_UTC_FORMAT),
        "start_local": local.strftime(_LOCAL_FORMAT),
        "utc_offset_s": utc_offset_s,
        "timezone": tz_name,
        "sensor_address": sensor_address,
        "sensor_name": sensor_name,
        "duration_s": float(a.duration_s),
        "on_roller_s": float(a.on_roller_s),
        "rolling_s": float(a.rolling_s),
        "stroke_s": float(sum(s.duration_s for s in a.strokes)),
        "n_strokes": len(a.strokes),
        "n_holds": len(a.holds),
        "n_warnings": len(a.warnings),
        "hold_s": float(sum(h.duration_s for h in a.holds)),
        "mean_pace_cm_s": float(a.mean_pace_cm_s),
        "mean_pace_pm_cm_s": None if u is None else u.mean_pace_pm_cm_s,
        "position_pm_cm": None if u is None else u.position_pm_cm,
        "uncertainty_json": None if u is None else json.dumps(u.to_json(), sort_keys=True),
        "other_activities_json": json.dumps([asdict(x) for x in a.other_activities]),
        "too_fast_fraction": float(a.too_fast_fraction(too_fast)),
        "posture": a.posture,
        "tracker_version": a.tracker_version,
        "parameters_json": json.dumps(a.parameters, sort_keys=True, default=str),
        "notes_json": json.dumps(list(a.notes)),
        "capture_path": capture_path,
        "capture_sha256": checksum,
        "imported_utc": datetime.now(tz=UTC).strftime(_UTC_FORMAT),
    }
