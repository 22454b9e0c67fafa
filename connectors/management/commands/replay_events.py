"""manage.py replay_events: send matching events to their subscribers again (receivers de-duplicate by id)."""

from __future__ import annotations

import sys
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from canonical.context import Actor
from canonical.errors import CanonicalError
from connectors.models import Subscription
from connectors.services.deliveries import deliveries_replay

BAR_WIDTH = 30


def _moment(value: str, option: str) -> datetime:
    parsed = parse_datetime(value)
    if parsed is None:
        day = parse_date(value)
        if day is not None:
            parsed = datetime(day.year, day.month, day.day)
    if parsed is None:
        raise CommandError(f"{option} {value!r} is not an ISO date or date-time (e.g. 2025-03-01T12:00:00Z).")
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def _subscription(value: str) -> Subscription:
    if value.isdigit():
        found = Subscription.objects.filter(pk=int(value)).select_related("connector").first()
        if found is not None:
            return found
    matches = list(Subscription.objects.filter(name=value).select_related("connector"))
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise CommandError(f"No subscription has the id or name {value!r}.")
    listed = ", ".join(f"{s.pk} ({s.connector.code})" for s in matches)
    raise CommandError(f"Several subscriptions are named {value!r}; give the id: {listed}.")


class Command(BaseCommand):
    help = "Re-send the events matching a time window, event types, an aggregate or a subscription."

    def add_arguments(self, parser):
        parser.add_argument("--since", help="Events recorded at or after this ISO date-time.")
        parser.add_argument("--until", help="Events recorded before this ISO date-time.")
        parser.add_argument("--type", action="append", dest="types", metavar="TYPE",
                            help="Event type or pattern such as 'order.*' (repeatable).")
        parser.add_argument("--aggregate", help="One aggregate, as type:id (e.g. order:42).")
        parser.add_argument("--subscription", help="Only this subscription (id or name).")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be re-sent; change nothing.")

    def _progress(self, done: int, total: int) -> None:
        filled = BAR_WIDTH if total == 0 else BAR_WIDTH * done // total
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} events")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    def handle(self, *args, **options):
        since = _moment(options["since"], "--since") if options["since"] else None
        until = _moment(options["until"], "--until") if options["until"] else None
        subscription = _subscription(options["subscription"]) if options["subscription"] else None
        try:
            result = deliveries_replay(
                actor=Actor.hub(), since=since, until=until, event_types=options["types"],
                aggregate=options["aggregate"], subscription=subscription, dry_run=options["dry_run"],
                progress=self._progress,
            )
        except CanonicalError as exc:
            raise CommandError(exc.detail) from exc
        verb = "Would re-send" if result.dry_run else "Re-sent"
        self.stdout.write(
            f"{verb} {result.events} event(s): {result.requeued} deliveries back to pending, "
            f"{result.created} created, {result.skipped_in_flight} in flight left alone."
        )
