"""Compare two OpenAPI documents and report breaking changes, for API teams' CI.

Exit codes: 0 no blocking finding; 1 blocking findings (or the version check refuses); 2 bad input.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from governance.diff import (
    OpenAPIDocumentError,
    VersionError,
    compare_openapi,
    load_openapi,
    render_json,
    render_text,
)
from governance.style import lint_openapi

EXIT_BLOCKING = 1
EXIT_BAD_INPUT = 2


class Command(BaseCommand):
    help = (
        "Compare two OpenAPI 3.0/3.1 documents (JSON or YAML files) and print the breaking-change report. "
        "Exits 1 when there is an error-level finding; with --old-version/--new-version, exits 1 only when "
        "the semantic-version check refuses (a breaking change without a major bump). Exits 2 on bad input."
    )
    requires_system_checks: list[str] = []  # runs in API teams' CI without the hub's database

    def add_arguments(self, parser):
        parser.add_argument("old", help="The published (old) OpenAPI document.")
        parser.add_argument("new", help="The proposed (new) OpenAPI document.")
        parser.add_argument("--format", choices=["text", "json"], default="text", help="Output format (default text).")
        parser.add_argument("--old-version", help="Version of OLD (default: its info.version).")
        parser.add_argument("--new-version", help="Version of NEW (default: its info.version).")
        parser.add_argument(
            "--lint", action="store_true", help="Also apply the style rules to NEW; unwaived style errors exit 1 too."
        )
        parser.add_argument("--today", help="Judge sunset dates against this date (YYYY-MM-DD) instead of today.")

    def handle(self, *args, old, new, format, old_version, new_version, lint, today, **options):
        today_date = self._parse_today(today)
        old_doc = self._load(old)
        new_doc = self._load(new)
        report = compare_openapi(old_doc, new_doc, today=today_date)
        verdict = None
        if old_version or new_version:
            try:
                verdict = report.verdict(old_version or report.old_version, new_version or report.new_version)
            except (VersionError, ValueError) as exc:
                raise CommandError(str(exc), returncode=EXIT_BAD_INPUT) from None
        lint_findings = lint_openapi(new_doc) if lint else None
        renderer = render_json if format == "json" else render_text
        self.stdout.write(renderer(report, verdict=verdict, lint=lint_findings), ending="")

        problems = []
        if verdict is not None and not verdict.allowed:
            problems.append(verdict.summary)
        elif verdict is None and report.has_breaking:
            problems.append(f"{report.counts['error']} breaking change(s) found.")
        if lint_findings and any(f.is_breaking for f in lint_findings):
            problems.append(f"{sum(f.is_breaking for f in lint_findings)} style error(s) in {new}.")
        if problems:
            raise CommandError(" ".join(problems), returncode=EXIT_BLOCKING)

    def _load(self, name: str) -> dict:
        try:
            return load_openapi(Path(name), name=name)
        except OpenAPIDocumentError as exc:
            raise CommandError(str(exc), returncode=EXIT_BAD_INPUT) from None

    def _parse_today(self, value: str | None) -> date | None:
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise CommandError(f"--today must be a date as YYYY-MM-DD (got '{value}').", returncode=EXIT_BAD_INPUT) from None
