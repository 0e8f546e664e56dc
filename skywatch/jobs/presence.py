"""`skywatch presence`: animal-presence layers from camera-trap records, for the fusion stage and for planners.

For each species with animal detections, on the project grid (UTM zone of the AOI, pixels on multiples of
``resolution`` metres, which is a multiple of the grid's 10 m):

- ``presence_<species>.tif``: effort-corrected detection rate, independent events per 100 trap-days,
  kernel-smoothed between stations (:func:`skywatch.camtrap.presence.presence_surface`); nodata far from cameras.
- ``density_<species>.tif`` where individuals are identified: the SECR density surface, expected animals per
  km2 (detected animals' posterior activity centres plus the undetected, from the fitted half-normal proximity
  model over the trap-buffer mask, grown until animals at its edge go undetected; clipped to the AOI only on
  request).

and ``individuals.gpkg`` with layers ``activity_centres`` (posterior mean, SD in metres, a 95 % circle in
``centre_uncertainty``), ``ranges`` (MCP and kernel 50/95 %) and ``detections`` (individual x station), each with
``sex`` and ``female_with_cubs``; ``presence.json`` summarises the records used and skipped and the SECR fits.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine
from shapely.geometry import Point

from skywatch.aoi import AOI
from skywatch.camtrap.effort import TOTAL, relative_abundance
from skywatch.camtrap.events import DetectionTable
from skywatch.camtrap.presence import presence_surface
from skywatch.camtrap.ranges import detection_points, individual_ranges
from skywatch.camtrap.secr.from_table import capthist_from_table
from skywatch.camtrap.secr.mask import make_mask
from skywatch.camtrap.secr.run import fit_adequate
from skywatch.camtrap.secr.surface import posterior_surfaces
from skywatch.errors import CamtrapError, DataError
from skywatch.grid import TileGrid, snap_bounds
from skywatch.outputs.atomic import atomic_dir
from skywatch.outputs.cog import write_cog
from skywatch.outputs.geopackage import write_geopackage

__all__ = ["PresenceResult", "run_presence", "slug", "station_rates"]

CHI2_95_2DF = 5.991464547107979  # 95 % quantile of chi-square with 2 df: radius sqrt(.) * sd holds 95 % of a 2-D normal


@dataclass(frozen=True, kw_only=True)
class PresenceResult:
    """What a presence run wrote and found."""

    out: Path
    files: list[Path]
    summary: dict[str, Any]


def slug(name: str) -> str:
    """A file-name form of a species name: ``Panthera pardus orientalis`` -> ``panthera-pardus-orientalis``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "unnamed"


def _station_rows(rai: pd.DataFrame, xy: pd.DataFrame, species: str) -> pd.DataFrame:
    rows = rai[(rai["species"] == species) & (rai["station"] != TOTAL)].set_index("station")
    out = pd.DataFrame({"longitude": xy["longitude"], "latitude": xy["latitude"], "trap_days": rows["trap_days"],
                        "events": rows["events"], "rai": rows["rai"]})  # fmt: skip
    return out.dropna(subset=["trap_days"]).rename_axis("station").reset_index()


def station_rates(table: DetectionTable, species: str, *, gap_minutes: float = 30.0) -> pd.DataFrame:
    """Per station: ``station``, ``longitude``, ``latitude``, ``trap_days``, independent ``events`` of ``species``
    and ``rai`` (events per 100 trap-days), as :func:`skywatch.camtrap.effort.relative_abundance` counts them."""
    rai = relative_abundance(table, [species], gap_minutes=gap_minutes)
    return _station_rows(rai, table.stations.set_index("station"), species)


def _synthetic(table: DetectionTable) -> bool:
    """Whether the records say they are synthetic (the sample's package does, at its top level)."""
    package = table.metadata.get("package")
    return bool(table.metadata.get("synthetic") or (isinstance(package, dict) and package.get("synthetic")))


def _stations_inside(table: DetectionTable, aoi: AOI, skip: bool) -> tuple[DetectionTable, list[str]]:
    st = table.stations
    inside = shapely.contains_xy(aoi.geometry, st["longitude"].to_numpy(), st["latitude"].to_numpy())
    outside = st.loc[~inside, "station"].tolist()
    if outside and not skip:
        raise CamtrapError(f"station(s) {outside[:5]} lie outside the AOI {aoi.name!r}; check their coordinates "
                           "(lon/lat swapped?) or pass --skip-outside to leave them out")  # fmt: skip
    if not outside:
        return table, []
    keep = set(st.loc[inside, "station"])
    return DetectionTable(stations=st[inside].reset_index(drop=True),
                          deployments=table.deployments[table.deployments["station"].isin(keep)],
                          events=table.events[table.events["station"].isin(keep)], skipped=table.skipped,
                          metadata=table.metadata), outside  # fmt: skip


