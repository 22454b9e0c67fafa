"""Look for likely duplicate customer accounts among those that exist and raise each pair for the
data stewards (new CRM accounts are checked as they arrive; this is for loads and older data)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from canonical.context import Actor
from hub.workflows.onboarding import customers_duplicate_scan


class Command(BaseCommand):
    help = "Raise the likely duplicate customer accounts for the data stewards' review."

    def handle(self, *args, **options):
        raised = customers_duplicate_scan(actor=Actor.hub())
        opened = sum(1 for exception in raised if exception.occurrences == 1)
        self.stdout.write(f"{len(raised)} likely duplicate account(s) in the data stewards' queue "
                          f"({opened} newly raised).")
