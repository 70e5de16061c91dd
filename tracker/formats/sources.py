"""What the user gave: one file, a folder, or a zip, seen as a list of members to read.

Phone apps export a recording as several CSV files (Sensor Logger: one per sensor plus
Metadata.csv; phyphox: one per export set plus meta/time.csv), delivered as a zip or unzipped into
a folder. `open_source(path)` turns any of these into a `Source` whose `members` are read the same
way whatever holds them. A folder may also hold the export's zip (one level deep): its members are
listed as `name.zip/member`.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from tracker.errors import InputFileError

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
MAX_MEMBERS = 500
"""A folder with more files than this is not an export (a home directory given by mistake)."""
SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class Member:
    """One file to read: a plain file, a file in a folder, or an entry of a zip."""

    name: str
    """Path inside the source, '/'-separated (the file's own name for a plain file)."""
    size: int
    opener: Callable[[], BinaryIO] = field(repr=False, compare=False)
    where: str = ""
    """How to name it in messages: `export.zip/Gyroscope.csv`."""

    @property
    def basename(self) -> str:
        return self.name.rsplit("/", 1)[-1]

    def open(self) -> BinaryIO:
        """A binary stream of the member's bytes; damage found while reading it (a zip entry that
        does not decompress or fails its CRC) is an `InputFileError` naming the member."""
        try:
            return _Guarded(self.opener(), self.where)  # type: ignore[return-value]
        except _DAMAGE as exc:
            raise _damaged(self.where, exc) from exc

    def head(self, n: int = SNIFF_BYTES) -> bytes:
        with self.open() as fh:
            return fh.read(n)

    def read_bytes(self) -> bytes:
        with self.open() as fh:
            return fh.read()


_DAMAGE = (zipfile.BadZipFile, zlib.error, EOFError, OSError)


class _Guarded(io.BufferedIOBase):
    """A read-only stream that turns read errors of a damaged zip entry into `InputFileError`."""

    def __init__(self, raw: BinaryIO, where: str) -> None:
        self._raw = raw
        self._where = where

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        try:
            return self._raw.read(-1 if size is None else size)
        except _DAMAGE as exc:
            raise _damaged(self._where, exc) from exc

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


@dataclass
class Source:
    """A file, folder or zip and the members it holds."""

    path: Path
    kind: str  # "file", "folder" or "zip"
    members: list[Member]
    _zips: list[zipfile.ZipFile] = field(default_factory=list, repr=False)

    def find(self, basename: str) -> list[Member]:
        """Members whose file name (without folders) is `basename`, case-insensitive."""
        wanted = basename.lower()
        return [m for m in self.members if m.basename.lower() == wanted]

    def close(self) -> None:
        for z in self._zips:
            z.close()
        self._zips.clear()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _damaged(where: str, exc: BaseException) -> InputFileError:
    return InputFileError(
        f"{where} is damaged inside its zip ({exc})",
        path=where,
        hint="export or copy the zip again; if you have the unzipped folder, give that instead",
    )


def is_zip(head: bytes) -> bool:
    return head.startswith(ZIP_MAGIC)


def open_zip(path: Path, label: str | None = None) -> tuple[zipfile.ZipFile, list[Member]]:
    """Members of a zip file; a cut or damaged zip is an `InputFileError` that says so."""
    label = label or str(path)
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise InputFileError(
            f"{label} is a zip file that is cut short or damaged (its table of contents is missing)",
            path=label,
            hint="export or copy the zip again; if you have the unzipped folder, give that instead",
        ) from None
    except OSError as exc:
        raise InputFileError(f"cannot read {label}: {exc.strerror}", path=label) from exc
    members = []
    for info in archive.infolist():
        if info.is_dir() or _hidden(info.filename):
            continue
        members.append(
            Member(
                name=info.filename,
                size=info.file_size,
                opener=_zip_opener(archive, info),
                where=f"{label}/{info.filename}",
            )
        )
    return archive, members


def _zip_opener(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], BinaryIO]:
    def opener() -> BinaryIO:
        return archive.open(info)  # type: ignore[return-value]

    return opener


def file_opener(path: Path) -> Callable[[], BinaryIO]:
    def opener() -> BinaryIO:
        return path.open("rb")

    return opener


def _hidden(name: str) -> bool:
    # macOS adds __MACOSX/._name resource forks and .DS_Store when it zips a folder
    parts = name.replace("\\", "/").split("/")
    return any(p.startswith(".") or p == "__MACOSX" for p in parts if p)


def open_source(path: Path, head: bytes | None = None) -> Source:
    """A `Source` for a plain file, a zip, or a folder (files up to two levels deep, and zips in it)."""
    if path.is_dir():
        return _open_folder(path)
    if head is None:
        with path.open("rb") as fh:
            head = fh.read(8)
    if is_zip(head):
        archive, members = open_zip(path)
        return Source(path, "zip", members, [archive])
    member = Member(path.name, path.stat().st_size, file_opener(path), str(path))
    return Source(path, "file", [member])


def _open_folder(path: Path) -> Source:
    files = list(_walk(path, depth=2))
    if len(files) > MAX_MEMBERS:
        raise InputFileError(
            f"{path} holds more than {MAX_MEMBERS} files: it is not one recording's export",
            path=str(path),
            hint="give the folder (or zip) of one Sensor Logger or phyphox export",
        )
    source = Source(path, "folder", [])
    for f in files:
        rel = f.relative_to(path).as_posix()
        try:
            with f.open("rb") as fh:
                magic = fh.read(4)
        except OSError:
            continue
        if is_zip(magic):
            archive, members = open_zip(f, label=str(f))
            source._zips.append(archive)
            for m in members:
                source.members.append(Member(f"{rel}/{m.name}", m.size, m.opener, m.where))
        else:
            source.members.append(Member(rel, f.stat().st_size, file_opener(f), str(f)))
    return source


def _walk(folder: Path, depth: int) -> Iterator[Path]:
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        raise InputFileError(
            f"cannot read the folder {folder}: {exc.strerror}", path=str(folder)
        ) from exc
    for entry in entries:
        if entry.name.startswith(".") or entry.name == "__MACOSX":
            continue
        if entry.is_dir():
            if depth > 1:
                yield from _walk(entry, depth - 1)
        elif entry.is_file():
            yield entry


def text_stream(member: Member) -> io.TextIOWrapper:
    """The member as UTF-8 text (a byte-order mark is skipped)."""
    return io.TextIOWrapper(member.open(), encoding="utf-8-sig", newline="")


def content_sha256(path: Path) -> str:
    """sha256 (hex) of a file's bytes, or of a folder's files (names and bytes, in name order):
    the identity of a recording, so importing the same export twice changes nothing."""
    digest = hashlib.sha256()
    if not path.is_dir():
        _hash_file(digest, path)
        return digest.hexdigest()
    for f in _walk(path, depth=2):
        digest.update(f.relative_to(path).as_posix().encode() + b"\0")
        _hash_file(digest, f)
        digest.update(b"\0")
    return digest.hexdigest()


def _hash_file(digest: hashlib._Hash, path: Path) -> None:
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
