"""From files (captures, CSV) or fresh analyses to stored sessions, each exactly once.

Idempotence comes from the capture's checksum (sha256 of the file's bytes): a file whose checksum
is already in the store is reported as "already imported" without analysing it again, and the
store's unique constraint settles races between processes.

One recording, one session: a capture whose sensor address and start (within half a second) match a
stored session is that recording again (a copy, a cut copy, a damaged copy) and is reported as
"already imported as session N" without analysing it. The rule is the simplest safe one: the
session stored first is kept, never replaced; if the new copy is longer, the outcome says so (a
user who wants the longer one can import it into a fresh data directory). CSV files carry no
sensor, so for them the checksum counts, and so does the samples' own checksum
(`tracker.history.edits.samples_sha256`), for every file: the same samples in a file with other
bytes are the same recording, whatever start time it is given. (A wrong start is fixed with
`tracker edit ID --start WHEN`, not by importing again.)

A session that cannot be right (`implausible`: starting before 2000 or in the future, longer
than `MAX_SESSION_S`, more time on the roller than recorded, values that are not numbers) is
refused with a one-line reason and nothing is stored; the file stays where it is.

A recording that never got on the roller (less than `MIN_ON_ROLLER_S` on it, no strokes, no
holds: e.g. Ctrl-C while still standing) is "skipped": it is not stored, so it counts toward no
goal and no overuse check; its capture stays where it is. So is a recording that is not foam
rolling at all (`SessionAnalysis.activity == "not_rolling"`: walking, the sensor on a table,
lying still, stretching; `tracker.analysis.activity`), with what it was as the reason. Not
storing it, rather than storing it flagged, keeps every reader of the history right without a
filter: the weekly charts, the load ratio, `tracker sessions`, the exports and the pooled
dataset that others query (the README's DuckDB query counts every stored session). Nothing is
lost: the capture stays, and `tracker analyze` still shows what it was.

Start times: a capture knows when it started (and the UTC offset and zone then). A CSV file does
not: its session is taken to have started at the file's modification time minus the recording's
duration (the file was last written when the recording ended), unless `start` is given.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracker.errors import InputFileError, StorageError, TrackerError
from tracker.guidance import Guidance
from tracker.history.edits import samples_sha256
from tracker.history.timezones import local_offset, zone

if TYPE_CHECKING:
    from tracker.history.store import SessionStore
    from tracker.imu import ImuRecording
    from tracker.results import SessionAnalysis

DEFAULT_GUIDANCE = Guidance()  # frozen: safe as a shared default

log = logging.getLogger(__name__)

IMPORTED = "imported"
ALREADY = "already imported"
SKIPPED = "skipped"
FAILED = "failed"

MIN_ON_ROLLER_S = 5.0
"""Below this much time on the roller, with no stroke and no hold, a recording is not a session."""

NEVER_ON_ROLLER = "never on the roller"

EARLIEST_START = datetime(2000, 1, 1, tzinfo=UTC)
"""No session is older than this: an earlier start is a clock that was never set, or a file's
nonsense (a capture dated 1734)."""
FUTURE_SLACK = timedelta(days=1)
"""A start this far past now is a wrong clock (a day allows for any time zone mix-up)."""
MAX_SESSION_S = 12 * 3600.0
"""Longest recording stored as one session: longer ones come from a clock that jumped (a session
"149999917 min on the roller"), not from a person on a roller."""
IMPLAUSIBLE = "implausible"


def implausible(analysis: SessionAnalysis, start_utc: datetime, *, now: datetime | None = None) -> str | None:
    """Why a session cannot be right (one line), or None. Checked before anything is stored."""
    import math

    now = now or datetime.now(UTC)
    values = (analysis.duration_s, analysis.on_roller_s, analysis.rolling_s, analysis.mean_pace_cm_s)
    if not all(math.isfinite(float(v)) and float(v) >= 0 for v in values):
        return "its analysis holds values that are not finite, non-negative numbers"
    if start_utc < EARLIEST_START:
        return f"it would start on {start_utc:%Y-%m-%d}, before 2000: the recording's clock was wrong"
    if start_utc > now + FUTURE_SLACK:
        return f"it would start on {start_utc:%Y-%m-%d}, in the future: the recording's clock was wrong"
    if analysis.duration_s > MAX_SESSION_S:
        return (
            f"it would last {analysis.duration_s / 3600:.1f} h (at most {MAX_SESSION_S / 3600:.0f} h): "
            "the recording's clock jumped"
        )
    if analysis.on_roller_s > analysis.duration_s + 1.0:
        return (
            f"it would have {analysis.on_roller_s / 60:.1f} min on the roller in a "
            f"{analysis.duration_s / 60:.1f} min recording"
        )
    return None


def _refused(path: Path, why: str) -> ImportOutcome:
    fix = "; if only its date is wrong, import it with --start" if "would start on" in why else "; the file is kept"
    return ImportOutcome(path, FAILED, reason=f"{why}{fix}")


def never_on_roller(analysis: SessionAnalysis) -> bool:
    """True for a recording that is not a session: (almost) no time on the roller, nothing done."""
    return analysis.on_roller_s < MIN_ON_ROLLER_S and not analysis.strokes and not analysis.holds


def not_a_session(analysis: SessionAnalysis) -> str | None:
    """Why `analysis` is no rolling session to store (one line), or None when it is one."""
    why = None if analysis.is_rolling else f"not foam rolling: {analysis.activity_reason or 'no rolling found'}"
    if never_on_roller(analysis):
        return NEVER_ON_ROLLER if why is None else f"{NEVER_ON_ROLLER} ({why})"
    return why


class NotStoredError(InputFileError):
    """`store_analysis` was given a recording that is not a session (never on the roller)."""


@dataclass(frozen=True)
class ImportOutcome:
    """What happened to one file."""

    path: Path
    status: str  # IMPORTED, ALREADY, SKIPPED or FAILED
    session_id: int | None = None
    reason: str | None = None
    start_utc: datetime | None = None
    utc_offset_s: int | None = None
    on_roller_s: float | None = None
    strokes: int | None = None

    @property
    def ok(self) -> bool:
        return self.status != FAILED

    def line(self) -> str:
        """One line for a person."""
        if self.status == FAILED:
            return f"failed            {self.path}: {self.reason}"
        if self.status == ALREADY:
            note = f"; {self.reason}" if self.reason else ""
            return f"already imported  {self.path} (session {self.session_id}{note})"
        if self.status == SKIPPED:
            return f"skipped           {self.path}: {self.reason}; not stored (the file is kept)"
        when = ""
        if self.start_utc is not None and self.utc_offset_s is not None:
            local = self.start_utc.astimezone(timezone(timedelta(seconds=self.utc_offset_s)))
            when = f"{local:%Y-%m-%d %H:%M}, "
        minutes = (self.on_roller_s or 0.0) / 60
        return f"imported          {self.path} -> session {self.session_id} ({when}{minutes:.1f} min on the roller, {self.strokes} strokes)"


def file_sha256(path: Path) -> str:
    """sha256 (hex) of the file's bytes: the identity of a capture. For a folder (an unzipped
    phone export), of its files' names and bytes (`tracker.formats.content_sha256`)."""
    if path.is_dir():
        from tracker.formats.sources import content_sha256

        return content_sha256(path)
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def session_start(
    recording: ImuRecording,
    path: Path | None = None,
    *,
    start_utc: datetime | None = None,
    tz_name: str | None = None,
) -> tuple[datetime, int, str | None]:
    """(start in UTC, UTC offset then in s, zone name) for a recording.

    Order: `start_utc` (an explicit `--start`), the recording's own start, the file's modification
    time minus the recording's duration, now minus the duration. The zone is `tz_name`, else the
    recording's, else this computer's; the offset is the one in force at the start in that zone
    (the recording's own offset when it carries one and no other zone was asked for).
    """
    if start_utc is None:
        start_utc = recording.start_utc
    if start_utc is None:
        end = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC) if path else datetime.now(UTC)
        start_utc = end - timedelta(seconds=recording.duration_s)
    start_utc = start_utc.astimezone(UTC)
    if tz_name is None and recording.utc_offset_s is not None and recording.start_utc == start_utc:
        return start_utc, int(recording.utc_offset_s), recording.timezone
    offset, name = local_offset(start_utc, tz_name or recording.timezone)
    return start_utc, offset, name


