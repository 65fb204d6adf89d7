"""Where commands write files: checked before any work, written so that nothing is half-written.

An output path must never be a file the command reads: ``report --out studies.db``
would replace the study with its own JSON. Each check fails with one line before
the study is read, and a write that fails (a full disk, a read-only folder) leaves
an existing file as it was, because text goes to a temporary file that replaces the
target only once it is complete.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy.engine import make_url

from .errors import UserError
from .storage.urls import sqlite_file

__all__ = ["storage_files", "check_out_file", "check_out_dir", "write_text", "saving"]

_SQLITE_SIDE_FILES = ("", "-wal", "-shm", "-journal")


def storage_files(url: str) -> list[Path]:
    """The files a storage URL reads: a SQLite database and its journal files (none for a server)."""
    try:
        path = sqlite_file(make_url(url))
    except Exception:  # a malformed URL is reported where it is opened
        return []
    return [Path(path + suffix) for suffix in _SQLITE_SIDE_FILES] if path else []


def _same(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def _writable_folder(folder: Path, flag: str, target: Path) -> None:
    probe = folder
    while not probe.exists():  # the nearest folder that exists decides whether we may create the rest
        probe = probe.parent
    if not probe.is_dir():
        raise UserError(f"{flag} {target}: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(f"{flag} {target}: folder {probe} is not writable")


def check_out_file(path: Path, *, protected: Iterable[Path] = (), flag: str = "--out") -> Path:
    """``path`` as a file to write, or one line saying why it cannot be.

    Args:
        path: The target.
        protected: Files the command reads (the study database); none may be the target.
        flag: The option's name, for the message.
    """
    for p in protected:
        if _same(path, p):
            raise UserError(f"{flag} {path} is the study database (or its journal) that this command reads; choose another file")
    if path.is_dir():
        raise UserError(f"{flag} {path} is a folder; give a file name, e.g. {path / 'report.json'}")
    if path.exists() and not os.access(path, os.W_OK):
        raise UserError(f"{flag} {path} exists and is not writable")
    _writable_folder(path.parent, flag, path)
    return path


def check_out_dir(path: Path, *, protected: Iterable[Path] = (), names: Iterable[str] = (), flag: str = "--plots") -> Path:
    """``path`` as a folder to write ``names`` into, or one line saying why it cannot be."""
    protected = list(protected)
    if any(_same(path, p) for p in protected):
        raise UserError(f"{flag} {path} is the study database that this command reads; give a folder")
    if path.exists() and not path.is_dir():
        raise UserError(f"{flag} {path} is a file; give a folder (it is created if missing)")
    for name in names:
        check_out_file(path / name, protected=protected, flag=flag)
    _writable_folder(path, flag, path)
    return path


def _one_line(e: OSError) -> str:
    if e.errno == errno.ENOSPC:
        return "no space left on the device"
    return e.strerror or type(e).__name__


def write_text(path: Path, text: str, *, flag: str = "--out") -> None:
    """Write ``text`` to ``path`` whole or not at all: a failure leaves an existing file as it was."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as e:
        raise UserError(f"cannot write {flag} {path}: {_one_line(e)}") from None


class saving:
    """``with saving(path, "--plots"):`` turns an OSError while writing into one line."""

    def __init__(self, path: Path, flag: str) -> None:
        self.path, self.flag = path, flag

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, e, tb) -> bool:
        if isinstance(e, OSError):
            raise UserError(f"cannot write {self.flag} {self.path}: {_one_line(e)}") from None
        return False
