"""Create the staff role groups and set exactly the permissions hub.roles declares."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from canonical.context import Actor
from hub.roles import UnknownPermission, roles_apply


class Command(BaseCommand):
    help = "Create one Django group per staff role with exactly the permissions in hub/roles.py (idempotent)."

    def handle(self, *args, **options):
        try:
            changes = roles_apply(actor=Actor.hub())
        except UnknownPermission as exc:
            raise CommandError(str(exc)) from exc
        for change in changes:
            if change.created:
                state = "created"
            elif change.changed:
                state = f"updated (+{len(change.added)} -{len(change.removed)})"
            else:
                state = "unchanged"
            self.stdout.write(f"role {change.role:<22} {change.total:>3} permissions  {state}")
