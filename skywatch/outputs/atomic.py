"""Atomic writes: build beside the target under a temporary name, then rename into place.

A reader never sees a half-written file or folder: either the old one, or the complete new one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from skywatch.errors import OutputError

__all__ = ["atomic_dir", "atomic_path", "check_target"]


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


@contextlib.contextmanager
def atomic_path(path: Path, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary file path next to ``path``; on success rename it to ``path``.

    Raises:
        OutputError: the target exists without ``overwrite``, or cannot be written.
    """
    check_target(path, overwrite=overwrite)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part" + path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    try:
        yield tmp
        if tmp.is_file():
            tmp.chmod(0o666 & ~_umask())  # mkstemp makes 0600; outputs get the user's usual mode
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"could not write {str(path)!r}: {exc.strerror or exc}") from exc
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_dir(path: Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder next to ``path``; on success swap it in for ``path``.

    Raises:
        OutputError: the target exists without ``overwrite``, or cannot be written.
    """
    check_target(path, overwrite=overwrite)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent))
    except OSError as exc:
        raise OutputError(f"cannot write in {str(path.parent)!r}: {exc.strerror or exc}") from exc
    try:
        tmp.chmod(0o777 & ~_umask())  # mkdtemp makes 0700; outputs get the user's usual mode
        yield tmp
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
