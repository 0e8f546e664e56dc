"""Atomic writes: build beside the target under a temporary name, then rename into place.

A reader never sees a half-written file or folder: either the old one, or the complete new one. A write that
fails (disk full, quota, read-only folder, a GDAL/SQLite I/O error) raises :class:`OutputError` with one line
naming the target, and leaves no temporary file behind.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from skywatch.errors import OutputError, SkywatchError

__all__ = ["WRITE_ERRNOS", "atomic_dir", "atomic_path", "check_target"]

# errno values that mean "this cannot be written here" (rather than a missing input or a bug)
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO})
# libraries whose exceptions, raised while writing a temporary output, are I/O failures of that output
_IO_LIBRARIES = frozenset({"rasterio", "pyogrio", "fiona", "sqlite3", "zipfile"})


def check_target(path: Path, *, overwrite: bool) -> None:
    """Raise unless ``path`` may be written.

    Raises:
        OutputError: ``path`` exists and ``overwrite`` is false, or its folder cannot be created.
    """
    if path.exists() and not overwrite:
        raise OutputError(f"{str(path)!r} already exists; pass --overwrite to replace it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create folder {str(path.parent)!r}: {exc.strerror or exc}") from exc


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _is_write_failure(exc: BaseException, *, single_file: bool) -> bool:
    """Whether ``exc``, raised while an output was being written, is an I/O failure of that output.

    Skywatch's own errors are never re-labelled. An ``OSError`` whose errno says the disk or folder refused the
    write always counts. ``single_file``: a single file's writer does nothing but write, so any other ``OSError``
    and any error of the writing libraries (GDAL via rasterio, pyogrio, SQLite) count too.
    """
    if isinstance(exc, SkywatchError):
        return False
    if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:
        return True
    if not single_file:
        return False
    if isinstance(exc, OSError):
        return True
    if isinstance(exc, SystemError):  # rasterio's "Unknown GDAL Error": a GDAL call failed without a message
        return "GDAL" in str(exc)
    return type(exc).__module__.split(".")[0] in _IO_LIBRARIES


def _reason(exc: BaseException, *, with_file: bool) -> str:
    """A short one-line reason: the OS's words (and ``with_file``, the name of the file it failed on), or the
    library's message without the SQL it quotes."""
    if isinstance(exc, OSError) and exc.strerror:
        name = exc.filename if with_file and isinstance(exc.filename, str) else None
        return f"{exc.strerror}: {Path(name).name!r}" if name else exc.strerror
    text = " ".join(str(exc).split()) or type(exc).__name__
    if len(text) > 160 and "failed: " in text:  # sqlite3_exec(<the whole statement>) failed: disk I/O error
        text = text.rsplit("failed: ", 1)[1]
    return text if len(text) <= 160 else text[:157] + "..."


def _write_error(target: Path, exc: BaseException, *, with_file: bool = False) -> OutputError:
    return OutputError(
        f"could not write {str(target)!r}: {_reason(exc, with_file=with_file)} (is the disk full or the folder "
        "read-only? nothing was replaced)"
    )


@contextlib.contextmanager
def atomic_path(path: Path, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary file path next to ``path``; on success rename it to ``path``.

    Whatever the writer leaves beside the temporary file (a SQLite journal, a GDAL sidecar) is removed too.

    Raises:
        OutputError: the target exists without ``overwrite``, or cannot be written (disk full, not writable, an
            I/O error of the writing library).
    """
    check_target(path, overwrite=overwrite)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part" + path.suffix, dir=path.parent)
    except OSError as exc:
        raise _write_error(path, exc) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    try:
        yield tmp
        if tmp.is_file():
            tmp.chmod(0o666 & ~_umask())  # mkstemp makes 0600; outputs get the user's usual mode
        os.replace(tmp, path)
    except Exception as exc:
        if _is_write_failure(exc, single_file=True):
            raise _write_error(path, exc) from exc
        raise
    finally:
        for leftover in glob.glob(glob.escape(str(tmp)) + "*"):  # the file, -journal, -wal, .aux.xml, ...
            with contextlib.suppress(OSError):
                os.unlink(leftover)


@contextlib.contextmanager
def atomic_dir(path: Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder next to ``path``; on success swap it in for ``path``.

    An existing ``path`` is replaced only once the new folder is complete; should that swap fail, the old folder
    is put back.

    Raises:
        OutputError: the target exists without ``overwrite``, or cannot be written (disk full, not writable).
    """
    check_target(path, overwrite=overwrite)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent))
    except OSError as exc:
        raise OutputError(f"cannot write in {str(path.parent)!r}: {exc.strerror or exc}") from exc
    try:
        tmp.chmod(0o777 & ~_umask())  # mkdtemp makes 0700; outputs get the user's usual mode
        yield tmp
        _swap(tmp, path)
    except Exception as exc:
        about_tmp = tmp.name in str(exc) or tmp.name in str(getattr(exc, "filename", "") or "")
        if isinstance(exc, OutputError) and about_tmp:  # a file inside: name it where it will belong
            raise OutputError(str(exc).replace(str(tmp), str(path))) from exc
        # the body also reads inputs: besides a refused write, only an error about a file in the temporary folder
        # (a work file that could not be written, then not read back) is a write failure
        if _is_write_failure(exc, single_file=False) or (about_tmp and not isinstance(exc, SkywatchError)):
            raise OutputError(str(_write_error(path, exc, with_file=True)).replace(str(tmp), str(path))) from exc
        raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _swap(new: Path, path: Path) -> None:
    """Rename ``new`` to ``path``, moving an existing ``path`` aside first and back if the rename fails."""
    old = None
    if path.exists():
        old = path.with_name(f".{path.name}.old-{os.getpid()}")
        os.replace(path, old)
    try:
        os.replace(new, path)
    except OSError:
        if old is not None:
            os.replace(old, path)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
