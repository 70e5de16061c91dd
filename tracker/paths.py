"""Where tracker keeps its files, and how it writes them so only the user can read them.

Resolution order for the data directory: the global `--data-dir` option, then the environment
variable `TRACKER_HOME`, then the platform's user data directory (platformdirs). Everything in it
is health data: directories are created 0700 and files 0600.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from tracker.errors import DiskFullError, StorageError

ENV_HOME = "TRACKER_HOME"
APP_NAME = "tracker"

_override: Path | None = None


def set_data_dir(path: str | os.PathLike[str] | None) -> None:
    """Override the data directory for this process (the CLI's `--data-dir`)."""
    global _override
    _override = Path(path).expanduser() if path is not None else None


def data_dir(create: bool = True) -> Path:
    """The data directory, created private (0700) unless `create` is false."""
    if _override is not None:
        path = _override
    elif os.environ.get(ENV_HOME):
        path = Path(os.environ[ENV_HOME]).expanduser()
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    if create:
        ensure_private_dir(path)
    return path


def captures_dir() -> Path:
    """Where recordings go by default."""
    return ensure_private_dir(data_dir() / "captures")


def database_path() -> Path:
    return data_dir() / "sessions.sqlite3"


def config_path() -> Path:
    return data_dir() / "config.json"


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) readable by the user only; tighten an existing one."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if os.name == "posix" and (path.stat().st_mode & 0o077):
            path.chmod(0o700)
    except OSError as exc:
        raise StorageError(
            f"cannot create data directory {path}: {exc.strerror}",
            hint="choose a writable place with --data-dir or TRACKER_HOME",
        ) from exc
    return path


def open_private(path: Path, *, append: bool = False) -> BinaryIO:
    """Open `path` for binary writing, readable and writable by the user only (0600).

    `append=False` creates a new file and refuses to overwrite an existing one;
    `append=True` appends to an existing file (or creates it).
    """
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_EXCL)
    fd = os.open(path, flags, 0o600)
    if os.name == "posix":
        os.fchmod(fd, 0o600)
    return os.fdopen(fd, "ab" if append else "wb")


def write_private_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` atomically (temp file, fsync, rename), mode 0600.

    A full disk raises `DiskFullError` and leaves the old file as it was.
    """
    ensure_private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            if os.name == "posix":
                os.fchmod(fh.fileno(), 0o600)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise_storage_error(exc, path)


def raise_storage_error(exc: OSError, path: Path) -> None:
    """Turn an OSError from writing `path` into the matching TrackerError."""
    import errno

    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        raise DiskFullError(
            f"disk full while writing {path}", hint="free some space; what was already saved is kept"
        ) from exc
    raise StorageError(f"cannot write {path}: {exc.strerror or exc}", hint="check permissions and free space") from exc


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Within the block, files created by libraries (sqlite, matplotlib) are user-only."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)
