"""The one exception hierarchy of skywatch.

Every error a user can cause derives from :class:`SkywatchError`. Messages say what was given and how to fix
it; the CLI prints them on one line and exits 1 (2 for usage errors), without a traceback.
"""

from __future__ import annotations

__all__ = [
    "AOIError",
    "CamtrapError",
    "DataError",
    "DependencyError",
    "GridError",
    "OutputError",
    "SkywatchError",
    "SourceError",
]


class SkywatchError(Exception):
    """Root of every error skywatch raises on purpose."""


class AOIError(SkywatchError, ValueError):
    """An area of interest could not be read or is not a usable polygon."""


class GridError(SkywatchError, ValueError):
    """A tiling grid was asked for with impossible parameters."""


class SourceError(SkywatchError, OSError):
    """Imagery could not be found or read from a source."""


class DataError(SkywatchError, ValueError):
    """Input data (rasters, tables, catalogs) are malformed or inconsistent."""


class CamtrapError(DataError):
    """A camera-trap package or table is malformed."""


class OutputError(SkywatchError, OSError):
    """An output could not be written (exists without --overwrite, not writable, ...)."""


class DependencyError(SkywatchError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""
