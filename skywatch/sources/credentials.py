"""Credentials from the environment or a config file, checked, never echoed.

Library code reads the mapping it is given (the CLI passes ``os.environ``); it never writes the environment.
"""

from __future__ import annotations

import stat
import warnings
from collections.abc import Mapping
from pathlib import Path

from skywatch.errors import SourceError

__all__ = ["CredentialError", "cdse_s3", "check_file_permissions", "require"]

CDSE_S3_ENDPOINT = "eodata.dataspace.copernicus.eu"


class CredentialError(SourceError, PermissionError):
    """Credentials are missing; the message says which variable or file to set (never a value)."""


def require(env: Mapping[str, str], *names: str, what: str, how: str) -> dict[str, str]:
    """The values of ``names`` from ``env``.

    Raises:
        CredentialError: naming every missing variable and how to get it.
    """
    missing = [n for n in names if not env.get(n)]
    if missing:
        raise CredentialError(f"{what} needs {' and '.join(missing)} in the environment; {how}")
    return {n: env[n] for n in names}


def cdse_s3(env: Mapping[str, str]) -> dict[str, str]:
    """S3 keys for Copernicus Data Space ``eodata`` (``CDSE_S3_ACCESS_KEY``/``CDSE_S3_SECRET_KEY``)."""
    values = require(
        env,
        "CDSE_S3_ACCESS_KEY",
        "CDSE_S3_SECRET_KEY",
        what="reading Copernicus Data Space imagery",
        how="create S3 keys at https://eodata-s3keysmanager.dataspace.copernicus.eu",
    )
    return {
        "key": values["CDSE_S3_ACCESS_KEY"],
        "secret": values["CDSE_S3_SECRET_KEY"],
        "endpoint": env.get("CDSE_S3_ENDPOINT", CDSE_S3_ENDPOINT),
    }


def check_file_permissions(path: Path) -> None:
    """Warn when a credentials file can be read by other users."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        warnings.warn(f"credentials file {str(path)!r} is readable by other users; run: chmod 600 {path}", stacklevel=2)
