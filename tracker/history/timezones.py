"""Local time at the moment of a session: UTC offset and IANA zone name.

Weekly tables use each session's own wall clock (the offset stored with it), so a session keeps
its day and week when the user later travels or the clocks change.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tracker.errors import UsageError


def zone(name: str) -> ZoneInfo:
    """The IANA zone `name`, or a `UsageError` saying how to spell one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UsageError(
            f"unknown time zone {name!r}",
            hint="use an IANA name such as Europe/Berlin, America/New_York or UTC",
        ) from exc


def system_timezone() -> str | None:
    """This computer's IANA zone name (from TZ or /etc/localtime), or None when unknown."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz:
        try:
            ZoneInfo(tz)
            return tz
        except (ZoneInfoNotFoundError, ValueError):
            pass
    try:
        target = str(Path("/etc/localtime").resolve())
    except OSError:
        return None
    marker = "zoneinfo/"
    if marker in target:
        name = target.split(marker, 1)[1]
        try:
            ZoneInfo(name)
            return name
        except (ZoneInfoNotFoundError, ValueError):
            return None
    return None


def as_utc(moment: datetime) -> datetime:
    """`moment` (timezone-aware) in UTC; a naive datetime is a programming error."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("start time must be timezone-aware (e.g. datetime.now(timezone.utc))")
    return moment.astimezone(UTC)


def local_offset(start_utc: datetime, tz_name: str | None) -> tuple[int, str | None]:
    """(UTC offset in seconds, zone name) in force at `start_utc` in `tz_name` (default: this computer's)."""
    start_utc = as_utc(start_utc)
    if tz_name is None:
        tz_name = system_timezone()
    if tz_name is not None:
        offset = start_utc.astimezone(zone(tz_name)).utcoffset()
    else:
        offset = start_utc.astimezone().utcoffset()  # the C library's idea of local time
    return int((offset or timedelta(0)).total_seconds()), tz_name


def parse_start(text: str, tz_name: str | None) -> datetime:
    """A `--start` value: ISO 8601 with an offset, or a local wall-clock time in `tz_name`."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise UsageError(
            f"cannot read start time {text!r}",
            hint="use ISO 8601, e.g. 2025-03-30T07:45 (local) or 2025-03-30T05:45Z",
        ) from exc
    if moment.tzinfo is None:
        name = tz_name or system_timezone()
        moment = moment.replace(tzinfo=zone(name)) if name else moment.astimezone()
    return moment.astimezone(UTC)
