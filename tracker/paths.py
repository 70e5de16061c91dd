"""Where tracker keeps its files, and how it writes them so only the user can read them.

Resolution order for the data directory: the global `--data-dir` option, then the environment
variable `TRACKER_HOME`, then the platform's user data directory (platformdirs). Everything in it
is health data: directories tracker creates are created 0700 and files 0600.

Folders the user chose (a `--data-dir` or `TRACKER_HOME` that already exists, the parent of an
`--out` file, a report directory) are never chmod-ed: they may be shared on purpose (`/tmp` is
1777 and must stay so); the files tracker writes into them are 0600 all the same. Only tracker's
own default data directory and its `captures` folder are tightened when found too open, and only
as a best effort. An existing directory is never created or changed otherwise, so a read-only
data directory does not stop commands that only read it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from tracker.errors import DiskFullError, StorageError

log = logging.getLogger(__name__)

ENV_HOME = "TRACKER_HOME"
APP_NAME = "tracker"

_override: Path | None = None


def set_data_dir(path: str | os.PathLike[str] | None) -> None:
    """Override the data directory for this process (the CLI's `--data-dir`)."""
    global _override
    _override = Path(path).expanduser() if path is not None else None


def data_dir(create: bool = True) -> Path:
    """The data directory, created private (0700) if missing unless `create` is false.

    A directory the user named (`--data-dir`, `TRACKER_HOME`) that already exists is used as it
    is; the platform default is tightened to 0700 when found more open (best effort).
    """
    if _override is not None:
        path, own = _override, False
    elif os.environ.get(ENV_HOME):
        path, own = Path(os.environ[ENV_HOME]).expanduser(), False
    else:
        import platformdirs

        path, own = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)), True
    if create:
        ensure_private_dir(path, tighten=own)
    return path


def captures_dir() -> Path:
    """Where recordings go by default (tracker's own folder: tightened to 0700 if too open)."""
    return ensure_private_dir(data_dir() / "captures", tighten=True)


def database_path() -> Path:
    return data_dir() / "sessions.sqlite3"


def config_path() -> Path:
    return data_dir() / "config.json"


def ensure_private_dir(path: Path, *, tighten: bool = False) -> Path:
    """Make sure directory `path` exists; every folder created on the way is 0700.

    An existing directory is left as it is (not even touched, so a read-only one is fine), unless
    `tighten` is true (only for tracker's own folders, never for one the user chose): then a
    mode open to others becomes 0700, and a failure to change it is logged, not raised.
    """
    path = Path(path)
    if path.is_dir():
        if tighten and os.name == "posix":
            _tighten(path)
        return path
    # Create the missing folders from the top down, each 0700: `mkdir(parents=True)` would
    # make the intermediate ones with the default (umask) mode, readable by everyone.
    missing = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    try:
        for folder in reversed(missing):
            try:
                folder.mkdir(mode=0o700)
            except FileExistsError:
                if not folder.is_dir():
                    raise
                continue  # made by another process meanwhile: theirs, leave it
            if os.name == "posix":
                folder.chmod(0o700)  # ours: exactly 0700 whatever the umask
        if not path.is_dir():
            raise NotADirectoryError(20, "Not a directory")
    except OSError as exc:
        raise StorageError(
            f"cannot create directory {path}: {exc.strerror or exc}",
            hint="choose a writable place (e.g. with --data-dir or TRACKER_HOME, or another --out)",
        ) from exc
    return path


def _tighten(path: Path) -> None:
    try:
        if path.stat().st_mode & 0o077:
            path.chmod(0o700)
    except OSError as exc:
        log.warning("could not make %s private (0700): %s", path, exc.strerror or exc)


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

    The one way tracker writes a file a person names or will open (`--out`, exports, reports,
    charts, settings): the data goes to a new 0600 file in the same directory, which is then
    renamed over `path`. So a symlink at `path` is replaced, never followed (its target is left
    alone); an existing file ends up 0600 whatever its mode was; a reader never sees half a file;
    a full disk raises `DiskFullError` and leaves the old file as it was.
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


def write_private_figure(figure: object, path: Path, **savefig_kwargs: object) -> None:
    """Save a matplotlib figure to `path` through `write_private_atomic` (format from the
    suffix: .png, .svg, .pdf)."""
    import io

    buffer = io.BytesIO()
    kind = path.suffix.lstrip(".").lower() or "png"
    figure.savefig(buffer, format=kind, **savefig_kwargs)  # type: ignore[attr-defined]
    write_private_atomic(path, buffer.getvalue())


def raise_storage_error(exc: OSError, path: Path) -> None:
    """Turn an OSError from writing `path` into the matching TrackerError."""
    raise storage_error(exc, path) from exc


def storage_error(exc: OSError, path: Path) -> StorageError:
    """The TrackerError an OSError from writing `path` means (for code that keeps the error to
    raise later, such as a recorder's writer callbacks)."""
    import errno

    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(f"disk full while writing {path}", hint="free some space; what was already saved is kept")
    return StorageError(f"cannot write {path}: {exc.strerror or exc}", hint="check permissions and free space")


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Within the block, files created by libraries (sqlite, matplotlib) are user-only."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)
