"""Pure metadata rules for STAC items: reflectance scale/offset, scene properties (values in, values out)."""

from __future__ import annotations

from typing import Any

__all__ = ["cloud_cover", "mgrs_tile", "reflectance_scaling"]

# Sentinel-2 L2A processing baseline 04.00 (January 2022) added BOA_ADD_OFFSET = -1000 DN (REFERENCE.md).
_BASELINE_WITH_OFFSET = (4, 0)


def _baseline(value: Any) -> tuple[int, int] | None:
    try:
        major, minor = str(value).split(".")[:2]
        return int(major), int(minor)
    except (ValueError, AttributeError):
        return None


def reflectance_scaling(properties: dict[str, Any], asset: dict[str, Any]) -> tuple[float, float]:
    """(scale, offset) turning an asset's digital numbers into reflectance.

    In order: the asset's ``raster:bands`` scale/offset when it declares them (Earth Search
    ``sentinel-2-c1-l2a``); no offset when the provider says it already removed it
    (``earthsearch:boa_offset_applied``); otherwise 1e-4 and, for processing baseline >= 04.00
    (``s2:processing_baseline``), an offset of -0.1 (Planetary Computer, CDSE).
    """
    bands = asset.get("raster:bands") or []
    if bands and ("scale" in bands[0] or "offset" in bands[0]):
        return float(bands[0].get("scale", 1.0)), float(bands[0].get("offset", 0.0))
    if properties.get("earthsearch:boa_offset_applied") is True:
        return 1e-4, 0.0
    baseline = _baseline(properties.get("s2:processing_baseline"))
    offset = -0.1 if baseline is not None and baseline >= _BASELINE_WITH_OFFSET else 0.0
    return 1e-4, offset


def cloud_cover(properties: dict[str, Any]) -> float | None:
    """Scene cloud cover in percent (``eo:cloud_cover``), None when unknown."""
    value = properties.get("eo:cloud_cover")
    return float(value) if isinstance(value, int | float) else None


def mgrs_tile(properties: dict[str, Any], item_id: str = "") -> str:
    """MGRS tile such as ``52TFN`` from ``grid:code``, the mgrs extension or ``s2:mgrs_tile``; '' if unknown."""
    code = properties.get("grid:code")
    if isinstance(code, str) and code.startswith("MGRS-"):
        return code[5:]
    zone, band, square = (properties.get(k) for k in ("mgrs:utm_zone", "mgrs:latitude_band", "mgrs:grid_square"))
    if zone and band and square:
        return f"{int(zone):02d}{band}{square}"
    tile = properties.get("s2:mgrs_tile")
    return str(tile) if tile else ""
