"""Job files: one YAML file names the AOI, date windows, provider, detectors, fusion settings, outputs and alert
targets of a run (``skywatch run JOB.yaml``).

Validated with pydantic; unknown keys and wrong types are errors that name the key and the line of the file it
came from. Relative paths in the file are relative to the file's folder. See ``cli/jobs/demo.yaml`` and
``cli/jobs/park-weekly.yaml``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from skywatch.errors import DataError
from skywatch.fuse.risk import DEFAULT_THREATS

__all__ = ["JobConfig", "load_job"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Window(_Strict):
    """A date window, written ``START/END`` (inclusive) in the file."""

    start: date
    end: date

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                a, b = value.split("/")
                return {"start": date.fromisoformat(a.strip()), "end": date.fromisoformat(b.strip())}
            except ValueError:
                raise ValueError(f"{value!r} is not START/END (YYYY-MM-DD/YYYY-MM-DD)") from None
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end < self.start:
            raise ValueError(f"the window ends ({self.end}) before it starts ({self.start})")
        return self


class Windows(_Strict):
    """Before and after the change."""

    before: Window
    after: Window

    @model_validator(mode="after")
    def _apart(self) -> Windows:
        if self.before.end >= self.after.start:
            raise ValueError("the before window must end before the after window starts")
        return self


class Provider(_Strict):
    """Where imagery comes from (``skywatch search --help`` lists the providers)."""

    name: Literal["earth-search", "planetary-computer", "cdse", "sentinelhub", "earthengine", "local"] = "earth-search"
    stac_url: str | None = None
    path: Path | None = None
    max_cloud: float | None = Field(default=None, ge=0, le=100)

    @model_validator(mode="after")
    def _local_needs_path(self) -> Provider:
        if self.name == "local" and self.path is None:
            raise ValueError("provider local needs a path (a STAC catalog or a folder of GeoTIFFs)")
        return self


Task = Literal["fire", "clearcut", "roads"]
ThreatName = Literal["fire", "clearcut", "road"]


def _all_tasks() -> list[Task]:
    return ["fire", "clearcut", "roads"]


def _default_threats() -> dict[ThreatName, ThreatSetting]:
    out: dict[ThreatName, ThreatSetting] = {}
    for name in ("fire", "clearcut", "road"):
        t = DEFAULT_THREATS[name]
        out[name] = ThreatSetting(weight=t.weight, scale_m=t.scale_m)
    return out


class Detect(_Strict):
    """Which detectors run, and how."""

    tasks: list[Task] = Field(default_factory=_all_tasks)
    method: Literal["model", "baseline"] = "baseline"
    fire_index: Literal["dnbr", "rdnbr"] = "dnbr"
    cloud_buffer_px: int = Field(default=8, ge=0, le=100)

    @field_validator("tasks")
    @classmethod
    def _some(cls, value: list[str]) -> list[str]:
        if not value or len(set(value)) != len(value):
            raise ValueError("give one or more of fire, clearcut, roads, each once")
        return value


class ThreatSetting(_Strict):
    """Weight (0-1) and e-folding distance (m) of one disturbance in the habitat-risk layer."""

    weight: float = Field(ge=0, le=1)
    scale_m: float = Field(gt=0)


class Fusion(_Strict):
    """Camera traps and habitat risk."""

    camtrap: Path | None = None
    species: list[str] = Field(default_factory=lambda: ["Panthera pardus orientalis", "Panthera tigris altaica"])
    risk_resolution_m: float = Field(default=100.0, gt=0)
    threats: dict[ThreatName, ThreatSetting] = Field(default_factory=_default_threats)


class Outputs(_Strict):
    """Where results go, and the QGIS project's second language."""

    dir: Path = Path("skywatch-output")
    language: Literal["ru", "zh"] = "ru"


class Alerts(_Strict):
    """The alert store the run folds its alerts into, and where new alerts are pushed."""

    store: Path | None = None
    webhook: str | None = None
    min_confidence: int = Field(default=0, ge=0, le=100)


class Compute(_Strict):
    """Dask: a LocalCluster by default; ``scheduler`` (or DASK_SCHEDULER_ADDRESS) for an existing cluster."""

    scheduler: str | None = None
    workers: int | None = Field(default=None, ge=1)
    threads_per_worker: int = Field(default=1, ge=1)
    memory_limit: str = "auto"
    tile_px: int = Field(default=1024, ge=128, le=8192)


class JobConfig(_Strict):
    """A whole job."""

    name: str = "skywatch job"
    aoi: str
    windows: Windows
    provider: Provider = Field(default_factory=Provider)
    detect: Detect = Field(default_factory=Detect)
    fusion: Fusion = Field(default_factory=Fusion)
    outputs: Outputs = Field(default_factory=Outputs)
    alerts: Alerts = Field(default_factory=Alerts)
    compute: Compute = Field(default_factory=Compute)


def _lines(node: yaml.Node, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """Line (1-based) of every key and list item in a composed YAML document."""
    out = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            out[(*path, key.value)] = key.start_mark.line + 1
            out.update({k: v for k, v in _lines(value, (*path, key.value)).items() if k != (*path, key.value)})
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out.update(_lines(item, (*path, i)))
    return out


def _resolve(value: Path | None, base: Path) -> Path | None:
    if value is None or value.is_absolute():
        return value
    return base / value


def load_job(path: Path) -> JobConfig:
    """Read and validate the job file at ``path``; relative paths become relative to its folder.

    Raises:
        DataError: unreadable YAML, or a key that is unknown, missing or of the wrong type (naming key and line).
    """
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        doc = yaml.safe_load(text)
    except OSError as exc:
        raise DataError(f"cannot read job file {str(path)!r}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"job file {str(path)!r} is not UTF-8 text (byte {exc.start}): save it as UTF-8") from exc
    except yaml.YAMLError as exc:
        raise DataError(f"job file {str(path)!r} is not valid YAML: {exc}") from exc
    if not isinstance(doc, dict) or node is None:
        raise DataError(f"job file {str(path)!r} must be a mapping of settings (aoi, windows, ...)")
    lines = _lines(node)
    try:
        job = JobConfig.model_validate(doc)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            where = max((k for k in lines if loc[: len(k)] == k), key=len, default=())
            key = ".".join(str(p) for p in loc) or "(top level)"
            what = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(f"line {lines.get(where, 1)}: {key}: {what}")
        raise DataError(f"job file {str(path)!r}: " + "; ".join(problems[:5])) from None
    base = path.resolve().parent
    aoi = job.aoi if not Path(job.aoi).suffix else str(_resolve(Path(job.aoi), base))
    return job.model_copy(update={
        "aoi": aoi,
        "provider": job.provider.model_copy(update={"path": _resolve(job.provider.path, base)}),
        "fusion": job.fusion.model_copy(update={"camtrap": _resolve(job.fusion.camtrap, base)}),
        "outputs": job.outputs.model_copy(update={"dir": _resolve(job.outputs.dir, base)}),
        "alerts": job.alerts.model_copy(update={"store": _resolve(job.alerts.store, base)}),
    })  # fmt: skip
