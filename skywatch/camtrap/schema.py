"""The vendored Camtrap DP 1.0.2 table schemas (see ``schemas/README.md``)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

__all__ = ["SCHEMA_DIR", "table_fields"]

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"


@cache
def table_fields(table: str) -> tuple[str, ...]:
    """Field names of ``table`` (deployments, media, observations) in schema order."""
    doc = json.loads((SCHEMA_DIR / f"{table}-table-schema.json").read_text(encoding="utf-8"))
    return tuple(f["name"] for f in doc["fields"])
