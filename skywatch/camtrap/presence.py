"""Effort-corrected detection rates per station and a smoothed presence surface on the project grid.

Conventions (REFERENCE.md): independent events are >= 30 min apart per species per station; relative abundance
index (RAI) = 100 x events / trap-days. The surface is a Gaussian-kernel ratio of events to trap-days
(Nadaraya-Watson), so cameras that ran longer weigh more, and it is nodata where the kernel-weighted effort is
under ``min_effort_days`` (far from any camera).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from affine import Affine
from pyproj import Transformer

from skywatch.camtrap.camtrapdp import CamtrapPackage

__all__ = ["independent_events", "presence_surface", "station_rates"]


def independent_events(obs: pd.DataFrame, *, gap_minutes: float = 30.0) -> pd.DataFrame:
    """Animal observations thinned to independent events per (station, species)."""
    animals = obs[(obs["observationType"] == "animal") & (obs["scientificName"] != "")].copy()
    animals = animals.drop_duplicates(["eventID", "scientificName"]) if "eventID" in animals else animals
    animals = animals.sort_values(["locationID", "scientificName", "eventStart"])
    gap = animals.groupby(["locationID", "scientificName"])["eventStart"].diff()
    return animals[gap.isna() | (gap >= pd.Timedelta(minutes=gap_minutes))]


def station_rates(pkg: CamtrapPackage, species: str, *, gap_minutes: float = 30.0) -> pd.DataFrame:
    """Per station (``locationID``): lon, lat, trap-days, independent events of ``species`` and RAI."""
    dep = pkg.deployments.copy()
    if "locationID" not in dep or (dep["locationID"] == "").any():
        dep["locationID"] = dep["deploymentID"]
    dep["trap_days"] = (dep["deploymentEnd"] - dep["deploymentStart"]).dt.total_seconds() / 86400.0
    stations = dep.groupby("locationID").agg(
        longitude=("longitude", "first"), latitude=("latitude", "first"), trap_days=("trap_days", "sum")
    )
    obs = pkg.observations.merge(dep[["deploymentID", "locationID"]], on="deploymentID")
    ev = independent_events(obs, gap_minutes=gap_minutes)
    counts = ev[ev["scientificName"] == species].groupby("locationID").size()
    stations["events"] = counts.reindex(stations.index, fill_value=0).astype(int)
    stations["rai"] = 100.0 * stations["events"] / stations["trap_days"]
    return stations.reset_index()


def presence_surface(
    stations: pd.DataFrame,
    *,
    transform: Affine,
    shape: tuple[int, int],
    epsg: int,
    bandwidth_m: float = 1500.0,
    min_effort_days: float = 20.0,
    step: int = 10,
) -> np.ndarray:
    """Events per 100 trap-days, kernel-smoothed onto the grid (float32, NaN = no effort nearby).

    Computed on a grid ``step`` times coarser and repeated back to full resolution (the kernel is much wider
    than a pixel).
    """
    tr = Transformer.from_crs(4326, epsg, always_xy=True)
    sx, sy = tr.transform(stations["longitude"].to_numpy(), stations["latitude"].to_numpy())
    h, w = shape
    hc, wc = -(-h // step), -(-w // step)
    cols = (np.arange(wc) + 0.5) * step
    rows = (np.arange(hc) + 0.5) * step
    gx = transform.c + cols * transform.a
    gy = transform.f + rows * transform.e
    trap_days = stations["trap_days"].to_numpy(dtype=float)
    counts = stations["events"].to_numpy().astype(float)
    rate = np.full((hc, wc), np.nan)
    block = max(1, 2_000_000 // max(1, len(sx) * wc))  # rows per pass: memory stays ~16 MB whatever the area
    dx2 = (gx[None, :] - np.asarray(sx)[:, None]) ** 2  # (stations, columns)
    for r0 in range(0, hc, block):
        dy2 = (gy[None, r0 : r0 + block] - np.asarray(sy)[:, None]) ** 2  # (stations, rows)
        k = np.exp(-(dy2[:, :, None] + dx2[:, None, :]) / (2 * bandwidth_m**2))
        effort = np.tensordot(trap_days, k, axes=1)
        events = np.tensordot(counts, k, axes=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            rate[r0 : r0 + block] = np.where(effort >= min_effort_days, 100.0 * events / effort, np.nan)
    full = np.repeat(np.repeat(rate, step, axis=0), step, axis=1)[:h, :w]
    return full.astype(np.float32)
