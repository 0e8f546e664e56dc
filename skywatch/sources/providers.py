"""The imagery providers skywatch knows, as data: endpoint, collection names and asset keys.

Canonical band names are Earth Search's asset keys (REFERENCE.md): coastal, blue, green, red, rededge1-3, nir,
nir08, nir09, swir16, swir22, scl; Sentinel-1: vv, vh. Each provider maps them to its own keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from skywatch.errors import SourceError

__all__ = ["COLLECTIONS", "PROVIDERS", "S1_BANDS", "S2_BANDS", "S2_NUMBERED", "Provider", "get_provider"]

S2_BANDS: tuple[str, ...] = (
    "coastal",
    "blue",
    "green",
    "red",
    "rededge1",
    "rededge2",
    "rededge3",
    "nir",
    "nir08",
    "nir09",
    "swir16",
    "swir22",
    "scl",
)
S1_BANDS: tuple[str, ...] = ("vv", "vh")
COLLECTIONS = ("sentinel-2-l2a", "sentinel-1-grd")

S2_NUMBERED = {
    "coastal": "B01",
    "blue": "B02",
    "green": "B03",
    "red": "B04",
    "rededge1": "B05",
    "rededge2": "B06",
    "rededge3": "B07",
    "nir": "B08",
    "nir08": "B8A",
    "nir09": "B09",
    "swir16": "B11",
    "swir22": "B12",
    "scl": "SCL",
}
_CDSE_RES = {"B01": 60, "B02": 10, "B03": 10, "B04": 10, "B08": 10, "B09": 60, "SCL": 20}


@dataclass(frozen=True, kw_only=True)
class Provider:
    """One STAC imagery provider.

    Attributes:
        name: skywatch's name for it (``--provider``).
        url: STAC API root.
        collections: skywatch collection -> the provider's collection id.
        assets: canonical band -> the provider's asset key, per skywatch collection.
        s1_linear_power: True when its Sentinel-1 collection holds calibrated linear backscatter (converted to
            dB); False when it holds uncalibrated GRD digital numbers (refused for sigma0).
        needs: What the user must provide ("" when nothing).
    """

    name: str
    url: str
    collections: dict[str, str]
    assets: dict[str, dict[str, str]] = field(default_factory=dict)
    s1_linear_power: bool = False
    needs: str = ""

    def collection_id(self, collection: str) -> str:
        """The provider's id for skywatch ``collection``.

        Raises:
            SourceError: unknown collection.
        """
        try:
            return self.collections[collection]
        except KeyError:
            raise SourceError(
                f"collection {collection!r} is not offered through {self.name}; "
                f"choose one of {sorted(self.collections)}"
            ) from None

    def asset_key(self, collection: str, band: str) -> str:
        """The provider's asset key for canonical ``band``."""
        return self.assets.get(collection, {}).get(band, band)


PROVIDERS: dict[str, Provider] = {
    "earth-search": Provider(
        name="earth-search",
        url="https://earth-search.aws.element84.com/v1",
        collections={"sentinel-2-l2a": "sentinel-2-c1-l2a", "sentinel-1-grd": "sentinel-1-grd"},
        # Earth Search's keys are the canonical ones; its GRD assets are requester-pays, uncalibrated DN.
    ),
    "planetary-computer": Provider(
        name="planetary-computer",
        url="https://planetarycomputer.microsoft.com/api/stac/v1",
        # sentinel-1-rtc: radiometrically terrain-corrected gamma0, linear power (needs signing like all PC data)
        collections={"sentinel-2-l2a": "sentinel-2-l2a", "sentinel-1-grd": "sentinel-1-rtc"},
        assets={"sentinel-2-l2a": dict(S2_NUMBERED)},
        s1_linear_power=True,
        needs="the planetary-computer package for URL signing: pip install 'skywatch[planetary-computer]'",
    ),
    "cdse": Provider(
        name="cdse",
        url="https://stac.dataspace.copernicus.eu/v1",
        collections={"sentinel-2-l2a": "sentinel-2-l2a", "sentinel-1-grd": "sentinel-1-grd"},
        assets={
            "sentinel-2-l2a": {band: f"{key}_{_CDSE_RES.get(key, 20)}m" for band, key in S2_NUMBERED.items()},
            "sentinel-1-grd": {"vv": "VV", "vh": "VH"},
        },
        needs="S3 keys for eodata: CDSE_S3_ACCESS_KEY and CDSE_S3_SECRET_KEY (https://eodata-s3keysmanager.dataspace.copernicus.eu)",
    ),
}


def get_provider(name: str) -> Provider:
    """The provider called ``name``.

    Raises:
        SourceError: unknown name (the message lists the known ones).
    """
    try:
        return PROVIDERS[name]
    except KeyError:
        known = ", ".join([*PROVIDERS, "sentinelhub", "earthengine", "local"])
        raise SourceError(f"unknown provider {name!r}; choose one of {known}") from None
