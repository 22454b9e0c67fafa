"""Configuration as code: export the integration configuration as YAML, or apply a YAML file."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from canonical.context import Actor
from connectors.config.apply import config_apply
from connectors.config.export import config_export
from connectors.config.loader import ConfigInvalid, config_parse


class Command(BaseCommand):
    help = ("Export the hub's systems, system-of-record table, connectors, mappings and subscriptions as one "
            "YAML document, or apply such a document (showing the difference first; --dry-run changes nothing).")

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="subcommand", required=True, metavar="{export,apply}")
        export = commands.add_parser("export", help="Write the configuration as YAML.")
        export.add_argument("--output", "-o", help="File to write (default: standard output).")
        apply = commands.add_parser("apply", help="Validate a YAML file, show the difference, apply it.")
        apply.add_argument("file", help="The YAML document.")
        apply.add_argument("--dry-run", action="store_true", help="Show the difference; change nothing.")

    def handle(self, *args, **options):
        if options["subcommand"] == "export":
            return self._export(options.get("output"))
        return self._apply(options["file"], options["dry_run"])

    def _export(self, output: str | None) -> None:
        text = config_export()
        if not output:
            self.stdout.write(text, ending="")
            return
        Path(output).write_text(text, encoding="utf-8")
        self.stderr.write(f"Configuration written to {output}.")

    def _apply(self, file: str, dry_run: bool) -> None:
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror or exc}.") from exc
        try:
            plan = config_apply(document=config_parse(text, source=str(path)), actor=Actor.hub(), dry_run=dry_run)
        except ConfigInvalid as exc:
            raise CommandError(str(exc)) from exc
        for line in plan.lines():
            self.stdout.write(line)
        if not plan.has_changes:
            self.stdout.write(f"No changes: the hub already matches {file}. {plan.summary()}")
        elif dry_run:
            self.stdout.write(f"Dry run, nothing changed: {plan.summary()}")
        else:
            self.stdout.write(self.style.SUCCESS(f"Applied {file}: {plan.summary(applied=True)}"))
