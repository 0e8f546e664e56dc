"""Surface-reflectance spectra of the sample's land-cover classes, with where each number comes from.

Bands are the Sentinel-2 10 m and 20 m bands in this order (Earth Search asset keys in brackets):
B02 (blue) B03 (green) B04 (red) B05 (rededge1) B06 (rededge2) B07 (rededge3) B08 (nir) B8A (nir08)
B11 (swir16) B12 (swir22).

MEASURED classes (forest, meadow, cropland, shrubland, settlement) come from REAL Sentinel-2 L1C data: the
eo-learn ``TestEOPatch`` near Ljubljana (MIT licence, Sinergise; github.com/sentinel-hub/eo-learn, commit
303e7585, file REFERENCE_SCENES.npy), the three cloud-free frames (2015-08-20, 2015-08-30, 2015-09-09), median
top-of-atmosphere reflectance per eo-learn land-use class (2 forest, 3 grassland, 1 cultivated, 4 shrubland,
8 artificial surface). They were brought to surface-reflectance-like values by dark-object subtraction
(Chavez 1988): the haze of B02 is its 0.5th percentile over the patch minus 0.01, scaled to the other bands by a
lambda^-4 (Rayleigh, "very clear" atmosphere) law. The per-class standard deviations are the same data's.
``tests/sample/test_spectra.py`` recomputes them from ../shared when it is present.

LITERATURE classes (water, bare soil, gravel road, char, active fire, snow, cloud) are typical values read off
published spectral-library curves (USGS splib07 and ECOSTRESS shapes, Sentinel-2 burned-area studies), rounded;
they were not measured by skywatch and are approximate.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BANDS", "BAND_KEYS", "SPECTRA", "SPECTRA_SD", "WAVELENGTH_UM"]

BANDS: tuple[str, ...] = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")
BAND_KEYS: dict[str, str] = {
    "B02": "blue",
    "B03": "green",
    "B04": "red",
    "B05": "rededge1",
    "B06": "rededge2",
    "B07": "rededge3",
    "B08": "nir",
    "B8A": "nir08",
    "B11": "swir16",
    "B12": "swir22",
}
WAVELENGTH_UM: dict[str, float] = {
    "B02": 0.490,
    "B03": 0.560,
    "B04": 0.665,
    "B05": 0.704,
    "B06": 0.740,
    "B07": 0.783,
    "B08": 0.842,
    "B8A": 0.865,
    "B11": 1.610,
    "B12": 2.190,
}

_S = np.array
SPECTRA: dict[str, np.ndarray] = {
    # measured (eo-learn Slovenia, dark-object corrected), B02 ... B12
    "forest": _S([0.017, 0.026, 0.019, 0.049, 0.168, 0.221, 0.215, 0.249, 0.102, 0.043]),
    "meadow": _S([0.027, 0.049, 0.036, 0.090, 0.241, 0.300, 0.300, 0.340, 0.193, 0.087]),
    "cropland": _S([0.031, 0.056, 0.045, 0.101, 0.245, 0.291, 0.296, 0.335, 0.186, 0.094]),
    "shrubland": _S([0.020, 0.033, 0.024, 0.066, 0.201, 0.260, 0.257, 0.295, 0.144, 0.063]),
    "settlement": _S([0.031, 0.049, 0.046, 0.088, 0.209, 0.253, 0.250, 0.284, 0.169, 0.091]),
    # literature (approximate)
    "water": _S([0.060, 0.050, 0.030, 0.020, 0.012, 0.010, 0.008, 0.007, 0.004, 0.003]),
    "bare_soil": _S([0.060, 0.085, 0.110, 0.140, 0.170, 0.190, 0.210, 0.230, 0.300, 0.230]),
    "road": _S([0.090, 0.120, 0.150, 0.180, 0.200, 0.220, 0.240, 0.250, 0.330, 0.270]),
    "char": _S([0.030, 0.035, 0.040, 0.050, 0.070, 0.080, 0.090, 0.100, 0.170, 0.160]),
    "active_fire": _S([0.040, 0.045, 0.050, 0.060, 0.080, 0.090, 0.100, 0.120, 0.450, 0.750]),
    "snow": _S([0.850, 0.830, 0.800, 0.780, 0.760, 0.740, 0.720, 0.700, 0.120, 0.080]),
    "cloud": _S([0.550, 0.540, 0.550, 0.560, 0.570, 0.580, 0.580, 0.580, 0.450, 0.330]),
}

SPECTRA_SD: dict[str, np.ndarray] = {
    # measured between-pixel standard deviation (same data); used to scale texture
    "forest": _S([0.004, 0.004, 0.004, 0.009, 0.036, 0.048, 0.052, 0.054, 0.029, 0.013]),
    "meadow": _S([0.008, 0.011, 0.015, 0.019, 0.039, 0.047, 0.051, 0.050, 0.041, 0.025]),
    "settlement": _S([0.014, 0.016, 0.021, 0.020, 0.036, 0.043, 0.050, 0.048, 0.036, 0.023]),
}
