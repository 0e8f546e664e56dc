"""Sentinel Hub: the Catalog API to search, the Process API for pixels (``sentinelhub`` package).

Credentials: ``SH_CLIENT_ID`` and ``SH_CLIENT_SECRET`` from the environment, or the sentinelhub config file
(``sentinelhub.config --sh_client_id ...``). The Process API returns at most 2500 x 2500 pixels per request
(Sentinel Hub documentation), so a grid is fetched in tiles of at most ``max_px`` and assembled lazily.
Sentinel-2 L2A comes as reflectance (Sentinel Hub applies the baseline offset); Sentinel-1 IW GRD is asked for
as orthorectified sigma0 (``backCoeff: SIGMA0_ELLIPSOID``), linear power, and converted to dB here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import xarray as xr
from odc.geo.geobox import GeoBox

from skywatch.errors import SourceError
from skywatch.sources.credentials import CredentialError, check_file_permissions
from skywatch.sources.http import AuthError, RetryPolicy
from skywatch.sources.providers import S2_NUMBERED
from skywatch.sources.tiling import dataset_from_stack, tiled_stack
from skywatch.types import BandName, BBox

__all__ = ["SentinelHubSource", "evalscript", "sentinelhub_config"]

_S2 = S2_NUMBERED
_S1 = {"vv": "VV", "vh": "VH"}


def sentinelhub_config(env: Mapping[str, str]) -> Any:
    """An ``SHConfig`` with OAuth client credentials from ``env`` or the sentinelhub config file.

    Raises:
        CredentialError: neither is set (the message names both ways; no value is ever shown).
    """
    from sentinelhub import SHConfig

    config = SHConfig()
    # the library's own retries follow skywatch's policy (its defaults wait 5 s and double, so an unreachable
    # service took over a minute to report)
    policy = RetryPolicy()
    config.max_download_attempts = policy.max_attempts
    config.download_sleep_time = policy.backoff_s
    config.download_timeout_seconds = policy.timeout_s
    if env.get("SH_CLIENT_ID") and env.get("SH_CLIENT_SECRET"):
        config.sh_client_id = env["SH_CLIENT_ID"]
        config.sh_client_secret = env["SH_CLIENT_SECRET"]
    else:
        location = getattr(SHConfig, "get_config_location", None)
        if callable(location):
            check_file_permissions(Path(location()))
    if not (config.sh_client_id and config.sh_client_secret):
        raise CredentialError(
            "Sentinel Hub needs OAuth client credentials: set SH_CLIENT_ID and SH_CLIENT_SECRET, or store them with "
            "`sentinelhub.config --sh_client_id ... --sh_client_secret ...` (create an OAuth client in the "
            "Sentinel Hub dashboard)"
        )
    return config


def evalscript(bands: Sequence[str], collection: str) -> str:
    """A version-3 evalscript returning ``bands`` (canonical names) as FLOAT32, plus ``dataMask`` last."""
    table = _S1 if collection == "sentinel-1-grd" else _S2
    names = [table[b] for b in bands]
    units = ", ".join('"DN"' if n == "SCL" or collection == "sentinel-1-grd" else '"REFLECTANCE"' for n in names)
    listed = ", ".join(f'"{n}"' for n in names)
    values = ", ".join(f"s.{n}" for n in names)
    return (
        "//VERSION=3\n"
        "function setup() {\n"
        f'  return {{input: [{{bands: [{listed}, "dataMask"], units: [{units}, "DN"]}}],\n'
        f'          output: {{bands: {len(names) + 1}, sampleType: "FLOAT32"}}}};\n'
        "}\n"
        f"function evaluatePixel(s) {{ return [{values}, s.dataMask]; }}\n"
    )


@dataclass(frozen=True, kw_only=True)
class SentinelHubSource:
    """Sentinel Hub Catalog + Process APIs."""

    config: Any = field(repr=False)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    max_px: int = 2500
    name: str = "sentinelhub"

    def _collection(self, collection: str) -> Any:
        from sentinelhub import DataCollection

        table = {"sentinel-2-l2a": DataCollection.SENTINEL2_L2A, "sentinel-1-grd": DataCollection.SENTINEL1_IW}
        if collection not in table:
            raise SourceError(f"collection {collection!r} is not offered through sentinelhub; use {sorted(table)}")
        return table[collection]

    def search(
        self, *, bbox: BBox, start: date, end: date, collection: str, max_cloud: float | None = None
    ) -> list[pystac.Item]:
        """Scenes from the Catalog API, one item per acquisition (no assets: pixels come from :meth:`load`).

        Raises:
            AuthError: the OAuth client was refused; SourceError: the API failed.
        """
        from sentinelhub import CRS, SentinelHubCatalog
        from sentinelhub import BBox as SHBBox

        catalog = SentinelHubCatalog(config=self.config)
        kwargs: dict[str, Any] = {}
        if max_cloud is not None and collection == "sentinel-2-l2a":
            kwargs["filter"] = f"eo:cloud_cover < {float(max_cloud)}"
        try:
            results = list(
                catalog.search(
                    self._collection(collection),
                    bbox=SHBBox(bbox, crs=CRS.WGS84),
                    time=(start.isoformat(), (end + timedelta(days=1)).isoformat()),
                    **kwargs,
                )
            )
        except Exception as exc:  # sentinelhub raises DownloadFailedException / OAuth errors
            raise _translate(exc) from None
        items = []
        for feature in results:
            when = datetime.fromisoformat(feature["properties"]["datetime"].replace("Z", "+00:00"))
            props = {k: v for k, v in feature.get("properties", {}).items() if k != "datetime"}
            props.update({"skywatch:provider": self.name, "skywatch:collection": collection})
            items.append(
                pystac.Item(
                    id=feature["id"],
                    geometry=feature.get("geometry"),
                    bbox=feature.get("bbox"),
                    datetime=when.astimezone(UTC),
                    properties=props,
                )
            )
        return sorted(items, key=lambda it: (it.datetime, it.id))

    def load(
        self, items: Sequence[pystac.Item], *, bands: Sequence[BandName], bounds: BBox, epsg: int, resolution: float
    ) -> xr.Dataset:
        """Process API pixels, one time step per acquisition day, fetched lazily in tiles.

        Raises:
            SourceError: no items; AuthError: refused credentials (raised when computed).
        """
        if not items:
            raise SourceError("no scenes to load: the search found nothing for this AOI and date range")
        collection = str(items[0].properties.get("skywatch:collection", "sentinel-2-l2a"))
        geobox = GeoBox.from_bbox(bounds, crs=f"EPSG:{epsg}", resolution=resolution)
        days = sorted({it.datetime.date() for it in items if it.datetime})
        stack = tiled_stack(
            geobox, days, step=self.max_px, layers=len(bands) + 1,
            fetch=lambda day, tile: self._fetch(tile, day, list(bands), collection, epsg),
        )  # fmt: skip
        attrs = {"epsg": epsg, "resolution": resolution, "scenes": [it.id for it in items]}
        return dataset_from_stack(stack, geobox, days, bands, linear_to_db=collection == "sentinel-1-grd", attrs=attrs)

    def _fetch(self, geobox: GeoBox, day: date, bands: list[str], collection: str, epsg: int) -> np.ndarray:
        from sentinelhub import CRS, MimeType, MosaickingOrder, SentinelHubRequest
        from sentinelhub import BBox as SHBBox

        minx, miny, maxx, maxy = geobox.boundingbox
        other: dict[str, Any] = {}
        if collection == "sentinel-1-grd":
            other = {"processing": {"backCoeff": "SIGMA0_ELLIPSOID", "orthorectify": True}}
        request = SentinelHubRequest(
            evalscript=evalscript(bands, collection),
            input_data=[
                SentinelHubRequest.input_data(
                    self._collection(collection),
                    time_interval=(day.isoformat(), (day + timedelta(days=1)).isoformat()),
                    mosaicking_order=MosaickingOrder.LEAST_CC if collection != "sentinel-1-grd" else None,
                    other_args=other or None,
                )
            ],
            responses=[SentinelHubRequest.output_response("default", MimeType.TIFF)],
            bbox=SHBBox((minx, miny, maxx, maxy), crs=CRS(epsg)),
            size=(geobox.shape[1], geobox.shape[0]),
            config=self.config,
        )
        try:
            (arr,) = request.get_data()
        except Exception as exc:
            raise _translate(exc) from None
        out = np.asarray(arr, dtype=np.float32)
        if out.ndim == 2:
            out = out[..., None]
        out = np.moveaxis(out, -1, 0)
        if out.shape != (len(bands) + 1, *geobox.shape):
            raise SourceError(
                f"Sentinel Hub returned an array of shape {out.shape}; expected {(len(bands) + 1, *geobox.shape)}"
            )
        return out


def _translate(exc: Exception) -> SourceError:
    text = str(exc)
    status = getattr(getattr(exc, "request_exception", None), "response", None)
    code = getattr(status, "status_code", None)
    if code in (401, 403) or "401" in text[:200] or "invalid_client" in text or "Unauthorized" in text:
        return AuthError("Sentinel Hub refused the OAuth client (HTTP 401/403); check SH_CLIENT_ID/SH_CLIENT_SECRET")
    first = text.splitlines()[0][:200] if text else type(exc).__name__
    return SourceError(f"Sentinel Hub request failed: {first}")
