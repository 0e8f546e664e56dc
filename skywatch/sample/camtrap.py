"""SYNTHETIC camera-trap records for the sample area, as Camtrap DP 1.0 tables (pandas, no I/O).

Camera stations sit on a jittered grid. Leopards and tigers get activity centres drawn uniformly over a state
space (the sample area plus a buffer); each station-day an animal is photographed with the half-normal
probability ``g0 * exp(-d^2 / (2 sigma^2))`` of spatial capture-recapture (proximity detectors, Efford 2004),
so the density that produced the records is known and written into :attr:`CamtrapSample.truth`. People,
vehicles and wild boar are added as Poisson counts. One station has a malfunction gap: its deployment is split
in two with the same ``locationID``, as Camtrap DP records interruptions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd
from affine import Affine
from pyproj import Transformer

from skywatch.types import BBox

__all__ = ["SPECIES", "CamtrapSample", "simulate_camtrap"]

LOCAL_TZ = timezone(timedelta(hours=10))  # Vladivostok time, UTC+10
SURVEY_START = datetime(2025, 6, 1, 12, 0, tzinfo=LOCAL_TZ)
SURVEY_DAYS = 120
STATE_BUFFER_M = 4000.0

# Per species: simulated density (animals / 100 km2), half-normal sigma (m) and daily g0. Leopard density is of
# the order found by SCR in Land of the Leopard NP (0.98 / 100 km2, REFERENCE.md), raised so a 10 km sample
# area holds several animals; sigma is scaled down to the sample's size. These are simulation settings, not
# estimates of the real population.
SPECIES: dict[str, dict[str, Any]] = {
    "Panthera pardus orientalis": {"code": "PPO", "density": 2.0, "sigma": 1500.0, "g0": 0.08},
    "Panthera tigris altaica": {"code": "PTA", "density": 0.6, "sigma": 2500.0, "g0": 0.03},
}
OTHER_RATES = {  # events per station-day
    ("animal", "Sus scrofa"): 0.08,
    ("human", ""): 0.03,
    ("vehicle", ""): 0.01,
}


@dataclass(frozen=True, kw_only=True)
class CamtrapSample:
    """Synthetic Camtrap DP tables and the truth that generated them."""

    deployments: pd.DataFrame
    media: pd.DataFrame
    observations: pd.DataFrame
    individuals: pd.DataFrame
    truth: dict[str, Any] = field(default_factory=dict)


def _iso(t: datetime) -> str:
    return t.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M:%S%z")[:-2] + ":00"


def simulate_camtrap(
    seed: int,
    *,
    bounds: BBox,
    epsg: int,
    landcover: np.ndarray,
    transform: Affine,
    n_stations: int = 30,
) -> CamtrapSample:
    """Simulate a season of camera trapping over ``bounds`` (deterministic in ``seed``).

    Args:
        seed: Random seed.
        bounds: Survey area (min x, min y, max x, max y) in ``epsg`` metres.
        epsg: Projected CRS of ``bounds``.
        landcover: Land-cover codes on ``transform`` (stations avoid water, code 3).
        transform: Affine transform of ``landcover``.
        n_stations: Number of camera stations (20-40 for the sample).
    """
    rng = np.random.default_rng(seed + 1_000_003)
    minx, miny, maxx, maxy = bounds
    to_wgs = Transformer.from_crs(epsg, 4326, always_xy=True)

    # --- stations on a jittered grid ------------------------------------------------------------------------
    ncol = int(np.ceil(np.sqrt(n_stations * (maxx - minx) / (maxy - miny))))
    nrow = int(np.ceil(n_stations / ncol))
    dx, dy = (maxx - minx) / ncol, (maxy - miny) / nrow
    xs, ys = [], []
    inv = ~transform
    for i in range(n_stations):
        r, c = divmod(i, ncol)
        x = minx + (c + 0.5) * dx + rng.uniform(-0.25, 0.25) * dx
        y = maxy - (r + 0.5) * dy + rng.uniform(-0.25, 0.25) * dy
        for _ in range(50):  # step off water
            col, row = (int(v) for v in inv @ (x, y))
            if landcover[min(max(row, 0), landcover.shape[0] - 1), min(max(col, 0), landcover.shape[1] - 1)] != 3:
                break
            x += 30.0
        xs.append(x)
        ys.append(y)
    sx, sy = np.array(xs), np.array(ys)
    lon, lat = to_wgs.transform(sx, sy)

    # --- deployments (one station split by a malfunction gap) -----------------------------------------------
    gap_station = int(rng.integers(n_stations))
    dep_rows: list[dict[str, Any]] = []
    operating = np.zeros((n_stations, SURVEY_DAYS), dtype=bool)
    dep_of_day = np.full((n_stations, SURVEY_DAYS), "", dtype=object)
    for i in range(n_stations):
        start = int(rng.integers(0, 4))
        end = SURVEY_DAYS - int(rng.integers(0, 4))
        periods = [(start, end)]
        if i == gap_station:
            g0 = int(rng.integers(35, 50))
            periods = [(start, g0), (g0 + 21, end)]
        for j, (a, b) in enumerate(periods):
            dep_id = f"D{i + 1:02d}{'ab'[j] if len(periods) > 1 else ''}"
            operating[i, a:b] = True
            dep_of_day[i, a:b] = dep_id
            comment = ""
            if len(periods) > 1:
                comment = "camera malfunction (memory card full): no images between the two deployments"
            dep_rows.append(
                {
                    "deploymentID": dep_id,
                    "locationID": f"S{i + 1:02d}",
                    "locationName": f"sample station {i + 1:02d}",
                    "latitude": round(float(lat[i]), 6),
                    "longitude": round(float(lon[i]), 6),
                    "coordinateUncertainty": 10,
                    "deploymentStart": _iso(SURVEY_START + timedelta(days=a)),
                    "deploymentEnd": _iso(SURVEY_START + timedelta(days=b)),
                    "setupBy": "skywatch sample (synthetic)",
                    "cameraModel": "synthetic",
                    "cameraHeight": 0.6,
                    "baitUse": False,
                    "featureType": "trailGame",
                    "habitat": "mixed broadleaf-Korean pine forest (synthetic)",
                    "deploymentComments": comment,
                }
            )
    deployments = pd.DataFrame(dep_rows)

    # --- animals --------------------------------------------------------------------------------------------
    sminx, sminy = minx - STATE_BUFFER_M, miny - STATE_BUFFER_M
    smaxx, smaxy = maxx + STATE_BUFFER_M, maxy + STATE_BUFFER_M
    area_km2 = (smaxx - sminx) * (smaxy - sminy) / 1e6
    ind_rows: list[dict[str, Any]] = []
    truth_species: dict[str, Any] = {}
    for name, spec in SPECIES.items():
        n = max(2, int(rng.poisson(spec["density"] * area_km2 / 100.0)))
        truth_species[name] = {
            "N": n,
            "state_space_km2": round(area_km2, 3),
            "density_per_100km2": round(100.0 * n / area_km2, 4),
            "sigma_m": spec["sigma"],
            "g0_per_day": spec["g0"],
            "detector": "proximity (one Bernoulli trial per station-day)",
        }
        for k in range(n):
            sex = "female" if k % 2 == 0 else "male"
            ind_rows.append(
                {
                    "individualID": f"{spec['code']}-{'F' if sex == 'female' else 'M'}{k + 1:02d}",
                    "scientificName": name,
                    "sex": sex,
                    "x": float(rng.uniform(sminx, smaxx)),
                    "y": float(rng.uniform(sminy, smaxy)),
                    "withCub": bool(name.startswith("Panthera pardus") and k == 0),
                }
            )
    individuals = pd.DataFrame(ind_rows)

    # --- detections -----------------------------------------------------------------------------------------
    events: list[dict[str, Any]] = []
    for ind in ind_rows:
        spec = SPECIES[ind["scientificName"]]
        d2 = (sx - ind["x"]) ** 2 + (sy - ind["y"]) ** 2
        p = spec["g0"] * np.exp(-d2 / (2 * spec["sigma"] ** 2))
        hits = (rng.random((n_stations, SURVEY_DAYS)) < p[:, None]) & operating
        for i, day in zip(*np.nonzero(hits), strict=True):
            hour = rng.choice([21.0, 5.0]) + rng.normal(0, 2.0)  # crepuscular/nocturnal
            events.append({"station": int(i), "day": int(day), "hour": float(hour), "type": "animal", **ind})
    for (otype, sci), rate in OTHER_RATES.items():
        counts = rng.poisson(rate, (n_stations, SURVEY_DAYS)) * operating
        for i, day in zip(*np.nonzero(counts), strict=True):
            hour = rng.uniform(7, 19) if otype != "animal" else rng.uniform(0, 24)
            events.append(
                {
                    "station": int(i),
                    "day": int(day),
                    "hour": float(hour),
                    "type": otype,
                    "scientificName": sci,
                    "individualID": "",
                    "sex": "",
                    "withCub": False,
                }
            )
    events.sort(key=lambda e: (e["day"], e["hour"], e["station"], e["individualID"]))

    media_rows: list[dict[str, Any]] = []
    obs_rows: list[dict[str, Any]] = []
    for n, ev in enumerate(events, start=1):
        i, day = ev["station"], ev["day"]
        # a station-day runs noon to noon like the deployments, so every event lies inside its deployment;
        # the clock time stays ev["hour"]
        clock = float(np.clip(ev["hour"], 0.0, 23.99))
        t0 = SURVEY_START + timedelta(days=day, hours=(clock - SURVEY_START.hour) % 24)
        t0 = t0.replace(microsecond=0)
        t1 = t0 + timedelta(seconds=int(rng.integers(5, 60)))
        dep_id = str(dep_of_day[i, day])
        media_id, event_id = f"M{n:05d}", f"E{n:05d}"
        media_rows.append(
            {
                "mediaID": media_id,
                "deploymentID": dep_id,
                "captureMethod": "activityDetection",
                "timestamp": _iso(t0),
                "filePath": f"media/{media_id}.jpg",
                "filePublic": False,
                "fileName": f"{media_id}.jpg",
                "fileMediatype": "image/jpeg",
            }
        )
        base = {
            "deploymentID": dep_id,
            "mediaID": "",
            "eventID": event_id,
            "eventStart": _iso(t0),
            "eventEnd": _iso(t1),
            "observationLevel": "event",
            "observationType": ev["type"],
            "scientificName": ev["scientificName"],
            "count": 1,
            "classificationMethod": "human" if ev["individualID"] else "machine",
            "classifiedBy": "skywatch sample (synthetic re-ID)" if ev["individualID"] else "skywatch sample",
        }
        if ev["type"] == "animal" and ev["individualID"]:
            obs_rows.append(
                {
                    **base,
                    "observationID": f"O{n:05d}",
                    "count": 2 if ev["withCub"] else 1,
                    "lifeStage": "adult",
                    "sex": ev["sex"],
                    "behavior": "accompanied by cub" if ev["withCub"] else "",
                    "individualID": ev["individualID"],
                    "classificationProbability": 0.97,
                }
            )
            if ev["withCub"]:
                obs_rows.append(
                    {
                        **base,
                        "observationID": f"O{n:05d}c",
                        "lifeStage": "juvenile",
                        "sex": "",
                        "individualID": f"{ev['individualID']}-cub1",
                        "behavior": "following mother",
                        "classificationProbability": 0.9,
                    }
                )
        else:
            obs_rows.append({**base, "observationID": f"O{n:05d}", "classificationProbability": 0.9})
    media = pd.DataFrame(media_rows)
    observations = pd.DataFrame(obs_rows)
    truth = {
        "synthetic": True,
        "survey_start": _iso(SURVEY_START),
        "survey_days": SURVEY_DAYS,
        "state_space_bounds": [sminx, sminy, smaxx, smaxy],
        "epsg": epsg,
        "gap_location": f"S{gap_station + 1:02d}",
        "species": truth_species,
    }
    return CamtrapSample(
        deployments=deployments, media=media, observations=observations, individuals=individuals, truth=truth
    )
