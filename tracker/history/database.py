"""The session database file: opened safely, checked, migrated, and its failures told plainly.

`SessionStore` (tracker.history.store) is this file plus the sessions in it. Here:
- a damaged file (not SQLite, or failing `PRAGMA quick_check`) raises `DatabaseCorruptError`
  before anything is written to it; the file is left byte-for-byte as it was;
- a full disk (or I/O error) while writing raises `DiskFullError`, a read-only data directory a
  "read-only" `StorageError` on the first write (reading still works), and neither changes anything;
- the file and its journals are created 0600 inside a 0700 directory; WAL journal, a busy timeout.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from tracker import paths
from tracker.errors import DatabaseCorruptError, DiskFullError, StorageError
from tracker.history import schema

SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 30_000

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


def _text(raw: bytes) -> str:
    """Text columns as str, damaged bytes shown as U+FFFD rather than raising mid-query."""
    return raw.decode("utf-8", errors="replace")


class SessionDatabase:
    """The SQLite connection of a session store at `path` (default: `paths.database_path()`);
    `read_only` opens it with SQLite's `mode=ro` (see `SessionStore`)."""

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False) -> None:
        self.path = Path(path) if path is not None else paths.database_path()
        self.read_only = read_only
        self._write_error: StorageError | None = None  # why writes are refused, when they are
        self._conn = self._open()

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
                SessionDatabase(self.path).close()
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

    def __enter__(self) -> SessionDatabase:
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
