"""`skywatch alerts`: fold a run's alerts into the alert store, filter, export and push them."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import click

from skywatch.cli.options import overwrite_option

__all__ = ["alerts"]

TYPES = ("fire_active", "burn_scar", "clearcut", "road")


def _confidence(value: str) -> int:
    from skywatch.outputs.alert_store import CONFIDENCE_FLOOR

    if value in CONFIDENCE_FLOOR:
        return CONFIDENCE_FLOOR[value]
    try:
        pct = int(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: give low, nominal, high or 0-100", param_hint="--min-confidence"
        ) from None
    if not 0 <= pct <= 100:
        raise click.BadParameter(f"{value!r} is not within 0-100", param_hint="--min-confidence")
    return pct


def _list(value: str | None, allowed: tuple[str, ...], name: str) -> list[str] | None:
    if not value:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    bad = [v for v in items if v not in allowed]
    if bad:
        raise click.BadParameter(f"{bad} not in {list(allowed)}", param_hint=name)
    return items


def _read_collection(path: Path) -> dict[str, Any]:
    from skywatch.errors import DataError

    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read alerts from {str(path)!r}: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise DataError(f"{str(path)!r} is not a GeoJSON FeatureCollection of alerts (skywatch's alerts.geojson)")
    for i, feat in enumerate(doc["features"]):
        props = feat.get("properties") or {}
        missing = [k for k in ("id", "type", "acq_date") if k not in props]
        if missing or feat.get("geometry") is None:
            raise DataError(f"{str(path)!r} feature {i}: not a skywatch alert (missing {missing or ['geometry']})")
    return doc


@click.command()
@click.option("--store", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Alert store (GeoPackage); created by the first --add.")  # fmt: skip
@click.option("--add", "add", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="A run's alerts.geojson to fold into the store first.")  # fmt: skip
@click.option("--date", "run_date", type=click.DateTime(["%Y-%m-%d"]),
              help="Date the added run stands for [default: its latest acq_date].")  # fmt: skip
@click.option("--aoi", "aoi_name", help="The area the added run searched: alerts outside are dropped (and counted), "
              "open alerts inside that were not seen again are resolved.")  # fmt: skip
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Only alerts last seen on or after this date.")
@click.option("--min-confidence", default="low", show_default=True, help="low, nominal, high, or a 0-100 floor.")
@click.option("--types", help=f"Comma-separated subset of {', '.join(TYPES)}.")
@click.option("--status", "statuses", help="Comma-separated subset of new, ongoing, resolved.")
@click.option("--format", "fmt", type=click.Choice(["geojson", "csv", "cap"]), default="geojson", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), help="Output file (a folder for --format cap).")
@click.option("--sender", default="skywatch@localhost", show_default=True, help="CAP sender (no spaces).")
@click.option("--webhook", help="POST the selected alerts not yet delivered (GeoJSON) to this http(s) URL.")
@click.option("--webhook-attempts", type=click.IntRange(1, 20), default=5, show_default=True,
              help="Attempts in all (retries wait 1 s, doubling; Retry-After is honoured).")  # fmt: skip
@overwrite_option
def alerts(store: Path, add: Path | None, run_date: Any, aoi_name: str | None, since: Any, min_confidence: str,
           types: str | None, statuses: str | None, fmt: str, out: Path | None, sender: str, webhook: str | None,
           webhook_attempts: int, overwrite: bool) -> None:  # fmt: skip
    """Keep alerts across runs (new / ongoing / resolved), filter them and deliver them as GeoJSON, CSV or CAP."""
    from skywatch.errors import OutputError
    from skywatch.outputs.alert_store import mark_pushed, query_store, update_store
    from skywatch.outputs.alerts import write_alerts

    floor = _confidence(min_confidence)
    type_list = _list(types, TYPES, "--types")
    status_list = _list(statuses, ("new", "ongoing", "resolved"), "--status")
    if add is not None:
        collection = _read_collection(add)
        when = run_date.date() if run_date else max(
            (date.fromisoformat(f["properties"]["acq_date"]) for f in collection["features"]), default=date.today()
        )  # fmt: skip
        coverage = None
        if aoi_name:
            from skywatch.aoi import load_aoi

            coverage = load_aoi(aoi_name).geometry
        update = update_store(store, collection, run_date=when, coverage=coverage)
        click.echo(f"store {store}: {len(update.new)} new, {len(update.ongoing)} ongoing, {len(update.resolved)} "
                   f"resolved, {len(update.unchanged)} unchanged; {update.dropped_outside} outside the AOI dropped",
                   err=True)  # fmt: skip
    selected = query_store(store, since=since.date() if since else None, min_confidence=floor, types=type_list,
                           statuses=status_list)  # fmt: skip
    n = len(selected["features"])
    if out is None and fmt == "cap":
        raise click.UsageError("--format cap writes one XML file per alert: give --out FOLDER")
    if out is None and not webhook:  # data on stdout, messages on stderr
        if fmt == "geojson":
            click.echo(json.dumps(selected, ensure_ascii=False))
        else:
            from skywatch.outputs.alert_csv import alerts_csv_text

            click.echo(alerts_csv_text(selected), nl=False)
    if out is not None:
        if fmt == "geojson":
            write_alerts(out, selected, overwrite=overwrite or not out.exists())
        elif fmt == "csv":
            from skywatch.outputs.alert_csv import write_alerts_csv

            write_alerts_csv(out, selected, overwrite=overwrite or not out.exists())
        else:
            from skywatch.outputs.cap import write_cap

            write_cap(out, selected, sender=sender, overwrite=overwrite)
        click.echo(f"{n} alert(s) -> {out} ({fmt})", err=True)
    if webhook:
        from skywatch.outputs.webhook import push_alerts
        from skywatch.sources.http import RetryPolicy

        pending = query_store(store, since=since.date() if since else None, min_confidence=floor, types=type_list,
                              statuses=status_list, unpushed_only=True)  # fmt: skip
        if not pending["features"]:
            click.echo("webhook: nothing new to send", err=True)
            return
        report = push_alerts(webhook, pending, policy=RetryPolicy(max_attempts=webhook_attempts, backoff_s=1.0,
                                                                  max_backoff_s=60.0, max_total_s=300.0))  # fmt: skip
        if not report.ok:
            kept = len(pending["features"])
            raise OutputError(f"{report.message} ({kept} alert(s) kept in {store})")
        mark_pushed(store, [f["id"] for f in pending["features"]])
        click.echo(f"webhook: {len(pending['features'])} alert(s) delivered to {report.url}", err=True)
