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

from tracker.errors import DatabaseCorruptError, UsageError
from tracker.history.database import SessionDatabase
from tracker.history.edits import SessionEdits
from tracker.history.timezones import as_utc, local_offset
from tracker.results import (
    ActivitySpan,
    Hold,
    Phase,
    SessionAnalysis,
    SessionWarning,
    Stroke,
    Uncertainty,
)

if TYPE_CHECKING:
    import pandas as pd

SAME_START_S = 0.01
"""Two sessions of one sensor starting closer than this are one recording. Copies of a capture give
the identical start (the host time of the first notification, stored to the microsecond); two real
sessions are minutes apart, and even the fixtures, which the emulator streamed back to back much
faster than real time, start 0.37 s apart: they stay two."""
_UTC_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_LOCAL_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"

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


class SessionStore(SessionDatabase, SessionEdits):
    """Sessions in SQLite at `path` (default: `tracker.paths.database_path()`).

    Opening checks the file (never writing to a damaged one) and migrates an older schema
    (`tracker.history.database`). Use as a context manager or call `close()`.

    `read_only=True` (commands that only read: sessions, show, export, report) opens the file with
    SQLite's `mode=ro`: nothing is created, migrated or written, a missing database reads as empty,
    and a read-only data directory works. A store opened for writing whose file or directory turns
    out not to be writable is opened read-only too; its writes then raise a "read-only" error.

    Deleting and re-dating sessions (`delete_sessions`, `redate_session`) live in
    `tracker.history.edits`.
    """

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False) -> None:
        super().__init__(path, read_only=read_only)
        self._batch_depth = 0

    def __enter__(self) -> SessionStore:
        return self

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
            sid = cur.lastrowid
            assert sid is not None  # an INSERT always sets it
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
            warnings=[SessionWarning(**dict(w)) for w in warnings],
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
