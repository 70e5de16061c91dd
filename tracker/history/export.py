"""Plain exports of the whole history: CSV, Parquet or JSON lines, and a Parquet dataset to pool.

- csv / parquet: a directory with sessions, strokes, holds and warnings tables (one file each,
  joined by `session_id`; times in strokes/holds/warnings are seconds from the session start).
  In Parquet, `start_utc` is a real timestamp (UTC, microseconds) and `start_local` the wall-clock
  time then (a timestamp without zone); in CSV both are ISO 8601 text.
- jsonl: one JSON object per line and session, with its strokes, holds and warnings nested. Its
  holds are under "holds"; `tracker analyze --json` calls them "pauses".
- partitioned (`export_partitioned`): one Hive-partitioned Parquet dataset per table,
  `DIR/<table>/person=<id>/year=<yyyy>/month=<m>/part-0.parquet` (the session's local start
  decides its year and month; strokes, holds and warnings go with their session). Many people's
  exports into one DIR make one dataset that DuckDB (`hive_partitioning = true`) and Spark read as
  they are; join tables on (person, session_id). It leaves out `LOCAL_ONLY` columns.

Nothing is overwritten unless asked (`force`). Files are private (0600, written atomically) in
folders tracker creates 0700. Parquet needs pyarrow (`pip install 'tracker[parquet]'`).
"""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracker import paths
from tracker.errors import MissingDependencyError, StorageError, UsageError

if TYPE_CHECKING:
    import pandas as pd

    from tracker.history.store import SessionStore

FORMATS = ("csv", "parquet", "jsonl")
TABLES = ("sessions", "strokes", "holds", "warnings")
PARTITIONS = ("person", "year", "month")
LOCAL_ONLY = ("capture_path", "sensor_address")
"""Session columns a pooled dataset leaves out: a path on this computer (it names the user's home
folder) and the sensor's Bluetooth address (a device identifier)."""
PERSON_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
"""A person's id in a partitioned dataset: a directory name on every system (a pseudonym)."""


def default_out(fmt: str) -> Path:
    return Path.cwd() / ("tracker-export.jsonl" if fmt == "jsonl" else f"tracker-export-{fmt}")


def export_store(
    store: SessionStore, fmt: str, out: str | Path | None = None, *, force: bool = False
) -> list[Path]:
    """Write the history in `fmt` to `out` (a directory for csv/parquet, a file for jsonl).
    Existing export files are replaced only with `force` (else `UsageError`, nothing written)."""
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}", hint=f"choose one of {', '.join(FORMATS)}")
    if fmt == "parquet":
        require_pyarrow()
    out = Path(out) if out is not None else default_out(fmt)
    if fmt == "jsonl":
        _refuse_overwrite([out], force)
        return [_jsonl(_tables(store, text_times=True), out)]
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} is a file", hint=f"--out must be a directory for --format {fmt}")
    targets = [out / f"{name}.{fmt}" for name in TABLES]
    _refuse_overwrite(targets, force)
    tables = _tables(store, text_times=fmt == "csv")
    paths.ensure_private_dir(out)
    for target, frame in zip(targets, tables.values(), strict=True):
        if fmt == "csv":
            data = frame.to_csv(index=False, float_format="%.6g", lineterminator="\n").encode("utf-8")
        else:
            data = parquet_bytes(frame)
        paths.write_private_atomic(target, data)
    return targets


