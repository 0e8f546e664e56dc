"""`skywatch run JOB.yaml`: a whole job, tile by tile on Dask, resumable."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from skywatch.cli.options import json_option, overwrite_option
from skywatch.errors import SkywatchError

__all__ = ["run"]


@click.command()
@click.argument("job_file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), help="Output folder (overrides the job's).")
@click.option("--dry-run", is_flag=True, help="Print scenes, tiles, estimated bytes and time; read no pixels.")
@click.option("--scheduler", help="Address of an existing Dask scheduler (default: DASK_SCHEDULER_ADDRESS, else a "
              "LocalCluster sized to this machine).")  # fmt: skip
@json_option
@overwrite_option
def run(job_file: Path, out: Path | None, dry_run: bool, scheduler: str | None, as_json: bool,
        overwrite: bool) -> None:  # fmt: skip
    """Run JOB_FILE (YAML). A demo job file (top-level `demo:`) runs the demo chain on the synthetic sample.

    A killed run resumes from its checkpoints when started again with the same job and --out.
    """
    import yaml

    try:
        text = job_file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        message = f"job file {str(job_file)!r} is not UTF-8 text (byte {exc.start}): save it as UTF-8"
        raise SkywatchError(message) from exc
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        doc = None
    if isinstance(doc, dict) and "demo" in doc:
        from skywatch.jobs.demo import load_demo_job, run_demo

        if dry_run:
            raise click.UsageError("--dry-run applies to imagery jobs; the demo reads only the generated sample")
        demo = run_demo(out or Path("demo-output"), config=load_demo_job(job_file), overwrite=overwrite)
        done = {"out": str(demo.out), "incidents": demo.counts, "seconds": round(demo.seconds, 2)}
        click.echo(json.dumps(done) if as_json else f"demo -> {demo.out}", err=not as_json)
        return
    from skywatch.cli.progress import stage_printer
    from skywatch.jobs.config import load_job
    from skywatch.jobs.runner import plan_job, run_job

    job = load_job(job_file)
    if dry_run:
        plan = plan_job(job)
        info: dict[str, Any] = plan.summary()
        if as_json:
            click.echo(json.dumps(info, indent=1))
            return
        scenes = info["scenes"]
        click.echo(f"{job.name}: {len(scenes['before'])} scene(s) before, {len(scenes['after'])} after; tiles "
                   f"{info['tiles']} ({info['grid']['tile_px']} px at {info['grid']['resolution_m']:g} m, "
                   f"EPSG:{info['grid']['epsg']})")  # fmt: skip
        click.echo(f"estimated read {info['estimated_bytes'] / 1e9:.2f} GB, about "
                   f"{info['estimated_seconds_per_core'] / 60:.1f} core-minutes of detection")  # fmt: skip
        return
    try:
        result = run_job(job, out=out, scheduler=scheduler, overwrite=overwrite, job_text=text,
                         progress=stage_printer(sys.stderr))  # fmt: skip
    except KeyboardInterrupt:
        raise SkywatchError(
            "interrupted: finished tiles are checkpointed; run the same command again to resume"
        ) from None
    summary = {"out": str(result.out), "counts": result.manifest["counts"], "timings_s": result.manifest["timings_s"]}
    if as_json:
        click.echo(json.dumps(summary, indent=1))
    else:
        click.echo(f"{job.name} -> {result.out}: {result.manifest['counts']}", err=True)
    if result.push_error:
        from skywatch.errors import OutputError

        raise OutputError(f"outputs are complete, but the webhook failed: {result.push_error}")