def run_presence(
    table: DetectionTable,
    *,
    aoi: AOI,
    out: Path,
    species: list[str] | None = None,
    resolution: float = 100.0,
    bandwidth_m: float = 1500.0,
    gap_minutes: float = 30.0,
    occasion_days: float = 1.0,
    buffer_m: float | None = None,
    mask_to_aoi: bool = False,
    skip_outside: bool = False,
    overwrite: bool = False,
) -> PresenceResult:
    """Write the presence layers for ``table`` over ``aoi`` into ``out`` (atomically).

    The SECR mask is the trap buffer; ``mask_to_aoi`` also clips it to the AOI, which is right only where the
    AOI's edge is a habitat edge that animals do not live beyond (a park boundary often is not: cats living
    just outside are photographed inside, and a clipped mask then inflates the density).

    Raises:
        CamtrapError: stations outside the AOI (unless ``skip_outside``), unknown species;
        DataError: a resolution that is not a multiple of 10 m; OutputError: ``out`` exists.
    """
    grid = TileGrid.for_aoi(aoi)
    if resolution <= 0 or not math.isclose(resolution / grid.resolution, round(resolution / grid.resolution)):
        raise DataError(f"--resolution must be a multiple of the grid's {grid.resolution:g} m, got {resolution:g}")
    table, outside = _stations_inside(table, aoi, skip_outside)
    animals = table.events[table.events["kind"] == "animal"]
    present = sorted(s for s in set(animals["species"]) if s)
    chosen = species or present
    unknown = [s for s in chosen if s not in present]
    if unknown:
        raise CamtrapError(f"no animal detections of {unknown}; species in the records: {present}")
    bounds = snap_bounds(grid.bounds_for(aoi), resolution)
    transform = Affine(resolution, 0.0, bounds[0], 0.0, -resolution, bounds[3])
    shape = (round((bounds[3] - bounds[1]) / resolution), round((bounds[2] - bounds[0]) / resolution))
    aoi_utm = aoi.to_crs(grid.epsg)
    rai = relative_abundance(table, chosen, gap_minutes=gap_minutes)
    xy = table.station_xy(grid.epsg).set_index("station")
    summary: dict[str, Any] = {
        "synthetic": _synthetic(table),
        "records": len(table.events),
        "skipped_rows": [str(s) for s in table.skipped],
        "stations": len(table.stations),
        "stations_outside_aoi_left_out": outside,
        "epsg": grid.epsg,
        "resolution_m": resolution,
        "species": {},
    }
    layers: dict[str, list[gpd.GeoDataFrame]] = {"activity_centres": [], "centre_uncertainty": [], "ranges": [],
                                                 "detections": []}  # fmt: skip
    rasters: dict[str, tuple[np.ndarray, dict[str, str]]] = {}
    for name in chosen:
        stations = _station_rows(rai, xy, name)
        surf = presence_surface(stations, transform=transform, shape=shape, epsg=grid.epsg, bandwidth_m=bandwidth_m,
                                step=1)  # fmt: skip
        total = rai[(rai["species"] == name) & (rai["station"] == TOTAL)].iloc[0]
        info: dict[str, Any] = {"independent_events": int(total["events"]), "trap_days": float(total["trap_days"]),
                                "rai_per_100_trap_days": float(total["rai"])}  # fmt: skip
        tags = {"SKYWATCH_LAYER": f"detection rate of {name}", "SKYWATCH_UNITS": "independent events per 100 trap-days"}
        rasters[f"presence_{slug(name)}.tif"] = (surf, tags)
        ids = animals[(animals["species"] == name) & (animals["individual"] != "")]
        flags = None
        if len(ids):  # ranges and detections for every identified animal, whether or not SECR can be fitted
            ranges = individual_ranges(table, name, epsg=grid.epsg)
            flags = ranges.drop_duplicates("individual").set_index("individual")[["sex", "female_with_cubs"]]
            layers["ranges"].append(ranges)
            layers["detections"].append(detection_points(table, name, grid.epsg).join(flags, on="individual"))
            info["individuals"] = int(ids["individual"].nunique())
            info["females_with_cubs"] = sorted(flags.index[flags["female_with_cubs"]])
        if flags is not None and ids["individual"].nunique() >= 2:
            info["secr"] = _secr(table, name, grid.epsg, aoi_utm if mask_to_aoi else None, resolution, occasion_days,
                                 buffer_m, transform, shape, rasters, layers, flags)  # fmt: skip
        summary["species"][name] = info
    with atomic_dir(out, overwrite=overwrite) as tmp:
        synthetic = {"SKYWATCH_SYNTHETIC": "true"} if _synthetic(table) else {}
        for file, (data, tags) in rasters.items():
            write_cog(tmp / file, data.astype(np.float32), transform=transform, epsg=grid.epsg, nodata=float("nan"),
                      tags={**tags, **synthetic})  # fmt: skip
        crs = f"EPSG:{grid.epsg}"
        frames = {k: gpd.GeoDataFrame(pd.concat(v, ignore_index=True), geometry="geometry", crs=crs)
                  for k, v in layers.items() if v}  # fmt: skip
        if frames:
            write_geopackage(tmp / "individuals.gpkg", frames)
        (tmp / "presence.json").write_text(json.dumps(summary, indent=1, default=float), encoding="utf-8")
    files = sorted(out / f for f in [*rasters, "presence.json"] + (["individuals.gpkg"] if frames else []))
    return PresenceResult(out=out, files=files, summary=summary)