def sensor_of(recording: ImuRecording) -> dict[str, Any]:
    """Sensor address and name from the recording's provenance, when it has them."""
    src = recording.source or {}
    sensor: dict[str, Any] = src["sensor"] if isinstance(src.get("sensor"), dict) else src
    return {
        "address": sensor.get("address") or sensor.get("sensor_address"),
        "name": sensor.get("name") or sensor.get("sensor_name"),
    }


def store_analysis(
    store: SessionStore,
    analysis: SessionAnalysis,
    recording: ImuRecording,
    *,
    capture_path: Path | None = None,
    checksum: str | None = None,
    tz_name: str | None = None,
    start_utc: datetime | None = None,
) -> tuple[int, bool]:
    """Store a fresh analysis of `recording` (what `record`, `replay` and `demo` call).

    The start time and zone come from the recording (see `session_start`); `checksum` defaults to
    the sha256 of `capture_path` so the same capture is never stored twice. A recording that never
    got on the roller raises `NotStoredError` (see `store_recording` for an outcome instead).
    """
    outcome = store_recording(
        store, analysis, recording, capture_path=capture_path, checksum=checksum, tz_name=tz_name,
        start_utc=start_utc,
    )  # fmt: skip
    if outcome.status in (SKIPPED, FAILED):
        where = f"; the capture is kept at {capture_path}" if capture_path is not None else ""
        raise NotStoredError(f"not stored in the history: {outcome.reason}{where}")
    assert outcome.session_id is not None
    return outcome.session_id, outcome.status == IMPORTED


