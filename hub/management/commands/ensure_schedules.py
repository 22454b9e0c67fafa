"""Create or repair the django-q2 schedules the hub needs (heartbeat, dispatchers, sweepers)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from hub.tasks import ensure_schedules


class Command(BaseCommand):
    help = (
        "Create or repair the hub's schedules: the worker heartbeat, one delivery dispatcher per "
        "HUB_DISPATCHERS seat and the inbound sweeper. Idempotent; run it at every deploy (run_hub does)."
    )

    def handle(self, *args, **options):
        for schedule in ensure_schedules():
            self.stdout.write(f"{schedule.name}: {schedule.func} every {schedule.minutes} min")
