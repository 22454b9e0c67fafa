"""Configuration as code: systems, the system-of-record table, connectors, mappings and
subscriptions as one YAML document (``manage.py hub_config export`` / ``apply FILE [--dry-run]``).

- ``schema``: the document's JSON Schema and the fields each section manages;
- ``loader``: YAML parsing that keeps line numbers, schema errors naming line and field;
- ``diff``: the plan (create / update old → new / unchanged) after cross-section checks;
- ``apply``: the plan applied in one transaction, audited; ``export``: the document written out.

``demo.yaml`` beside this file is the demo distributor's integration configuration.
"""

from pathlib import Path

DEMO_CONFIG = Path(__file__).resolve().parent / "demo.yaml"
