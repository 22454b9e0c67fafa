"""Print shipment visibility latency (p50, p95, max per stage) over recent milestones."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from hub.selectors.latency import default_since, latency_report


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    if abs(value) < 120:
        return f"{value:.1f}s"
    if abs(value) < 7200:
        return f"{value / 60:.1f}m"
    return f"{value / 3600:.1f}h"


class Command(BaseCommand):
    help = (
        "Shipment visibility latency per milestone: occurred → received by the hub → first delivered to a "
        "subscriber; p50, p95 and max of each stage over the milestones received in the last --hours."
    )

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=int, default=24, help="Milestones received in the last N hours (24).")
        parser.add_argument("--json", action="store_true", help="Print the report as JSON (seconds).")

    def handle(self, *args, hours: int, json: bool, **options):
        report = latency_report(since=default_since(hours))
        if json:
            self.stdout.write(_as_json(report))
            return
        self.stdout.write(
            f"{report.milestones} milestone(s) received in the last {hours}h; "
            f"{report.pending} not delivered to any subscriber yet."
        )
        self.stdout.write(f"{'stage':<40} {'n':>6} {'p50':>8} {'p95':>8} {'max':>8}")
        for stage in report.stages:
            self.stdout.write(
                f"{stage.label:<40} {stage.count:>6} {_seconds(stage.p50):>8} {_seconds(stage.p95):>8} "
                f"{_seconds(stage.max):>8}"
            )


def _as_json(report) -> str:
    return json.dumps({
        "since": report.since.isoformat() if report.since else None,
        "milestones": report.milestones,
        "pending": report.pending,
        "stages": {s.stage: {"count": s.count, "p50": s.p50, "p95": s.p95, "max": s.max} for s in report.stages},
    }, indent=2)
