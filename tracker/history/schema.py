"""The session database schema and its migrations.

The schema version lives in SQLite's own `PRAGMA user_version`. `MIGRATIONS[i]` takes a database at
version `i` to version `i + 1`; each step runs inside one `BEGIN IMMEDIATE` transaction together
with the version bump, so a crash or a second process never sees a half-migrated database.
Never edit a shipped step: add a new one.

Versions:
    1  sessions, strokes, holds, warnings (the first release).
    2  region_times (seconds per region and session, backfilled for v1 sessions from their strokes
       and holds), phases, position_tracks (the timeline line), session notes and stroke time.
    3  sessions.content_sha256: the sha256 of the decoded samples (`tracker.history.edits.
       samples_sha256`), unique: the same recording is stored once even from files whose bytes
       differ (a capture re-saved, a CSV with other line endings). NULL for older sessions.
    4  How far the numbers can be trusted (`tracker.analysis.uncertainty`): sessions.
       mean_pace_pm_cm_s and position_pm_cm (the ± of the mean pace and of positions, the
       half-width meant to hold the truth about 80 % of the time), uncertainty_json (the whole
       `Uncertainty`: per posture, trust, caveats, inputs) and other_activities_json (stretches
       that were not foam rolling, e.g. walking before it); strokes.pace_pm_cm_s and strokes.snr
       (the stroke's clarity over the noise); holds.position_pm_cm. NULL for older sessions
       (analysed before uncertainty was assessed: re-import the capture into a fresh data
       directory to get them).

Conventions: times in a session are seconds from its first sample; positions are centimetres along
the back from the hips; paces are of the roller's contact point along the back (cm/s).
`sessions.start_utc` is ISO 8601 UTC with fixed width (`2025-03-30T21:30:00.000000Z`), so text order
is time order; `utc_offset_s` is the local offset at the start (what the user's clock said) and
`start_local` the wall-clock time then (`2025-03-30T23:30:00.000000`, derived, for date filters).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

V1_DDL = """
CREATE TABLE sessions (
    id                 INTEGER PRIMARY KEY,
    start_utc          TEXT    NOT NULL,
    start_local        TEXT    NOT NULL,
    utc_offset_s       INTEGER NOT NULL,
    timezone           TEXT,
    sensor_address     TEXT,
    sensor_name        TEXT,
    duration_s         REAL    NOT NULL,
    on_roller_s        REAL    NOT NULL,
    rolling_s          REAL    NOT NULL,
    n_strokes          INTEGER NOT NULL,
    n_holds            INTEGER NOT NULL,
    n_warnings         INTEGER NOT NULL,
    hold_s             REAL    NOT NULL,
    mean_pace_cm_s     REAL    NOT NULL,
    too_fast_fraction  REAL    NOT NULL,
    posture            TEXT,
    tracker_version    TEXT    NOT NULL,
    parameters_json    TEXT    NOT NULL,
    capture_path       TEXT,
    capture_sha256     TEXT    UNIQUE,
    imported_utc       TEXT    NOT NULL
);
CREATE INDEX sessions_by_start ON sessions(start_utc);
CREATE INDEX sessions_by_local_start ON sessions(start_local);

CREATE TABLE strokes (
    session_id   INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    idx          INTEGER NOT NULL,
    start_s      REAL    NOT NULL,
    end_s        REAL    NOT NULL,
    distance_cm  REAL    NOT NULL,
    pace_cm_s    REAL    NOT NULL,
    region       TEXT    NOT NULL,
    direction    TEXT    NOT NULL,
    posture      TEXT    NOT NULL,
    start_cm     REAL,
    end_cm       REAL,
    PRIMARY KEY (session_id, idx)
) WITHOUT ROWID;

CREATE TABLE holds (
    session_id   INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    idx          INTEGER NOT NULL,
    start_s      REAL    NOT NULL,
    end_s        REAL    NOT NULL,
    duration_s   REAL    NOT NULL,
    position_cm  REAL    NOT NULL,
    region       TEXT    NOT NULL,
    PRIMARY KEY (session_id, idx)
) WITHOUT ROWID;

CREATE TABLE warnings (
    session_id   INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    idx          INTEGER NOT NULL,
    kind         TEXT    NOT NULL,
    start_s      REAL    NOT NULL,
    end_s        REAL    NOT NULL,
    message      TEXT    NOT NULL,
    value        REAL,
    PRIMARY KEY (session_id, idx)
) WITHOUT ROWID;
"""

V2_DDL = """
CREATE TABLE region_times (
    session_id  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    region      TEXT    NOT NULL,
    seconds     REAL    NOT NULL,
    PRIMARY KEY (session_id, region)
) WITHOUT ROWID;

CREATE TABLE phases (
    session_id  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    idx         INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    start_s     REAL    NOT NULL,
    end_s       REAL    NOT NULL,
    PRIMARY KEY (session_id, idx)
) WITHOUT ROWID;

-- (t_s, position_cm) pairs as little-endian float32, row-major: n_points * 8 bytes.
CREATE TABLE position_tracks (
    session_id  INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    n_points    INTEGER NOT NULL,
    points_f32  BLOB    NOT NULL
);

ALTER TABLE sessions ADD COLUMN stroke_s REAL NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN notes_json TEXT NOT NULL DEFAULT '[]';

-- Backfill what v1 can tell: stroke time and time per region from strokes and holds.
UPDATE sessions SET stroke_s = COALESCE(
    (SELECT SUM(end_s - start_s) FROM strokes WHERE strokes.session_id = sessions.id), 0);
INSERT INTO region_times (session_id, region, seconds)
SELECT session_id, region, SUM(seconds) FROM (
    SELECT session_id, region, end_s - start_s AS seconds FROM strokes
    UNION ALL
    SELECT session_id, region, duration_s AS seconds FROM holds
) GROUP BY session_id, region;
"""

V3_DDL = """
ALTER TABLE sessions ADD COLUMN content_sha256 TEXT;
CREATE UNIQUE INDEX sessions_by_content ON sessions(content_sha256);
"""


V4_DDL = """
ALTER TABLE sessions ADD COLUMN mean_pace_pm_cm_s REAL;
ALTER TABLE sessions ADD COLUMN position_pm_cm REAL;
ALTER TABLE sessions ADD COLUMN uncertainty_json TEXT;
ALTER TABLE sessions ADD COLUMN other_activities_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE strokes ADD COLUMN pace_pm_cm_s REAL;
ALTER TABLE strokes ADD COLUMN snr REAL;
ALTER TABLE holds ADD COLUMN position_pm_cm REAL;
"""


def _script(sql: str) -> Callable[[sqlite3.Connection], None]:
    """A migration step made of plain SQL statements (run one by one: no implicit COMMIT)."""

    def step(conn: sqlite3.Connection) -> None:
        for statement in _split(sql):
            conn.execute(statement)

    return step


def _split(sql: str) -> list[str]:
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _script(V1_DDL),  # 0 -> 1
    _script(V2_DDL),  # 1 -> 2
    _script(V3_DDL),  # 2 -> 3
    _script(V4_DDL),  # 3 -> 4
]
SCHEMA_VERSION = len(MIGRATIONS)
