"""Lazy Dask-backed cubes from STAC items with odc-stac, on the project grid, in surface reflectance.

Digital numbers become reflectance with :func:`skywatch.sources.stac_meta.reflectance_scaling` per scene
(Earth Search c1 declares ``offset: -0.1``; Planetary Computer and CDSE imply it from the processing baseline);
nodata becomes NaN. Class bands (SCL) stay integers. Remote assets are probed once through the retrying HTTP
adapter (honouring ``Retry-After``) and then read by GDAL with the same retry policy.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import numpy as np
import odc.stac
import pystac
import xarray as xr
from odc.geo.geobox import GeoBox

from skywatch.errors import DataError, SourceError
from skywatch.sources.http import RetryPolicy, gdal_retry_options, probe, public_url
from skywatch.sources.providers import S1_BANDS
from skywatch.sources.stac_meta import reflectance_scaling
from skywatch.types import BandName, BBox

__all__ = ["CLASS_BANDS", "load_cube", "read_errors"]

CLASS_BANDS = frozenset({"scl"})


def _solar_day(item: pystac.Item) -> date:
    assert item.datetime is not None  # filtered by the caller
    lon = 0.0
    if item.bbox:
        lon = (item.bbox[0] + item.bbox[2]) / 2
    return (item.datetime + timedelta(hours=lon / 15.0)).date()


def load_cube(
    items: Sequence[pystac.Item],
    *,
    bands: Sequence[BandName],
    bounds: BBox,
    epsg: int,
    resolution: float = 10.0,
    chunk_px: int = 2048,
    policy: RetryPolicy | None = None,
    aws: Mapping[str, Any] | None = None,
    gdal_options: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Load ``bands`` of ``items`` lazily onto the grid ``bounds`` (metres of ``epsg``) at ``resolution``.

    ``chunk_px``: Dask chunk edge. 2048 puts a detection tile with its halo (1024 + 2 x 64 px by default) in one
    chunk per band and date: a tile's composite took 0.6 s instead of 1.2 s at 512 px chunks (fewer file opens and
    warps per tile; measured on the 16x benchmark pack, one core). A 2048 px float32 chunk is 16 MB.

    Scenes of one solar day are mosaicked. Reflectance bands are bilinearly resampled and returned as float32
    reflectance; class bands use nearest neighbour and keep their codes.

    Raises:
        SourceError: no items, an item lacks a band, or a remote asset cannot be reached.
        DataError: scenes of one solar day disagree on their reflectance offset.
    """
    if not items:
        raise SourceError("no scenes to load: the search found nothing for this AOI and date range")
    items = [it for it in items if it.datetime is not None]
    for item in items:
        missing = [b for b in bands if b not in item.assets]
        if missing:
            raise SourceError(f"scene {item.id!r} has no asset(s) {missing}; it has {sorted(item.assets)}")
    policy = policy or RetryPolicy()
    _probe_remote(items, bands, policy)
    # odc-loader reads under its own process-wide rasterio settings (an enclosing rasterio.Env does not reach
    # them), so the retry policy, and S3 credentials where a provider needs them, are set through it.
    odc.stac.configure_rio(
        cloud_defaults=True, aws=dict(aws) if aws else None, **{**gdal_retry_options(policy), **(gdal_options or {})}
    )
    geobox = GeoBox.from_bbox(bounds, crs=f"EPSG:{epsg}", resolution=resolution)
    resampling = {b: ("nearest" if b in CLASS_BANDS else "bilinear") for b in bands}
    try:
        raw = odc.stac.load(
            list(items),
            bands=list(bands),
            geobox=geobox,
            chunks={"x": chunk_px, "y": chunk_px},
            groupby="solar_day",
            resampling=resampling,
            fail_on_error=True,
        )
    except Exception as exc:  # odc-stac/rasterio raise many types; name the request
        raise SourceError(f"could not load bands {list(bands)} from {len(items)} scene(s): {exc}") from exc
    days = sorted({_solar_day(it) for it in items})
    out = {}
    for band in bands:
        da = raw[band]
        if band in CLASS_BANDS:
            out[band] = da
            continue
        scale, offset = _per_day_scaling(items, band, days)
        nodata = (items[0].assets[band].extra_fields.get("raster:bands") or [{}])[0].get("nodata", 0)
        s = xr.DataArray(scale, dims="time", coords={"time": da.time})
        o = xr.DataArray(offset, dims="time", coords={"time": da.time})
        refl = da.astype(np.float32) * s.astype(np.float32) + o.astype(np.float32)
        out[band] = refl.where(da != nodata).astype(np.float32)
    ds = xr.Dataset(out, attrs={"epsg": epsg, "resolution": resolution})
    ds.attrs["scenes"] = [it.id for it in items]
    return ds


def _per_day_scaling(items: Sequence[pystac.Item], band: str, days: list[date]) -> tuple[np.ndarray, np.ndarray]:
    by_day: dict[date, set[tuple[float, float]]] = {}
    for it in items:
        rule = (1.0, 0.0) if band in S1_BANDS else reflectance_scaling(it.properties, it.assets[band].to_dict())
        by_day.setdefault(_solar_day(it), set()).add(rule)
    scale, offset = [], []
    for day in days:
        rules = by_day[day]
        if len(rules) > 1:
            raise DataError(
                f"scenes of {day} disagree on the reflectance scaling of {band!r} ({sorted(rules)}); "
                "load them on separate dates"
            )
        (s, o) = next(iter(rules))
        scale.append(s)
        offset.append(o)
    return np.array(scale), np.array(offset)


