"""Default layer styles inside a GeoPackage: the ``layer_styles`` table QGIS reads when a layer is added.

The table, its columns and its registration are the ones QGIS 3.22 itself writes through GDAL 3.6 (``Save Style ...
In Database``): an ``attributes`` table in ``gpkg_contents`` (so GDAL/pyogrio list it as a non-spatial table, as for
any GeoPackage QGIS styled), FID column ``id``, empty ``f_table_catalog``/``f_table_schema`` (QGIS filters on
``f_table_schema=''``), ``f_geometry_column`` equal to the layer's real geometry column (REFERENCE.md), and the
``gpkg_ogr_contents`` feature count kept by the same triggers GDAL creates.

Written with :mod:`sqlite3` in one transaction, in place: call it on a GeoPackage still at its temporary path (inside
:func:`skywatch.outputs.atomic.atomic_path`), before the rename. No journal file is left behind.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Mapping
from pathlib import Path

from skywatch.errors import DataError, OutputError

__all__ = ["LAYER_STYLES_TABLE", "write_layer_styles"]

LAYER_STYLES_TABLE = "layer_styles"
_GPKG_APPLICATION_ID = 0x47504B47  # "GPKG"
_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ','now')"
_CREATE = f"""CREATE TABLE IF NOT EXISTS "{LAYER_STYLES_TABLE}" (
 "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
 "f_table_catalog" TEXT(256), "f_table_schema" TEXT(256), "f_table_name" TEXT(256), "f_geometry_column" TEXT(256),
 "styleName" TEXT(30), "styleQML" TEXT, "styleSLD" TEXT, "useAsDefault" BOOLEAN, "description" TEXT,
 "owner" TEXT(30), "ui" TEXT(30), "update_time" DATETIME DEFAULT ({_NOW}))"""
_TRIGGERS = (
    f"""CREATE TRIGGER IF NOT EXISTS "trigger_insert_feature_count_{LAYER_STYLES_TABLE}"
 AFTER INSERT ON "{LAYER_STYLES_TABLE}" BEGIN UPDATE gpkg_ogr_contents SET feature_count = feature_count + 1
 WHERE lower(table_name) = lower('{LAYER_STYLES_TABLE}'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS "trigger_delete_feature_count_{LAYER_STYLES_TABLE}"
 AFTER DELETE ON "{LAYER_STYLES_TABLE}" BEGIN UPDATE gpkg_ogr_contents SET feature_count = feature_count - 1
 WHERE lower(table_name) = lower('{LAYER_STYLES_TABLE}'); END""",
)


def write_layer_styles(
    gpkg_path: Path,
    styles: Mapping[str, tuple[str, str]],
    *,
    geometry_column: str = "geom",
    description: str = "skywatch default style",
) -> Path:
    """Store ``styles`` (layer name -> ``(qml, sld)``) as each layer's default style in ``gpkg_path``.

    Creates ``layer_styles`` when absent and registers it as QGIS does; a layer's existing style of the same name
    (the layer name) is replaced, and it becomes the only default (``useAsDefault=1``) for that layer.

    Args:
        gpkg_path: An existing GeoPackage (typically the temporary path of an atomic write).
        styles: Layer name -> (QML text, SLD text); see :func:`skywatch.outputs.styles.vector_style`.
        geometry_column: The layers' geometry column (pyogrio and GDAL write ``geom``); it must match the real one,
            or QGIS silently ignores the style.
        description: Stored in the ``description`` column.

    Raises:
        DataError: not a GeoPackage, an unknown layer, or a layer whose geometry column is not ``geometry_column``.
        OutputError: the file cannot be opened or written.
    """
    if not gpkg_path.is_file():
        raise OutputError(f"GeoPackage {str(gpkg_path)!r} does not exist; write the layers before their styles")
    try:
        with contextlib.closing(sqlite3.connect(gpkg_path, isolation_level=None)) as con:
            _check_geopackage(con, gpkg_path)
            columns = _geometry_columns(con)
            contents = {row[0] for row in con.execute("SELECT table_name FROM gpkg_contents")}
            for layer in styles:
                _check_layer(gpkg_path, layer, contents, columns, geometry_column)
            con.execute("BEGIN IMMEDIATE")
            try:
                _ensure_table(con)
                for layer, (qml, sld) in styles.items():
                    _upsert(con, layer, columns.get(layer, ""), qml, sld, description)
                con.execute(
                    f"UPDATE gpkg_contents SET last_change = {_NOW} WHERE table_name = ?", (LAYER_STYLES_TABLE,)
                )
                con.execute("COMMIT")
            except BaseException:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise
    except sqlite3.Error as exc:
        raise OutputError(f"cannot write styles into {str(gpkg_path)!r}: {exc}") from exc
    return gpkg_path


def _check_geopackage(con: sqlite3.Connection, path: Path) -> None:
    (app_id,) = con.execute("PRAGMA application_id").fetchone()
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if app_id != _GPKG_APPLICATION_ID or not {"gpkg_contents", "gpkg_geometry_columns"} <= tables:
        raise DataError(f"{str(path)!r} is not a GeoPackage (application_id {app_id:#x}, no gpkg_contents)")


def _geometry_columns(con: sqlite3.Connection) -> dict[str, str]:
    return {t: c for t, c in con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns")}


def _check_layer(path: Path, layer: str, contents: set[str], columns: dict[str, str], expected: str) -> None:
    if layer not in contents or layer == LAYER_STYLES_TABLE:
        known = sorted(contents - {LAYER_STYLES_TABLE})
        raise DataError(f"{str(path)!r} has no layer {layer!r} to style; its layers are {known}")
    actual = columns.get(layer)
    if actual is not None and actual != expected:
        raise DataError(
            f"layer {layer!r} in {str(path)!r} stores its geometry in {actual!r}, not {expected!r}; "
            f"pass geometry_column={actual!r} (QGIS ignores a style whose f_geometry_column differs)"
        )


def _ensure_table(con: sqlite3.Connection) -> None:
    con.execute(_CREATE)
    con.execute(
        "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, last_change, srs_id) "
        f"VALUES (?, 'attributes', ?, '', {_NOW}, 0)",
        (LAYER_STYLES_TABLE, LAYER_STYLES_TABLE),
    )
    has_ogr_contents = con.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'gpkg_ogr_contents'"
    ).fetchone()
    if has_ogr_contents:
        (count,) = con.execute(f'SELECT count(*) FROM "{LAYER_STYLES_TABLE}"').fetchone()
        con.execute(
            "INSERT OR REPLACE INTO gpkg_ogr_contents (table_name, feature_count) VALUES (?, ?)",
            (LAYER_STYLES_TABLE, count),
        )
        for trigger in _TRIGGERS:
            con.execute(trigger)


def _upsert(con: sqlite3.Connection, layer: str, geom_col: str, qml: str, sld: str, description: str) -> None:
    key = (layer, geom_col)
    con.execute(
        f'UPDATE "{LAYER_STYLES_TABLE}" SET "useAsDefault" = 0 '
        "WHERE f_table_schema = '' AND f_table_name = ? AND f_geometry_column = ?",
        key,
    )
    updated = con.execute(
        f'UPDATE "{LAYER_STYLES_TABLE}" SET "styleQML" = ?, "styleSLD" = ?, "useAsDefault" = 1, "description" = ?, '
        f"update_time = {_NOW} "
        "WHERE f_table_schema = '' AND f_table_name = ? AND f_geometry_column = ? AND \"styleName\" = ?",
        (qml, sld, description, *key, layer),
    ).rowcount
    if not updated:
        con.execute(
            f'INSERT INTO "{LAYER_STYLES_TABLE}" (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, '
            '"styleName", "styleQML", "styleSLD", "useAsDefault", "description", "owner") '
            "VALUES ('', '', ?, ?, ?, ?, ?, 1, ?, '')",
            (*key, layer, qml, sld, description),
        )
