"""STAC API sources (Earth Search, Planetary Computer, Copernicus Data Space, or any same-API endpoint) through
pystac-client, with the retrying HTTP adapter and an injected URL-signing function.

pystac-client (0.9) turns every failure of a request into an ``APIError`` (the original exception as its
``__context__``). urllib3's ``Retry`` in the session retries error statuses, timeouts and refused or reset
connections while no answer has begun; an answer broken off mid-body (connection reset, fewer bytes than its
Content-Length, a read timeout) reaches skywatch as a plain ``APIError``, so :meth:`StacSource.search` retries
those itself, within the same :class:`~skywatch.sources.http.RetryPolicy`.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pystac
import requests
import xarray as xr
from pystac_client import ItemSearch
from pystac_client.exceptions import APIError
from pystac_client.stac_api_io import StacApiIO
from urllib3.exceptions import MaxRetryError

from skywatch.errors import SourceError
from skywatch.sources.http import AuthError, RetryPolicy, describe_failure, public_url, urllib3_retry
from skywatch.sources.odc_load import load_cube
from skywatch.sources.providers import Provider
from skywatch.types import BandName, BBox

__all__ = ["StacSource", "canonical_item", "to_db"]

Modifier = Callable[[Any], None]


@dataclass(frozen=True, kw_only=True)
class StacSource:
    """Search one STAC API.

    Attributes:
        provider: Which provider's collection names and asset keys to use.
        url: Another endpoint with the same API (a mirror, a self-hosted stac-fastapi); default the provider's.
        modifier: Applied to every returned item, e.g. ``planetary_computer.sign_inplace`` (never a global).
        policy: Retry policy for the API requests.
        headers: Extra request headers (e.g. an API key); never logged.
    """

    provider: Provider
    url: str | None = None
    modifier: Modifier | None = None
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    headers: Mapping[str, str] = field(default_factory=dict)
    s3: Mapping[str, str] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        """The provider's name."""
        return self.provider.name

    @property
    def root(self) -> str:
        """The STAC API root in use."""
        return (self.url or self.provider.url).rstrip("/")

    def _stac_io(self) -> StacApiIO:
        # raise_on_status False: when urllib3's retries are spent, the last error answer comes back and
        # pystac-client raises APIError.from_response, which keeps its status code for the message
        return StacApiIO(
            headers=dict(self.headers), timeout=self.policy.timeout_s, max_retries=urllib3_retry(self.policy)
        )

    def search(
        self,
        *,
        bbox: tuple[float, float, float, float],
        start: date,
        end: date,
        collection: str,
        max_cloud: float | None = None,
        max_items: int | None = 500,
    ) -> list[pystac.Item]:
        """Items of ``collection`` meeting ``bbox`` (lon/lat) from ``start`` to ``end`` (inclusive days).

        Asset keys are renamed to skywatch's canonical band names; the provider's own keys stay too.

        Raises:
            AuthError: 401/403.
            SourceError: the API failed after retries, or answered with an error.
        """
        params: dict[str, Any] = {
            "collections": [self.provider.collection_id(collection)],
            "bbox": list(bbox),
            "datetime": f"{start.isoformat()}T00:00:00Z/{end.isoformat()}T23:59:59Z",
            "limit": 100,
            "max_items": max_items,
        }
        if max_cloud is not None and collection.startswith("sentinel-2"):
            params["filter"] = {"op": "<=", "args": [{"property": "eo:cloud_cover"}, float(max_cloud)]}
            params["filter_lang"] = "cql2-json"
        search_url = f"{self.root}/search"
        rng = random.Random()
        began = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                search = ItemSearch(search_url, stac_io=self._stac_io(), modifier=self.modifier, **params)
                items = list(search.items())
                break
            except (APIError, requests.RequestException, json.JSONDecodeError) as exc:
                cause = exc.__context__ if isinstance(exc, APIError) else exc
                failure = self._failure(search_url, exc, began)
                if not _broken_mid_answer(cause) or attempt >= self.policy.max_attempts:
                    raise failure from None
                delay = self.policy.wait(attempt, None, rng)
                if time.monotonic() - began + delay > self.policy.max_total_s:
                    raise failure from None
                time.sleep(delay)
        return sorted((canonical_item(it, self.provider, collection) for it in items), key=_order)

    def _failure(self, url: str, exc: Exception, began: float) -> SourceError:
        """The one-line error for a failed search: endpoint (no query string), what failed, what to do."""
        where = f"STAC search at {public_url(url)}"
        status = getattr(exc, "status_code", None) if isinstance(exc, APIError) else None
        if status in (401, 403):
            return AuthError(
                f"{where} refused the request (HTTP {status}); check the provider's credentials "
                "(see `skywatch search --help` for the variables each provider reads)"
            )
        if status is not None and status not in self.policy.statuses:
            return SourceError(
                f"{where} failed with HTTP {status} ({_short(exc)}); check the endpoint (--stac-url, or "
                "provider.stac_url in a job file) and the search parameters"
            )
        if status is not None:
            what = f"HTTP {status}"
        elif isinstance(exc, json.JSONDecodeError):
            what = "an answer that is not JSON (cut short, or not a STAC API)"
        else:
            what = describe_failure(exc.__context__ or exc, self.policy)
        return SourceError(
            f"{where} failed: {what} (gave up after {time.monotonic() - began:.1f} s of retries); the service may be "
            "overloaded or down - try again later, or allow more with SKYWATCH_HTTP_ATTEMPTS / SKYWATCH_HTTP_TIMEOUT"
        )

    def load(
        self,
        items: Sequence[pystac.Item],
        *,
        bands: Sequence[BandName],
        bounds: BBox,
        epsg: int,
        resolution: float = 10.0,
    ) -> xr.Dataset:
        """Pixels of ``items`` on the grid: reflectance for Sentinel-2, backscatter in dB for Sentinel-1.

        Raises:
            SourceError: Sentinel-1 from a provider that serves uncalibrated digital numbers; unreadable assets.
        """
        s1 = any(it.properties.get("skywatch:collection") == "sentinel-1-grd" for it in items)
        if s1 and not self.provider.s1_linear_power:
            raise SourceError(
                f"{self.provider.name} serves Sentinel-1 GRD as uncalibrated digital numbers, not sigma0; for "
                "backscatter in dB use --provider planetary-computer (RTC), sentinelhub or earthengine"
            )
        aws = gdal = None
        if self.s3:
            aws = {
                "aws_access_key_id": self.s3["key"],
                "aws_secret_access_key": self.s3["secret"],
                "endpoint_url": self.s3["endpoint"],
            }
            gdal = {"AWS_VIRTUAL_HOSTING": "FALSE", "AWS_S3_ENDPOINT": self.s3["endpoint"], "AWS_HTTPS": "YES"}
        cube = load_cube(
            items,
            bands=bands,
            bounds=bounds,
            epsg=epsg,
            resolution=resolution,
            policy=self.policy,
            aws=aws,
            gdal_options=gdal,
        )
        if s1:
            for band in bands:
                cube[band] = to_db(cube[band])
        return cube


