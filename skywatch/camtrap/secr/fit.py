"""Fit SECR by maximum likelihood: estimates on the link scale, SEs from the numerical Hessian, and the
real-scale estimates with delta-method SEs and 95 % intervals back-transformed from the link scale.

Links as secr's defaults: log for D, sigma and z, logit for g0. Starting values: sigma from the RPSV of the
detections (secr's ``RPSV(CC = TRUE)``; the detector spacing when no animal moved between detectors), g0 = 0.1
and D = n / a at those values. The optimiser is BFGS on the
link scale followed by the Hessian by central differences (step 1e-4 on each link parameter); the covariance is
its inverse. On secr's captdata the fit gives secr's D, g0, sigma and their SEs (tests/camtrap/test_secr*.py).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import optimize
from scipy.special import expit, logit

from skywatch.camtrap.secr.capthist import CaptureHistory
from skywatch.camtrap.secr.likelihood import DETECTFNS, Detection, log_likelihood, site_terms, squared_distances
from skywatch.camtrap.secr.mask import Mask
from skywatch.errors import CamtrapError

__all__ = ["Estimate", "SecrFit", "fit_secr"]

Z95 = 1.959964
EDGE_DETECTION_LIMIT = 0.01


@dataclass(frozen=True, kw_only=True)
class Estimate:
    """One real-scale parameter: estimate, SE and 95 % CI."""

    estimate: float
    se: float
    lcl: float
    ucl: float


@dataclass(frozen=True, kw_only=True)
class SecrFit:
    """A fitted SECR model.

    ``density`` is animals per hectare (multiply by 10,000 for animals per 100 km2).
    """

    detectfn: str
    detector: str
    density: Estimate
    g0: Estimate
    sigma: Estimate
    z: Estimate | None
    log_likelihood: float
    aic: float
    aicc: float
    n: int
    detections: int
    mask_points: int
    mask_area_ha: float
    buffer: float
    mask_spacing: float
    edge_detection: float
    beta: tuple[float, ...]
    vcv: tuple[tuple[float, ...], ...]
    converged: bool

    @property
    def buffer_adequate(self) -> bool:
        """Whether an animal living at the mask's outer edge had under 1 % chance of being detected at all, so a
        larger buffer would not change D materially (secr checks the same with ``bias.D`` after its fits)."""
        return self.edge_detection < EDGE_DETECTION_LIMIT

    def density_per_100km2(self) -> Estimate:
        """Density in animals per 100 km2."""
        d = self.density
        return Estimate(estimate=d.estimate * 1e4, se=d.se * 1e4, lcl=d.lcl * 1e4, ucl=d.ucl * 1e4)

    def detection(self) -> Detection:
        """The fitted detection function."""
        z = self.z.estimate if self.z is not None else 1.0
        return Detection(detectfn=self.detectfn, g0=self.g0.estimate, sigma=self.sigma.estimate, z=z)

    def as_dict(self) -> dict[str, object]:
        """Plain values for JSON."""
        out = asdict(self)
        out["density_per_100km2"] = asdict(self.density_per_100km2())
        out["buffer_adequate"] = self.buffer_adequate
        return out


def _unpack(beta: np.ndarray, detectfn: str) -> tuple[float, Detection]:
    z = math.exp(beta[3]) if detectfn == "HR" else 1.0
    return math.exp(beta[0]), Detection(detectfn=detectfn, g0=float(expit(beta[1])), sigma=math.exp(beta[2]), z=z)


def _edge_detection(ch: CaptureHistory, mask: Mask, det: Detection, d2: np.ndarray) -> float:
    """The largest p.(x) among mask cells in the outer ring (within one cell of the buffer's edge)."""
    _, pdot = site_terms(ch, mask, det, d2=d2)
    nearest = np.sqrt(d2.min(axis=1))
    ring = nearest >= mask.buffer - 1.5 * mask.spacing
    return float(pdot[ring].max()) if ring.any() else 0.0


def _hessian(f: object, x: np.ndarray, step: float = 1e-4) -> np.ndarray:
    fun = f  # (x) -> float
    k = len(x)
    hess = np.zeros((k, k))
    f0 = fun(x)  # type: ignore[operator]
    for i in range(k):
        for j in range(i, k):
            ei, ej = np.eye(k)[i] * step, np.eye(k)[j] * step
            if i == j:
                val = (fun(x + ei) - 2 * f0 + fun(x - ei)) / step**2  # type: ignore[operator]
            else:
                val = (fun(x + ei + ej) - fun(x + ei - ej) - fun(x - ei + ej) + fun(x - ei - ej)) / (4 * step**2)  # type: ignore[operator]
            hess[i, j] = hess[j, i] = val
    return hess


def fit_secr(ch: CaptureHistory, mask: Mask, *, detectfn: str = "HN", start: dict[str, float] | None = None) -> SecrFit:
    """Fit D, g0, sigma (and z for HR) by maximum likelihood.

    Args:
        ch: The capture history (detector coordinates in the mask's CRS, metres).
        mask: The habitat mask.
        detectfn: ``HN`` (half-normal) or ``HR`` (hazard-rate).
        start: Optional starting values on the natural scale: ``D`` (per ha), ``g0``, ``sigma``, ``z``.

    Raises:
        CamtrapError: too few animals or recaptures to estimate anything, or no convergence.
    """
    if detectfn not in DETECTFNS:
        raise CamtrapError(f"detectfn must be one of {DETECTFNS}, got {detectfn!r}")
    if ch.n < 2:
        raise CamtrapError(f"SECR needs detections of several identified animals; got {ch.n}")
    if len(ch.animal) <= ch.n:
        raise CamtrapError(f"SECR needs recaptures: each of the {ch.n} animals was detected only once")
    if len(np.unique(ch.trap)) < 2:
        raise CamtrapError("SECR needs detections at more than one detector to estimate movement (sigma)")
    start = dict(start or {})
    sigma0 = start.get("sigma", ch.movement_scale())
    g00 = start.get("g0", 0.1)
    z0 = start.get("z", 5.0)
    d2 = squared_distances(mask.xy, ch.xy)
    if "D" not in start:
        _, pdot = site_terms(ch, mask, Detection(detectfn=detectfn, g0=g00, sigma=sigma0, z=z0), d2=d2)
        start["D"] = ch.n / max(float(pdot.sum()) * mask.cell_ha, 1e-12)
    beta0 = [math.log(start["D"]), float(logit(g00)), math.log(sigma0)] + ([math.log(z0)] if detectfn == "HR" else [])

    def nll(beta: np.ndarray) -> float:
        if not np.all(np.isfinite(beta)) or np.abs(beta).max() > 50:
            return 1e12
        d, det = _unpack(beta, detectfn)
        value = -log_likelihood(ch, mask, d, det, d2=d2)
        return value if np.isfinite(value) else 1e12

    res = optimize.minimize(nll, np.asarray(beta0), method="BFGS", options={"gtol": 1e-5, "maxiter": 500})
    beta = np.asarray(res.x)
    hess = _hessian(nll, beta)
    try:
        vcv = np.linalg.inv(hess)
    except np.linalg.LinAlgError as exc:
        raise CamtrapError("the SECR fit is not identifiable from these data (singular Hessian)") from exc
    variances = np.diag(vcv)
    se_beta = np.where(variances > 0, np.sqrt(np.abs(variances)), np.nan)  # a negative variance: no SE, no CI
    gradient = np.array([(nll(beta + e) - nll(beta - e)) / 2e-4 for e in np.eye(len(beta)) * 1e-4])
    # BFGS on a numerical gradient often stops on "precision loss" at the optimum: also accept a flat gradient
    at_optimum = bool(res.success) or float(np.abs(gradient).max()) < 1e-3
    converged = at_optimum and bool(np.all(np.linalg.eigvalsh(hess) > 0)) and bool(np.isfinite(se_beta).all())

    def real(i: int, inverse: str) -> Estimate:
        b, s = float(beta[i]), float(se_beta[i])
        with np.errstate(over="ignore"):
            back = (lambda v: float(np.exp(v))) if inverse == "log" else (lambda v: float(expit(v)))
            value = back(b)
            grad = value if inverse == "log" else value * (1 - value)
            return Estimate(estimate=value, se=grad * s, lcl=back(b - Z95 * s), ucl=back(b + Z95 * s))

    ll = -float(res.fun)
    k = len(beta)
    return SecrFit(
        detectfn=detectfn,
        detector=ch.detector,
        density=real(0, "log"),
        g0=real(1, "logit"),
        sigma=real(2, "log"),
        z=real(3, "log") if detectfn == "HR" else None,
        log_likelihood=ll,
        aic=-2 * ll + 2 * k,
        aicc=-2 * ll + 2 * k * ch.n / max(ch.n - k - 1, 1),
        n=ch.n,
        detections=len(ch.animal),
        mask_points=len(mask.xy),
        mask_area_ha=mask.area_ha,
        buffer=mask.buffer,
        mask_spacing=mask.spacing,
        edge_detection=_edge_detection(ch, mask, _unpack(beta, detectfn)[1], d2),
        beta=tuple(float(b) for b in beta),
        vcv=tuple(tuple(float(v) for v in row) for row in vcv),
        converged=converged,
    )