def _secr(table: DetectionTable, name: str, epsg: int, aoi_utm: Any, resolution: float, occasion_days: float,
          buffer_m: float | None, transform: Affine, shape: tuple[int, int],
          rasters: dict[str, tuple[np.ndarray, dict[str, str]]], layers: dict[str, list[gpd.GeoDataFrame]],
          flags: pd.DataFrame) -> dict[str, Any]:  # fmt: skip
    """Fit SECR for one species, add its density raster and activity centres; its summary (or why not)."""

    def spacing(buffer: float) -> float:  # secr-like: about 64 cells across, a multiple of the output pixels
        return resolution * max(1, round((float(np.ptp(ch.xy[:, 0])) + 2 * buffer) / 64 / resolution))

    try:
        ch = capthist_from_table(table, name, epsg=epsg, occasion_days=occasion_days, detector="proximity")
        fit, _, notes = fit_adequate(ch, buffer=buffer_m, spacing=spacing, polygon=aoi_utm, align=True)
    except CamtrapError as exc:  # too few animals or recaptures: the rate layer and ranges still stand
        return {"fitted": False, "reason": str(exc)}
    # the density surface is evaluated at every output pixel of the (same) mask region
    fine = make_mask(ch.xy, buffer=fit.buffer, spacing=resolution, polygon=aoi_utm, align=True)
    dens, centres = posterior_surfaces(ch, fine, fit)  # one evaluation of the model for both
    grid = np.full(shape, np.nan)
    cols = np.floor((fine.xy[:, 0] - transform.c) / resolution).astype(int)
    rows = np.floor((transform.f - fine.xy[:, 1]) / resolution).astype(int)
    ok = (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])
    grid[rows[ok], cols[ok]] = dens[ok]
    rasters[f"density_{slug(name)}.tif"] = (grid, {"SKYWATCH_LAYER": f"SECR density of {name}",
                                                   "SKYWATCH_UNITS": "expected animals per km2"})  # fmt: skip
    centres["sd_m"] = np.sqrt((centres["sd_x"] ** 2 + centres["sd_y"] ** 2) / 2)
    centres = centres.join(flags, on="individual")
    centres.insert(1, "species", name)
    points = [Point(x, y) for x, y in zip(centres["x"], centres["y"], strict=True)]
    layers["activity_centres"].append(gpd.GeoDataFrame(centres, geometry=points))
    circles = centres[["individual", "species", "sd_m"]].copy()
    circles["radius_95_m"] = circles["sd_m"] * math.sqrt(CHI2_95_2DF)
    layers["centre_uncertainty"].append(gpd.GeoDataFrame(
        circles, geometry=[p.buffer(r, 32) for p, r in zip(points, circles["radius_95_m"], strict=True)]))  # fmt: skip
    d100 = fit.density_per_100km2()
    return {"fitted": True, "detector": fit.detector, "detectfn": fit.detectfn, "animals": fit.n,
            "detections": fit.detections, "buffer_m": fit.buffer, "buffer_adequate": fit.buffer_adequate,
            "mask_points": fit.mask_points, "mask_spacing_m": fit.mask_spacing,
            "mask_clipped_to_aoi": aoi_utm is not None,
            "density_per_100km2": {"estimate": d100.estimate, "se": d100.se, "lcl": d100.lcl, "ucl": d100.ucl},
            "g0": fit.g0.estimate, "sigma_m": fit.sigma.estimate, "log_likelihood": fit.log_likelihood,
            "converged": fit.converged, "notes": notes}  # fmt: skip
