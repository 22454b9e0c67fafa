"""Create the demo superuser and one staff user per role, and print their logins.

Demo passwords are ``<username>-demo-pass``. An existing user keeps its password
unless ``--reset`` is given; the command never runs against a production
configuration unless ``--force`` is given.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from hub import roles


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str | None  # None: the superuser
    first_name: str
    last_name: str

    @property
    def password(self) -> str:
        return f"{self.username}-demo-pass"

    @property
    def role_label(self) -> str:
        return roles.ROLE_LABELS[self.role] if self.role else "Superuser (everything)"


DEMO_USERS = [
    DemoUser("admin", None, "Ada", "Admin"),
    DemoUser("ops", roles.OPERATIONS, "Olivia", "Ortega"),
    DemoUser("finance", roles.FINANCE, "Frank", "Nguyen"),
    DemoUser("steward", roles.DATA_STEWARD, "Sofia", "Steward"),
    DemoUser("board", roles.GOVERNANCE_BOARD, "Bernard", "Boateng"),
    DemoUser("engineer", roles.INTEGRATION_ENGINEER, "Elena", "Engel"),
]


class Command(BaseCommand):
    help = "Create the demo superuser and one user per staff role (idempotent) and print their logins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url", default="http://127.0.0.1:8000", help="Where the hub answers, for the printed admin URL."
        )
        parser.add_argument("--reset", action="store_true", help="Set the demo password again on existing users.")
        parser.add_argument(
            "--force", action="store_true", help="Run even though HUB_PRODUCTION is on (you almost never want this)."
        )

    def handle(self, *args, base_url: str, reset: bool, force: bool, **options):
        if getattr(settings, "PRODUCTION", False) and not force:
            raise CommandError(
                "Refusing to create demo users with known passwords: HUB_PRODUCTION is on. Use --force to override."
            )
        missing_groups = [u.role for u in DEMO_USERS if u.role and not Group.objects.filter(name=u.role).exists()]
        if missing_groups:
            raise CommandError(
                f"Role groups {', '.join(missing_groups)} do not exist yet; run 'manage.py setup_roles' first."
            )
        rows = []
        with transaction.atomic():
            for demo in DEMO_USERS:
                state, password_shown = self._ensure(demo, reset=reset)
                rows.append((demo.username, password_shown, demo.role_label, state))
        self._print_table(rows, admin_url=base_url.rstrip("/") + "/admin/")

    def _ensure(self, demo: DemoUser, *, reset: bool) -> tuple[str, str]:
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=demo.username,
            defaults={
                "first_name": demo.first_name,
                "last_name": demo.last_name,
                "email": f"{demo.first_name}.{demo.last_name}@staff.example".lower(),
            },
        )
        fields = []
        for name, value in (("is_staff", True), ("is_superuser", demo.role is None), ("is_active", True)):
            if getattr(user, name) != value:
                setattr(user, name, value)
                fields.append(name)
        if created or reset:
            try:
                validate_password(demo.password, user)
            except ValidationError as exc:
                raise CommandError(f"Demo password for {demo.username} fails validation: {exc.messages}") from exc
            user.set_password(demo.password)
            fields.append("password")
        if created:
            user.save()
        elif fields:
            user.save(update_fields=fields)
        if demo.role:
            user.groups.add(Group.objects.get(name=demo.role))
        if created:
            return "created", demo.password
        if reset:
            return "password reset", demo.password
        if user.check_password(demo.password):
            return "exists", demo.password
        return "exists", "(changed; --reset restores it)"

    def _print_table(self, rows: list[tuple[str, str, str, str]], *, admin_url: str) -> None:
        header = ("username", "password", "role", "state")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        self.stdout.write(f"Demo logins for the admin at {admin_url}")
        for row in [header, *rows]:
            self.stdout.write("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
