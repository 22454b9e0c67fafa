"""Breaking-change checks for OpenAPI documents and JSON Schema event contracts.

Pure Python (no models, no database), so API teams can run it in their own CI through
``manage.py api_diff``. The public API:

- load_openapi(source) / parse_document(text) / validate_openapi(doc): read and check documents.
- compare_openapi(old, new, *, today=None, deprecations=None) -> Report
- Report.verdict(old_version, new_version) / verdict(findings, old_version=, new_version=) -> Verdict
- check_schema_compatibility(old, new, mode) / check_against_history(history, new, mode, transitive)
- render_text(report) / render_json(report)
"""

from governance.diff.document import (
    OpenAPIDocumentError,
    PointerError,
    load_openapi,
    parse_document,
    resolve_pointer,
    validate_openapi,
)
from governance.diff.events import (
    CompatibilityMode,
    check_against_history,
    check_schema_compatibility,
    is_compatible,
)
from governance.diff.findings import Direction, Finding, Location, Report, Severity
from governance.diff.openapi import compare_openapi
from governance.diff.render import render_findings_text, render_json, render_text, report_to_dict
from governance.diff.versioning import SemVer, Verdict, VersionError, verdict

__all__ = [
    "CompatibilityMode",
    "Direction",
    "Finding",
    "Location",
    "OpenAPIDocumentError",
    "PointerError",
    "Report",
    "SemVer",
    "Severity",
    "Verdict",
    "VersionError",
    "check_against_history",
    "check_schema_compatibility",
    "compare_openapi",
    "is_compatible",
    "load_openapi",
    "parse_document",
    "render_findings_text",
    "render_json",
    "render_text",
    "report_to_dict",
    "resolve_pointer",
    "validate_openapi",
    "verdict",
]
