"""Plain exports of the whole history: CSV, Parquet or JSON lines.

- csv / parquet: a directory with sessions, strokes, holds and warnings tables (one file each,
  joined by `session_id`; times in strokes/holds/warnings are seconds from the session start);
- jsonl: one JSON object per line and session, with its strokes, holds and warnings nested.

Files are private (0600). Parquet needs pyarrow (`pip install tracker[parquet]`).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

from tracker import paths
from tracker.errors import UsageError

if TYPE_CHECKING:
    from tracker.history.store import SessionStore

FORMATS = ("csv", "parquet", "jsonl")


def default_out(fmt: str) -> Path:
    return Path.cwd() / ("tracker-export.jsonl" if fmt == "jsonl" else f"tracker-export-{fmt}")


def export_store(store: SessionStore, fmt: str, out: str | Path | None = None) -> list[Path]:
    """Write the history in `fmt` to `out` (a directory for csv/parquet, a file for jsonl)."""
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise UsageError(
            f"unknown export format {fmt!r}", hint=f"choose one of {', '.join(FORMATS)}"
        )
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise UsageError(
                "Parquet export needs pyarrow",
                hint="pip install 'tracker[parquet]' (or use --format csv or jsonl)",
            ) from None
    out = Path(out) if out is not None else default_out(fmt)
    sessions = store.sessions()
    sessions["start_utc"] = sessions["start_utc"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    sessions["start_local"] = sessions["start_local"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    sessions = sessions.reset_index()
    tables = {
        "sessions": sessions,
        "strokes": store.strokes(),
        "holds": store.holds(),
        "warnings": store.warnings(),
    }
    if fmt == "jsonl":
        return [_jsonl(tables, out)]
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} is a file", hint=f"--out must be a directory for --format {fmt}")
    paths.ensure_private_dir(out)
    written = []
    for name, frame in tables.items():
        target = out / f"{name}.{fmt}"
        if fmt == "csv":
            data = frame.to_csv(index=False, float_format="%.6g", lineterminator="\n").encode(
                "utf-8"
            )
        else:
            buffer = io.BytesIO()
            frame.to_parquet(buffer, index=False)
            data = buffer.getvalue()
        paths.write_private_atomic(target, data)
        written.append(target)
    return written


def _jsonl(tables: dict, out: Path) -> Path:
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
        return v.item()  # type: ignore[union-attr]
    raise TypeError(f"cannot serialise {type(v).__name__}")
