"""Session history: the SQLite store, weekly tables, the load ratio, charts and the HTML report.

Layers (each module imports only those above it):

    store.py     SessionStore: sessions, strokes, holds, warnings in SQLite (schema.py: migrations)
    ingest.py    files -> analysis -> store (import), with the capture checksum for idempotence
    weekly.py    pandas: daily and weekly tables in each session's local time, load ratio, overuse
    charts.py    matplotlib: draw those tables on an Axes you give (never a backend, never show)
    report.py    PNG + SVG charts and one self-contained HTML page
    export.py    csv / parquet / jsonl

Nothing here imports scipy or the radio stack; pandas and matplotlib are imported where used.
"""

from __future__ import annotations

from tracker.history.store import SessionRow, SessionStore, StoredSession

__all__ = ["SessionRow", "SessionStore", "StoredSession"]