def export_partitioned(
    store: SessionStore, out_dir: str | Path, *, person: str, force: bool = False
) -> list[Path]:
    """Write this history into the pooled Parquet dataset at `out_dir` as `person` (see the module
    docstring). Other people's partitions there are left alone; this person's are replaced only
    with `force`. Returns the files written."""
    require_pyarrow()
    if not PERSON_PATTERN.fullmatch(person):
        raise UsageError(
            f"--person {person!r} cannot name a partition",
            hint="use letters, digits, '-', '_' or '.', up to 64 (a pseudonym such as P017)",
        )
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} is a file", hint="--partitioned takes a directory")
    mine = [out / name / f"person={person}" for name in TABLES]
    existing = [p for p in mine if p.exists()]
    if existing and not force:
        raise UsageError(
            f"{out} already holds an export for person {person}",
            hint="add --force to replace it (other people's data there is kept), or choose another --person",
        )
    tables = _tables(store, text_times=False)
    # what only means something on this machine, or names a device, stays here
    tables["sessions"] = sessions = tables["sessions"].drop(columns=list(LOCAL_ONLY))
    local = sessions["start_local"]
    parts = sessions[["id"]].assign(year=local.dt.year.astype(int), month=local.dt.month.astype(int))
    for p in existing:
        try:
            shutil.rmtree(p)
        except OSError as exc:
            paths.raise_storage_error(exc, p)
    written: list[Path] = []
    for name, frame in tables.items():
        key = "id" if name == "sessions" else "session_id"
        with_parts = frame.merge(parts.rename(columns={"id": key}), on=key, how="left")
        for (year, month), group in with_parts.groupby(["year", "month"], sort=True):
            leaf = out / name / f"person={person}" / f"year={int(year)}" / f"month={int(month)}"
            paths.ensure_private_dir(leaf)
            target = leaf / "part-0.parquet"
            # the partition values live in the path, as Hive, DuckDB and Spark expect
            paths.write_private_atomic(target, parquet_bytes(group.drop(columns=["year", "month"])))
            written.append(target)
    return written


def require_pyarrow() -> None:
    """pyarrow, or a one-line `MissingDependencyError` (exit 1) with the line that installs it."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise MissingDependencyError(
            "Parquet export needs pyarrow, which is not installed",
            hint="install it with: pip install 'tracker[parquet]' (or export --format csv or jsonl)",
        ) from None


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """`frame` as Parquet, timestamps in microseconds (what Spark and DuckDB read as timestamps;
    pandas' nanoseconds would be INT96 or unreadable to some)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    fields = [
        pa.field(f.name, pa.timestamp("us", tz=f.type.tz)) if pa.types.is_timestamp(f.type) else f
        for f in table.schema
    ]
    table = table.cast(pa.schema(fields, metadata=table.schema.metadata))
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def _refuse_overwrite(targets: list[Path], force: bool) -> None:
    there = [t for t in targets if t.exists()]
    for t in there:
        if t.is_dir():
            raise StorageError(f"{t} is a folder", hint="choose another --out")
    if there and not force:
        what = f"{there[0]} already exists" if len(targets) == 1 else f"{there[0].parent} already holds an export"
        raise UsageError(what, hint="add --force to replace it, or choose another --out")


def _tables(store: SessionStore, *, text_times: bool) -> dict[str, pd.DataFrame]:
    sessions = store.sessions()
    if text_times:
        sessions["start_utc"] = sessions["start_utc"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        sessions["start_local"] = sessions["start_local"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    return {
        "sessions": sessions.reset_index(),
        "strokes": store.strokes(),
        "holds": store.holds(),
        "warnings": store.warnings(),
    }


def _jsonl(tables: dict[str, Any], out: Path) -> Path:
    import pandas as pd

    children = {
        name: {
            sid: g.drop(columns=["session_id", "idx"]).to_dict("records")
            for sid, g in tables[name].groupby("session_id")
        }
        for name in ("strokes", "holds", "warnings")
    }
    lines = []
    for rec in tables["sessions"].to_dict("records"):
        sid = rec["id"]
        rec = {k: (None if isinstance(v, float) and pd.isna(v) else v) for k, v in rec.items()}
        rec["parameters"] = json.loads(rec.pop("parameters_json"))
        for name in ("strokes", "holds", "warnings"):
            rec[name] = [
                {k: (None if isinstance(v, float) and pd.isna(v) else v) for k, v in item.items()}
                for item in children[name].get(sid, [])
            ]
        lines.append(json.dumps(rec, default=_plain, separators=(",", ":")))
    paths.write_private_atomic(out, ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8"))
    return out


def _plain(v: object) -> object:
    """numpy scalars to Python numbers for json."""
    if hasattr(v, "item"):
        return v.item()
    raise TypeError(f"cannot serialise {type(v).__name__}")