def store_recording(
    store: SessionStore,
    analysis: SessionAnalysis,
    recording: ImuRecording,
    *,
    capture_path: Path | None = None,
    checksum: str | None = None,
    tz_name: str | None = None,
    start_utc: datetime | None = None,
) -> ImportOutcome:
    """`store_analysis` that says what happened: IMPORTED, ALREADY (same capture or the same
    recording) or SKIPPED (never on the roller: nothing stored); `outcome.line()` for a person."""
    path = Path(capture_path) if capture_path is not None else Path("<recording>")
    why_not = not_a_session(analysis)
    if why_not is not None:
        return ImportOutcome(path, SKIPPED, reason=why_not, on_roller_s=analysis.on_roller_s)
    if checksum is None and capture_path is not None:
        checksum = file_sha256(Path(capture_path))
    start, offset, name = session_start(
        recording, capture_path, start_utc=start_utc, tz_name=tz_name
    )
    why = implausible(analysis, start)
    if why is not None:
        return _refused(path, why)
    sid, created = store.add_session(
        analysis,
        start_utc=start,
        utc_offset_s=offset,
        timezone=name,
        sensor=sensor_of(recording),
        capture_path=str(Path(capture_path).resolve()) if capture_path is not None else None,
        checksum=checksum,
        content_checksum=samples_sha256(recording),
    )
    if not created:
        return ImportOutcome(path, ALREADY, sid)
    return ImportOutcome(
        path, IMPORTED, sid, start_utc=start, utc_offset_s=offset, on_roller_s=analysis.on_roller_s,
        strokes=len(analysis.strokes),
    )  # fmt: skip


def _redate_hint(session_id: int, start_utc: datetime | None) -> str | None:
    """For a file already stored and imported again with --start: how to change the start."""
    if start_utc is None:
        return None
    return f"its start stays; to change it: tracker edit {session_id} --start WHEN"


