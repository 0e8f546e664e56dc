"""A SYNTHETIC before/after Sentinel-2 L2A scene pair inside Land of the Leopard NP.

Everything is drawn from one seed: land cover (mixed forest, meadows, a river, a village with fields), then
between the two dates a burn scar with a severity gradient and an active fire front, clear-cut blocks and a new
forest road; plus clouds, cloud shadows, thin cirrus and a snow patch (after date) and a small cloud and an
orbit-edge nodata corner (before date). Spectra come from :mod:`skywatch.sample.spectra`. The result is
reflectance (0-1) at 10 m for all ten 10/20 m bands, a Scene Classification Layer (SCL, Sen2Cor class codes,
REFERENCE.md) and ground-truth masks.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from affine import Affine
from scipy import ndimage

from skywatch.sample.spectra import BANDS, SPECTRA
from skywatch.types import BBox

__all__ = ["LANDCOVER", "SAMPLE_BOUNDS", "SAMPLE_DATES", "SAMPLE_EPSG", "SampleScene", "synthesize_scene"]

SAMPLE_EPSG = 32652
# 10 km x 10 km inside Land of the Leopard NP (about 43.14 N, 131.11 E), on the 10 m grid.
SAMPLE_BOUNDS: BBox = (666_600.0, 4_773_500.0, 676_600.0, 4_783_500.0)
SAMPLE_RESOLUTION = 10.0
# Autumn is the second fire season in Primorye; the after date falls just after the first snow on the hills.
SAMPLE_DATES = (date(2025, 9, 6), date(2025, 10, 21))
LANDCOVER: dict[int, str] = {1: "forest", 2: "meadow", 3: "water", 4: "bare_soil", 5: "settlement"}

# Sen2Cor scene classification codes (REFERENCE.md, "SCL classes")
SCL_NODATA, SCL_DARK, SCL_SHADOW, SCL_VEG, SCL_BARE, SCL_WATER = 0, 2, 3, 4, 5, 6
SCL_CLOUD_MED, SCL_CLOUD_HIGH, SCL_CIRRUS, SCL_SNOW = 8, 9, 10, 11


@dataclass(frozen=True, kw_only=True)
class SampleScene:
    """A synthesized scene pair on a 10 m grid (row 0 = north).

    Attributes:
        seed: The seed it was drawn from.
        epsg, bounds, resolution: The grid.
        dates: (before, after) acquisition dates.
        landcover: Class codes of :data:`LANDCOVER` before any disturbance.
        reflectance: Per date, an array (band, row, col) of surface reflectance in :data:`BANDS` order.
        scl: Per date, Sen2Cor SCL codes at 10 m.
        truth: Boolean ground-truth masks (``burn``, ``fire_active``, ``clearcut``, ``road``,
            ``invalid_before``, ``invalid_after``) and ``burn_severity`` (0-1).
        road_line: The new road's centre-line as (x, y) map coordinates.
    """

    seed: int
    epsg: int
    bounds: BBox
    resolution: float
    dates: tuple[date, date]
    landcover: np.ndarray
    reflectance: tuple[np.ndarray, np.ndarray]
    scl: tuple[np.ndarray, np.ndarray]
    truth: dict[str, np.ndarray] = field(default_factory=dict)
    road_line: list[tuple[float, float]] = field(default_factory=list)

    @property
    def transform(self) -> Affine:
        """Affine transform of the 10 m grid."""
        return Affine(self.resolution, 0.0, self.bounds[0], 0.0, -self.resolution, self.bounds[3])

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the 10 m grid."""
        return self.landcover.shape


class _Field:
    """Seeded smooth random fields with zero mean and unit standard deviation."""

    def __init__(self, rng: np.random.Generator, shape: tuple[int, int]) -> None:
        self.rng, self.shape = rng, shape

    def smooth(self, sigma: float) -> np.ndarray:
        f = ndimage.gaussian_filter(self.rng.standard_normal(self.shape), sigma, mode="reflect")
        return ((f - f.mean()) / (f.std() + 1e-12)).astype(np.float32)


