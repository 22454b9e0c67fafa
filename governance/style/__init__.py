"""The built-in style ruleset for uploaded OpenAPI documents: ``lint_openapi(doc, waivers=None)``."""

from governance.style.rules import RULES, Waiver, WaiverError, lint_openapi, parse_waivers

__all__ = ["RULES", "Waiver", "WaiverError", "lint_openapi", "parse_waivers"]