def _probe_remote(items: Sequence[pystac.Item], bands: Sequence[str], policy: RetryPolicy) -> None:
    urls = sorted({it.assets[b].href for it in items for b in bands if it.assets[b].href.startswith("http")})
    if not urls:
        return
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda u: probe(u, policy=policy), urls))


class _FailedReads(logging.Handler):
    """Collects the asset URIs odc-loader names when a read fails (it logs them; the exception does not)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.uris: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.args and isinstance(record.args, tuple):
            self.uris.append(str(record.args[0]))


@contextlib.contextmanager
def read_errors() -> Iterator[None]:
    """Turn failures while computing a cube (truncated or corrupt assets, broken connections, error statuses left
    after GDAL's retries, timeouts) into one :class:`SourceError` that names the asset (no query string), what
    failed and what to do, instead of odc's log lines and a traceback."""
    logger = logging.getLogger("odc.loader._rio")
    handler = _FailedReads()
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        yield
    except SourceError:
        raise
    except Exception as exc:  # raised from GDAL/odc inside dask tasks
        uris = handler.uris or _uris_in_traceback(exc)
        if not uris and "Rasterio" not in type(exc).__name__:
            raise
        where = public_url(uris[0]) if uris else "an asset"
        _forget_cached(uris)
        raise SourceError(f"reading {where} failed: {_read_failure(exc)}") from None
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _uris_in_traceback(exc: BaseException) -> list[str]:
    """The asset odc-loader was reading when ``exc`` was raised (its ``src.uri``), for errors it does not log.

    GDAL 3.10.3 takes a first range read that timed out mid-body for the end of the file and opens the COG
    without its georeferencing (warnings only); odc-geo then fails an ``assert`` on the missing CRS, which
    odc-loader neither catches nor logs. Only errors raised while a source was being read are found here; any
    other exception stays what it is.
    """
    found = []
    tb = exc.__traceback__
    while tb is not None:
        uri = getattr(tb.tb_frame.f_locals.get("src"), "uri", None)
        if isinstance(uri, str) and tb.tb_frame.f_globals.get("__name__", "").startswith("odc."):
            found.append(uri)
        tb = tb.tb_next
    return found[-1:]


def _read_failure(exc: BaseException) -> str:
    """What went wrong in a GDAL read and what to do, from the exception and its causes (rasterio chains GDAL's
    own errors: ``Read failed. See previous exception`` hides an ``IReadBlock failed ...`` behind it)."""
    chain: list[BaseException] = []
    e: BaseException | None = exc
    while e is not None and len(chain) < 10:
        chain.append(e)
        e = e.__cause__ or e.__context__
    texts = [_redact(str(x).splitlines()[0][:160]) for x in chain if str(x)]
    first = next((t for t in texts if "previous exception" not in t), texts[0] if texts else type(exc).__name__)
    status = re.search(r"HTTP (?:response|error) code\s*:\s*(\d{3})", " ".join(texts))
    if status:
        code = int(status.group(1))
        if code in (401, 403):
            return (
                f"the server refused access (HTTP {code}); check the provider's credentials (signed URLs expire: "
                "search again)"
            )
        if code == 404:
            return "the server has no such file (HTTP 404); the catalogue may be stale - search again"
        return (
            f"the server answered HTTP {code}, still after GDAL's retries; the service may be overloaded or down - "
            "try again later (a job resumes from its checkpoints), or allow more with SKYWATCH_HTTP_ATTEMPTS"
        )
    if any("timed out" in t.lower() for t in texts):
        return (
            f"no answer in time ({first}); the server is slow or down - try again later (a job resumes from its "
            "checkpoints), or raise SKYWATCH_HTTP_TIMEOUT"
        )
    return (
        f"the file looks truncated or corrupt, or the server broke off the connection ({first}); re-run to retry, or "
        "report the asset to the provider"
    )


def _redact(text: str) -> str:
    """``text`` with the query string of every URL in it removed (signed URLs carry tokens there)."""
    return re.sub(r"((?:https?|s3|gs)://[^\s?'\"]+)\?[^\s'\"]*", r"\1", text)


def _forget_cached(uris: Sequence[str]) -> None:
    """Drop what GDAL's process-wide network cache holds for ``uris`` after a failed read.

    A read broken off mid-answer (measured with GDAL 3.10.3: a read timeout after part of a range's body) leaves
    the broken bytes in the /vsicurl/ cache, and every later read of that asset in the same process - Dask's retry
    of the tile, the next tile on the same worker - fails again without asking the server. rasterio does not
    expose ``VSICurlPartialClearCache``, so it is called in each GDAL library the process has loaded (found in
    ``/proc/self/maps``: rasterio's, and pyogrio's own copy where wheels bundle one each); elsewhere this does
    nothing, and a new process starts with an empty cache anyway.
    """
    prefixes = []
    for uri in dict.fromkeys(uris):
        if uri.startswith(("http://", "https://")):
            prefixes.append(f"/vsicurl/{uri}")
        elif uri.startswith("s3://"):
            prefixes.append(f"/vsis3/{uri[5:]}")
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            libs = sorted({line.split()[-1] for line in maps if "/libgdal" in line})
    except OSError:
        return
    for lib in libs if prefixes else []:
        try:
            clear = ctypes.CDLL(lib).VSICurlPartialClearCache
        except (OSError, AttributeError):
            continue
        clear.argtypes = [ctypes.c_char_p]
        clear.restype = None
        for prefix in prefixes:
            clear(prefix.encode())