def _same_recording_note(store: SessionStore, recording: ImuRecording, start: datetime) -> tuple[int, str | None] | None:
    """(session id, note) when `store` holds this recording already (same sensor and start)."""
    same = store.session_for_recording(sensor_of(recording).get("address"), start)
    if same is None:
        return None
    sid, stored_s = same
    longer = recording.duration_s - stored_s
    note = None
    if longer > 1.0:
        note = (f"same recording; this copy is {longer / 60:.1f} min longer, "
                "the stored session was kept")  # fmt: skip
    return sid, note


def _default_load(path: Path) -> ImuRecording:
    from tracker.analysis.io import load_recording

    return load_recording(path)


def _default_analyze(recording: ImuRecording, guidance: Guidance) -> SessionAnalysis:
    from tracker.analysis import analyze

    return analyze(recording, guidance=guidance)


def import_file(
    store: SessionStore,
    path: str | os.PathLike[str],
    *,
    guidance: Guidance = DEFAULT_GUIDANCE,
    tz_name: str | None = None,
    start_utc: datetime | None = None,
    load: Callable[[Path], ImuRecording] | None = None,
    analyze: Callable[[ImuRecording, Guidance], SessionAnalysis] | None = None,
) -> ImportOutcome:
    """Import one capture or CSV file; never raises for a bad file (the outcome says why).

    `load` and `analyze` default to `tracker.analysis.io.load_recording` and
    `tracker.analysis.analyze` (imported on first use).
    """
    path = Path(path)
    if tz_name is not None:
        zone(tz_name)  # a bad zone is the user's option, not this file's fault: raise now
    try:
        try:
            checksum = file_sha256(path)
        except FileNotFoundError:
            raise InputFileError(f"{path} does not exist", path=str(path)) from None
        except IsADirectoryError:
            raise InputFileError(
                f"{path} is a directory, not a capture or CSV file", path=str(path)
            ) from None
        except OSError as exc:
            raise InputFileError(f"cannot read {path}: {exc.strerror}", path=str(path)) from exc
        existing = store.session_id_for_checksum(checksum)
        if existing is not None:
            return ImportOutcome(path, ALREADY, existing, reason=_redate_hint(existing, start_utc))
        recording = (load or _default_load)(path)
        content = samples_sha256(recording)
        existing = store.session_id_for_content(content)
        if existing is not None:
            note = "the same samples as a stored session"
            hint = _redate_hint(existing, start_utc)
            return ImportOutcome(path, ALREADY, existing, reason=f"{note}; {hint}" if hint else note)
        start, offset, name = session_start(recording, path, start_utc=start_utc, tz_name=tz_name)
        same = _same_recording_note(store, recording, start)
        if same is not None:
            return ImportOutcome(path, ALREADY, same[0], reason=same[1])
        analysis = (analyze or _default_analyze)(recording, guidance)
        why_not = not_a_session(analysis)
        if why_not is not None:
            return ImportOutcome(path, SKIPPED, reason=why_not, on_roller_s=analysis.on_roller_s)
        why = implausible(analysis, start)
        if why is not None:
            return _refused(path, why)
        sid, created = store.add_session(
            analysis,
            start_utc=start,
            utc_offset_s=offset,
            timezone=name,
            sensor=sensor_of(recording),
            capture_path=str(path.resolve()),
            checksum=checksum,
            content_checksum=content,
        )
    except StorageError:
        raise  # the database or the disk, not this file: stop the whole import
    except TrackerError as exc:
        return ImportOutcome(path, FAILED, reason=exc.one_line())
    except MemoryError:
        return ImportOutcome(path, FAILED, reason="not enough memory to analyse this file")
    except Exception as exc:  # a bug in analysis must not lose the other files of the batch
        log.exception("importing %s failed", path)
        return ImportOutcome(
            path, FAILED, reason=f"internal error ({type(exc).__name__}: {exc}); please report it"
        )
    if not created:
        return ImportOutcome(path, ALREADY, sid)
    return ImportOutcome(
        path, IMPORTED, sid, start_utc=start, utc_offset_s=offset, on_roller_s=analysis.on_roller_s,
        strokes=len(analysis.strokes),
    )  # fmt: skip
