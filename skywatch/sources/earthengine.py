"""Google Earth Engine (``earthengine-api``): ``COPERNICUS/S2_SR_HARMONIZED`` and ``COPERNICUS/S1_GRD``.

Search runs an ``ImageCollection`` query and reads back (id, time, cloud cover) in one ``getInfo``; pixels come
from ``ee.data.computePixels`` on skywatch's grid, in tiles small enough for the request limit (documented as
50,331,648 bytes per request; skywatch keeps each tile under 48 MiB). S2_SR_HARMONIZED holds reflectance x 10000
with the baseline-04.00 offset already removed; S1_GRD holds sigma0 in dB (Earth Engine's own preprocessing).

Credentials: ``EE_PROJECT`` (the Cloud project to bill) and either a service account (``EE_SERVICE_ACCOUNT`` +
``EE_PRIVATE_KEY_FILE``) or the user credentials that ``earthengine authenticate`` stores.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import xarray as xr
from odc.geo.geobox import GeoBox
from rasterio.io import MemoryFile

from skywatch.errors import SourceError
from skywatch.sources.credentials import CredentialError, check_file_permissions
from skywatch.sources.http import AuthError
from skywatch.sources.tiling import dataset_from_stack, tiled_stack
from skywatch.types import BandName, BBox

__all__ = ["COLLECTIONS", "EarthEngineSession", "EarthEngineSource", "earthengine_session", "tile_edge"]

COLLECTIONS = {"sentinel-2-l2a": "COPERNICUS/S2_SR_HARMONIZED", "sentinel-1-grd": "COPERNICUS/S1_GRD"}
_S2 = {
    "coastal": "B1",
    "blue": "B2",
    "green": "B3",
    "red": "B4",
    "rededge1": "B5",
    "rededge2": "B6",
    "rededge3": "B7",
    "nir": "B8",
    "nir08": "B8A",
    "nir09": "B9",
    "swir16": "B11",
    "swir22": "B12",
    "scl": "SCL",
}
_S1 = {"vv": "VV", "vh": "VH"}
MAX_REQUEST_BYTES = 48 * 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class EarthEngineSession:
    """How to initialise the ``ee`` library (called once, lazily, before the first request)."""

    project: str
    initialize: Callable[[], None] = field(repr=False)


def earthengine_session(env: Mapping[str, str], *, stored_credentials: Path | None = None) -> EarthEngineSession:
    """Credentials and project from ``env`` (user credentials from ``stored_credentials``, default where
    ``earthengine authenticate`` writes them).

    Raises:
        CredentialError: no project, or neither a service account nor stored user credentials.
    """
    import ee

    project = env.get("EE_PROJECT", "")
    if not project:
        raise CredentialError("Earth Engine needs EE_PROJECT (the Google Cloud project registered for Earth Engine)")
    account, key_file = env.get("EE_SERVICE_ACCOUNT"), env.get("EE_PRIVATE_KEY_FILE")
    if account and key_file:
        key = Path(key_file)
        if not key.is_file():
            raise CredentialError(f"EE_PRIVATE_KEY_FILE points to {str(key)!r}, which is not a file")
        check_file_permissions(key)

        def initialize() -> None:
            ee.Initialize(ee.ServiceAccountCredentials(account, str(key)), project=project)

        return EarthEngineSession(project=project, initialize=initialize)
    stored = stored_credentials or Path(ee.oauth.get_credentials_path())
    if not stored.is_file():
        raise CredentialError(
            "Earth Engine needs credentials: set EE_SERVICE_ACCOUNT and EE_PRIVATE_KEY_FILE, or run "
            "`earthengine authenticate` once"
        )
    check_file_permissions(stored)
    return EarthEngineSession(project=project, initialize=lambda: ee.Initialize(project=project))


def tile_edge(n_bands: int, bytes_per_value: int = 4, limit: int = MAX_REQUEST_BYTES) -> int:
    """Largest square tile edge (px, a multiple of 16) whose ``n_bands`` values fit one request."""
    edge = int(math.sqrt(limit / (n_bands * bytes_per_value)))
    return max(16, min(4096, edge - edge % 16))


@dataclass(frozen=True, kw_only=True)
class EarthEngineSource:
    """Earth Engine search and pixels."""

    session: EarthEngineSession
    name: str = "earthengine"
    _state: dict[str, bool] = field(default_factory=dict, repr=False, compare=False)

    def _ee(self) -> Any:
        import ee

        if not self._state.get("ready"):
            try:
                self.session.initialize()
            except Exception as exc:
                raise _translate(exc) from None
            self._state["ready"] = True
        return ee

    def search(
        self, *, bbox: BBox, start: date, end: date, collection: str, max_cloud: float | None = None
    ) -> list[pystac.Item]:
        """Scenes of the Earth Engine collection (no assets: pixels come from :meth:`load`).

        Raises:
            AuthError, SourceError: Earth Engine refused or failed the request.
        """
        if collection not in COLLECTIONS:
            raise SourceError(
                f"collection {collection!r} is not offered through earthengine; use {sorted(COLLECTIONS)}"
            )
        ee = self._ee()
        coll_id = COLLECTIONS[collection]
        ic = (
            ee.ImageCollection(coll_id)
            .filterBounds(ee.Geometry.Rectangle(list(bbox)))
            .filterDate(start.isoformat(), (end + timedelta(days=1)).isoformat())
        )
        prop = "CLOUDY_PIXEL_PERCENTAGE"
        if collection == "sentinel-1-grd":
            ic = ic.filter(ee.Filter.eq("instrumentMode", "IW"))
            prop = "orbitProperties_pass"
        elif max_cloud is not None:
            ic = ic.filter(ee.Filter.lte(prop, float(max_cloud)))
        try:
            rows = ic.reduceColumns(ee.Reducer.toList(3), ["system:index", "system:time_start", prop]).get("list")
            table = rows.getInfo()
        except Exception as exc:
            raise _translate(exc) from None
        items = []
        for index, millis, extra in table or []:
            props: dict[str, Any] = {"skywatch:provider": self.name, "skywatch:collection": collection}
            if collection == "sentinel-2-l2a":
                props["eo:cloud_cover"] = extra
            else:
                props["sat:orbit_state"] = str(extra).lower()
            when = datetime.fromtimestamp(millis / 1000, tz=UTC)
            items.append(
                pystac.Item(id=f"{coll_id}/{index}", geometry=None, bbox=None, datetime=when, properties=props)
            )
        return sorted(items, key=lambda it: (it.datetime, it.id))

    def load(
        self, items: Sequence[pystac.Item], *, bands: Sequence[BandName], bounds: BBox, epsg: int, resolution: float
    ) -> xr.Dataset:
        """Pixels on the grid, one time step per day (the day's scenes mosaicked), fetched lazily in tiles.

        Raises:
            SourceError: no items; Earth Engine errors surface when the cube is computed.
        """
        if not items:
            raise SourceError("no scenes to load: the search found nothing for this AOI and date range")
        collection = str(items[0].properties.get("skywatch:collection", "sentinel-2-l2a"))
        table = _S1 if collection == "sentinel-1-grd" else _S2
        missing = [b for b in bands if b not in table]
        if missing:
            raise SourceError(f"Earth Engine {COLLECTIONS[collection]} has no band(s) {missing}")
        names = [table[b] for b in bands]
        by_day: dict[date, list[str]] = {}
        for it in items:
            if it.datetime is not None:
                by_day.setdefault(it.datetime.date(), []).append(it.id)
        days = sorted(by_day)
        geobox = GeoBox.from_bbox(bounds, crs=f"EPSG:{epsg}", resolution=resolution)
        stack = tiled_stack(
            geobox, days, step=tile_edge(len(names) + 1), layers=len(names) + 1,
            fetch=lambda day, tile: self._fetch(by_day[day], names, tile, epsg),
        )  # fmt: skip
        attrs = {"epsg": epsg, "resolution": resolution, "scenes": [it.id for it in items]}
        scale = 1.0 if collection == "sentinel-1-grd" else 1e-4  # S1_GRD is dB already; S2 is x 10000
        return dataset_from_stack(stack, geobox, days, bands, reflectance_scale=scale, attrs=attrs)

    def _fetch(self, ids: list[str], names: list[str], geobox: GeoBox, epsg: int) -> np.ndarray:
        ee = self._ee()
        mosaic = ee.ImageCollection.fromImages([ee.Image(i) for i in ids]).mosaic().select(names).toFloat()
        valid = mosaic.mask().reduce(ee.Reducer.min()).toFloat().rename("valid")
        minx, _, _, maxy = geobox.boundingbox
        res = geobox.resolution.x
        request = {
            "expression": mosaic.addBands(valid).unmask(0),
            "fileFormat": "GEO_TIFF",
            "grid": {
                "dimensions": {"width": geobox.shape[1], "height": geobox.shape[0]},
                "affineTransform": {
                    "scaleX": res,
                    "shearX": 0,
                    "translateX": minx,
                    "shearY": 0,
                    "scaleY": -res,
                    "translateY": maxy,
                },
                "crsCode": f"EPSG:{epsg}",
            },
        }
        try:
            payload = ee.data.computePixels(request)
        except Exception as exc:
            raise _translate(exc) from None
        with MemoryFile(payload) as mem, mem.open() as ds:
            out = ds.read().astype(np.float32)
        if out.shape != (len(names) + 1, *geobox.shape):
            raise SourceError(f"Earth Engine returned {out.shape}; expected {(len(names) + 1, *geobox.shape)}")
        return out


def _translate(exc: Exception) -> SourceError:
    text = str(exc)
    first = text.splitlines()[0][:200] if text else type(exc).__name__
    keys = ("PERMISSION_DENIED", "Permission denied", "403", "401", "not signed up", "UNAUTHENTICATED")
    if any(k in text for k in keys):
        return AuthError(f"Earth Engine refused the request ({first}); check EE_PROJECT and the credentials")
    return SourceError(f"Earth Engine request failed: {first}")