def _spectrum_image(classes: np.ndarray, names: dict[int, str]) -> np.ndarray:
    table = np.zeros((max(names) + 1, len(BANDS)), dtype=np.float32)
    for code, name in names.items():
        table[code] = SPECTRA[name]
    return np.moveaxis(table[classes], -1, 0)  # (band, row, col)


def _polyline_mask(points: np.ndarray, shape: tuple[int, int], half_width: float) -> np.ndarray:
    """Pixels whose centre lies within ``half_width`` pixels of the polyline (points are (row, col))."""
    dense = []
    for (r0, c0), (r1, c1) in itertools.pairwise(points):
        n = int(np.ceil(np.hypot(r1 - r0, c1 - c0) * 4)) + 1
        dense.append(np.column_stack([np.linspace(r0, r1, n), np.linspace(c0, c1, n)]))
    pts = np.vstack(dense)
    seed = np.zeros(shape, dtype=bool)
    rr = np.clip(np.round(pts[:, 0]).astype(int), 0, shape[0] - 1)
    cc = np.clip(np.round(pts[:, 1]).astype(int), 0, shape[1] - 1)
    seed[rr, cc] = True
    return ndimage.distance_transform_edt(~seed) <= half_width


def synthesize_scene(seed: int = 42, *, size_px: int = 1000) -> SampleScene:
    """Draw the sample scene pair from ``seed`` (deterministic: same seed, same arrays).

    Args:
        seed: Random seed.
        size_px: Edge of the square scene in 10 m pixels (1000 = the 10 km sample); features scale with it.
    """
    rng = np.random.default_rng(seed)
    shape = (size_px, size_px)
    k = size_px / 1000.0  # feature scale
    fields = _Field(rng, shape)
    rows, cols = np.mgrid[0:size_px, 0:size_px].astype(np.float32)

    # --- land cover ------------------------------------------------------------------------------------------
    lc = np.ones(shape, dtype=np.uint8)
    lc[fields.smooth(35 * k) > 1.1] = 2  # meadows, ~13 %
    phase = rng.uniform(0, 2 * np.pi)
    river_c = 180 * k + 60 * k * np.sin(rows / (140 * k) + phase) + 25 * k * np.sin(rows / (47 * k))
    lc[np.abs(cols - river_c) < 2.5 + 1.0 * fields.smooth(30 * k)] = 3
    v_r0, v_c0 = int(rng.uniform(800, 860) * k), int(rng.uniform(40, 90) * k)
    village = (rows >= v_r0) & (rows < v_r0 + 90 * k) & (np.abs(cols - river_c) > 6) & (cols >= v_c0)
    village &= cols < v_c0 + 170 * k
    houses = fields.smooth(1.5) > 0.4
    lc[village & (lc != 3)] = 2  # gardens
    lc[village & houses & (lc != 3)] = 5
    fields_rect = (rows >= v_r0 - 60 * k) & (rows < v_r0 - 10 * k) & (cols >= v_c0 + 40 * k)
    fields_rect &= (cols < v_c0 + 160 * k) & (lc != 3)
    lc[fields_rect] = 4

    forest = lc == 1
    burnable = (lc == 1) | (lc == 2)

    # --- disturbances between the dates ---------------------------------------------------------------------
    bc_r, bc_c = rng.uniform(230, 320) * k, rng.uniform(620, 720) * k
    ax_a, ax_b = rng.uniform(80, 100) * k, rng.uniform(55, 70) * k
    theta = rng.uniform(0, np.pi)
    dr, dc = rows - bc_r, cols - bc_c
    u = (dr * np.cos(theta) + dc * np.sin(theta)) / ax_a
    v = (-dr * np.sin(theta) + dc * np.cos(theta)) / ax_b
    dnorm = np.sqrt(u**2 + v**2)
    edge = 1.0 + 0.18 * fields.smooth(18 * k)
    burn = (dnorm < edge) & burnable
    severity = np.where(burn, np.clip(1.0 - (dnorm / edge) ** 1.6, 0.0, 1.0) * 0.7 + 0.3, 0.0).astype(np.float32)
    wind = rng.uniform(0, 2 * np.pi)
    angle = np.arctan2(dr, dc)
    downwind = np.cos(angle - wind) > np.cos(np.deg2rad(35))
    fire_active = burn & downwind & (dnorm > edge - 0.09)

    clearcut = np.zeros(shape, dtype=bool)
    placed = 0
    for _ in range(200):
        if placed == 4:
            break
        h, w = int(rng.uniform(15, 30) * k), int(rng.uniform(20, 42) * k)
        r0, c0 = int(rng.uniform(90, 430) * k), int(rng.uniform(300, 500) * k)
        block = np.zeros(shape, dtype=bool)
        block[r0 : r0 + h, c0 : c0 + w] = True
        guard = ndimage.binary_dilation(block, iterations=max(1, int(10 * k)))
        if (guard & (clearcut | ~forest | burn)).any():
            continue
        clearcut |= block
        placed += 1

    start = np.array([size_px - 1, rng.uniform(560, 680) * k])
    end = np.array([rng.uniform(560, 620) * k, rng.uniform(860, 930) * k])
    ctrl = np.array([rng.uniform(700, 800) * k, rng.uniform(800, 880) * k])
    t = np.linspace(0, 1, 60)[:, None]
    curve = (1 - t) ** 2 * start + 2 * (1 - t) * t * ctrl + t**2 * end
    tangent = np.gradient(curve, axis=0)
    normal = np.column_stack([-tangent[:, 1], tangent[:, 0]]) / np.hypot(*tangent.T)[:, None]
    curve = curve + normal * (18 * k * np.sin(t * 3 * np.pi + rng.uniform(0, np.pi)))  # a forest road winds
    road = _polyline_mask(curve, shape, half_width=0.9) & (lc != 3) & ~burn & ~clearcut

    # --- clouds, shadows, cirrus, snow, nodata ---------------------------------------------------------------
    def cloud(center: tuple[float, float], radius: float) -> np.ndarray:
        env = np.exp(-(((rows - center[0]) ** 2 + (cols - center[1]) ** 2) / (2 * radius**2)))
        return np.clip((env * (1.2 + 0.5 * fields.smooth(6 * k)) - 0.45) / 0.4, 0.0, 1.0).astype(np.float32)

    alpha_after = np.maximum(
        cloud((rng.uniform(600, 680) * k, rng.uniform(330, 400) * k), 45 * k),
        cloud((rng.uniform(700, 760) * k, rng.uniform(450, 520) * k), 30 * k),
    )
    alpha_before = cloud((rng.uniform(120, 180) * k, rng.uniform(60, 110) * k), 30 * k)
    shift = (int(-25 * k), int(-10 * k))  # shadows fall NNW of clouds (sun in the SSE, late morning)

    def shadow_of(alpha: np.ndarray) -> np.ndarray:
        return np.roll(alpha > 0.2, shift, axis=(0, 1)) & ~(alpha > 0.05)

    cirrus_after = (rows > 400 * k) & (rows < 530 * k) & (cols < 260 * k) & (fields.smooth(10 * k) > -0.3)
    snow_after = np.hypot(rows - 70 * k, cols - 940 * k) < (40 + 8 * fields.smooth(8 * k)) * k
    nodata_before = (cols + (size_px - 1 - rows)) < 120 * k

    # --- reflectance -----------------------------------------------------------------------------------------
    texture = 0.6 * fields.smooth(1.0) + 0.4 * fields.smooth(5.0 * k)
    pre = _spectrum_image(lc, {code: name for code, name in LANDCOVER.items()})
    pre *= 1.0 + 0.12 * texture[None]

    post = pre.copy()
    vegetation = np.isin(lc, (1, 2))
    # mild autumn phenology on vegetation between September and late October
    b_idx = {b: i for i, b in enumerate(BANDS)}
    for band, factor in (("B04", 1.08), ("B08", 0.95), ("B8A", 0.95), ("B07", 0.96)):
        post[b_idx[band]][vegetation] *= factor
    char = SPECTRA["char"].astype(np.float32)[:, None]
    post[:, burn] = (1 - severity[burn]) * post[:, burn] + severity[burn] * char
    post[:, fire_active] = SPECTRA["active_fire"].astype(np.float32)[:, None]
    slash = (0.85 * SPECTRA["bare_soil"] + 0.15 * SPECTRA["forest"]).astype(np.float32)[:, None]
    post[:, clearcut] = slash * (1.0 + 0.06 * texture[clearcut])
    post[:, road] = SPECTRA["road"].astype(np.float32)[:, None]

    def atmosphere(img: np.ndarray, alpha: np.ndarray, cirrus: np.ndarray | None, snow: np.ndarray | None) -> None:
        shadow = shadow_of(alpha)
        img[:, shadow] *= 0.35
        if cirrus is not None:
            img[:, cirrus] += 0.06
        if snow is not None:
            img[:, snow] = SPECTRA["snow"].astype(np.float32)[:, None]
        cl = SPECTRA["cloud"].astype(np.float32)[:, None, None]
        img[:] = (1 - alpha[None]) * img + alpha[None] * cl

    atmosphere(pre, alpha_before, None, None)
    atmosphere(post, alpha_after, cirrus_after, snow_after)
    for img in (pre, post):  # independent per-date sensor/atmosphere noise
        img *= 1.0 + 0.01 * rng.standard_normal(img.shape).astype(np.float32)
        img += 0.002 * rng.standard_normal(img.shape).astype(np.float32)
        np.clip(img, 0.0001, 1.5, out=img)
    pre[:, nodata_before] = 0.0

    # --- scene classification ------------------------------------------------------------------------------
    def scl_for(lcx: np.ndarray) -> np.ndarray:
        s = np.full(shape, SCL_VEG, dtype=np.uint8)
        s[np.isin(lcx, (4, 5))] = SCL_BARE
        s[lcx == 3] = SCL_WATER
        return s

    scl_pre = scl_for(lc)
    scl_post = scl_for(lc)
    scl_post[burn & (severity > 0.45)] = SCL_BARE
    scl_post[burn & (severity > 0.7)] = SCL_DARK  # Sen2Cor often calls fresh char "dark area"
    scl_post[clearcut | road | fire_active] = SCL_BARE
    for s, alpha, cirrus, snow in (
        (scl_pre, alpha_before, None, None),
        (scl_post, alpha_after, cirrus_after, snow_after),
    ):
        s[shadow_of(alpha)] = SCL_SHADOW
        if cirrus is not None:
            s[cirrus] = SCL_CIRRUS
        if snow is not None:
            s[snow] = SCL_SNOW
        s[(alpha > 0.1) & (alpha <= 0.6)] = SCL_CLOUD_MED
        s[alpha > 0.6] = SCL_CLOUD_HIGH
    scl_pre[nodata_before] = SCL_NODATA

    invalid_before = nodata_before | (alpha_before > 0.1) | shadow_of(alpha_before)
    invalid_after = (alpha_after > 0.1) | shadow_of(alpha_after) | cirrus_after | snow_after
    x0, _, _, y1 = SAMPLE_BOUNDS
    scale = SAMPLE_RESOLUTION
    road_line = [(x0 + (c + 0.5) * scale, y1 - (r + 0.5) * scale) for r, c in curve]
    return SampleScene(
        seed=seed,
        epsg=SAMPLE_EPSG,
        bounds=(x0, y1 - size_px * scale, x0 + size_px * scale, y1),
        resolution=scale,
        dates=SAMPLE_DATES,
        landcover=lc,
        reflectance=(pre.astype(np.float32), post.astype(np.float32)),
        scl=(scl_pre, scl_post),
        truth={
            "burn": burn,
            "burn_severity": severity,
            "fire_active": fire_active,
            "clearcut": clearcut,
            "road": road,
            "invalid_before": invalid_before,
            "invalid_after": invalid_after,
        },
        road_line=road_line,
    )
