"""Register the hub's current OpenAPI schema as the next version of each of its API products."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from canonical.context import Actor
from governance.hub_api import PUBLISHED_SNAPSHOT, hub_api_register, live_schema, snapshot_write


class Command(BaseCommand):
    help = (
        "Split the live drf-spectacular schema into the hub's API products and register each part as its "
        "next version (patch, or minor for additions). A breaking change is refused: it needs /api/v<N+1>/."
    )

    def add_arguments(self, parser):
        parser.add_argument("--publish", action="store_true",
                            help="Submit the new versions; products that need no approvals are published at once.")
        parser.add_argument("--snapshot", action="store_true",
                            help=f"After publishing, write the schema to {PUBLISHED_SNAPSHOT.name} "
                                 "(the baseline the test suite compares the live schema with).")

    def handle(self, *args, publish, snapshot, **options):
        if snapshot and not publish:
            raise CommandError("--snapshot records what was published: use it with --publish.")
        schema = live_schema()
        results = hub_api_register(actor=Actor.hub(), schema=schema, publish=publish)
        refused = False
        for result in results:
            if result.outcome == "refused":
                refused = True
                self.stderr.write(f"{result.label}: {result.state}")
                for reason in result.reasons:
                    self.stderr.write(f"  - {reason}")
            else:
                self.stdout.write(f"{result.label}: {result.state}")
        if refused:
            raise CommandError("Some products were refused; see the reasons above.")
        if snapshot:
            path = snapshot_write(schema)
            self.stdout.write(f"Snapshot of the published schema written to {path}")