def _broken_mid_answer(exc: BaseException | None) -> bool:
    """Whether ``exc`` broke off an answer that had begun (reset, cut short, read timeout): urllib3 does not
    retry those, and a new request usually gets through. False when urllib3 has already spent its retries."""
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | json.JSONDecodeError):
        return True
    if isinstance(exc, requests.exceptions.RetryError):
        return False
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return not any(isinstance(a, MaxRetryError) for a in exc.args)
    return False


def to_db(linear: xr.DataArray) -> xr.DataArray:
    """Backscatter power to decibels (10 log10); non-positive values become NaN."""
    db: xr.DataArray = 10.0 * xr.apply_ufunc(np.log10, linear.where(linear > 0), dask="allowed")
    return db.astype(np.float32)


def _order(item: pystac.Item) -> tuple[str, str]:
    return (item.datetime.isoformat() if item.datetime else "", item.id)


def _short(exc: Exception) -> str:
    """The first line of ``exc``'s text (for server error bodies; never for exceptions that quote a URL)."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def canonical_item(item: pystac.Item, provider: Provider, collection: str) -> pystac.Item:
    """A copy of ``item`` whose assets are also reachable under skywatch's canonical band names."""
    out = item.clone()
    for band, key in provider.assets.get(collection, {}).items():
        if key in out.assets and band not in out.assets:
            out.add_asset(band, out.assets[key].clone())
    out.properties.setdefault("skywatch:provider", provider.name)
    out.properties.setdefault("skywatch:collection", collection)
    return out
