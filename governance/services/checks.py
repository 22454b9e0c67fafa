"""The checks an uploaded version goes through before anything is stored (the dry run).

``api_version_check`` reads and validates the OpenAPI document, finds the version it must be
compatible with, runs the breaking-change comparison and the semantic-versioning verdict, and
lints the document's style. Uploading, publishing and the upload page's dry run all call it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from governance.diff import (
    Finding,
    OpenAPIDocumentError,
    Report,
    SemVer,
    Verdict,
    VersionError,
    compare_openapi,
    load_openapi,
    validate_openapi,
)
from governance.models import ApiProduct, ApiVersion, Lifecycle
from governance.style import WaiverError, lint_openapi, parse_waivers

# The versions a new one must stay compatible with: what consumers rely on, or did until recently.
COMPARABLE_STATES = (Lifecycle.PUBLISHED, Lifecycle.DEPRECATED, Lifecycle.RETIRED, Lifecycle.BLOCKED)


def semver_of(version: ApiVersion) -> SemVer:
    return SemVer.parse(version.version)


def previous_version(product: ApiProduct, new: SemVer, *, exclude_pk: int | None = None) -> ApiVersion | None:
    """The newest comparable version of ``product`` below ``new`` (semantic-version order)."""
    candidates = [
        v for v in product.versions.filter(status__in=COMPARABLE_STATES).exclude(pk=exclude_pk)
        if semver_of(v) < new
    ]
    return max(candidates, key=semver_of, default=None)


@dataclass
class VersionCheck:
    """Everything the dry run shows. ``accepted`` is False when the version must not be stored."""

    product: ApiProduct
    version: str = ""
    semver: SemVer | None = None
    document: dict | None = None
    previous: ApiVersion | None = None
    report: Report | None = None
    verdict: Verdict | None = None
    style: list[Finding] = field(default_factory=list)
    waivers: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return not self.problems and (self.verdict is None or self.verdict.allowed)

    @property
    def reasons(self) -> list[str]:
        """Why the version is refused: document problems first, then the verdict and each blocking finding."""
        reasons = list(self.problems)
        if self.verdict is not None and not self.verdict.allowed:
            reasons.append(self.verdict.summary)
            reasons.extend(self.verdict.reasons)
        return reasons

    @property
    def style_errors(self) -> list[Finding]:
        return [f for f in self.style if f.is_breaking]

    def compatibility_json(self) -> dict[str, Any]:
        if self.report is None:
            return {}
        return {
            "against": self.previous.version if self.previous else None,
            "report": self.report.to_dict(),
            "verdict": self.verdict.to_dict() if self.verdict else None,
        }


def _load(source: str | bytes | Mapping) -> dict:
    if isinstance(source, Mapping):
        document = dict(source)
        problems = validate_openapi(document)
        if problems:
            raise OpenAPIDocumentError("The document is not a valid OpenAPI 3.0/3.1 document.", problems)
        return document
    return load_openapi(source, name="The uploaded document")


def api_version_check(
    *,
    product: ApiProduct,
    source: str | bytes | Mapping,
    version: str = "",
    waivers: Iterable[Mapping[str, Any]] = (),
    exclude_pk: int | None = None,
) -> VersionCheck:
    """Dry run: validate, compare with the previous version, judge the version number, lint. Stores nothing."""
    check = VersionCheck(product=product)
    try:
        check.document = _load(source)
    except OpenAPIDocumentError as exc:
        check.problems.append(exc.summary)
        check.problems.extend(exc.problems)
        return check

    declared = str((check.document.get("info") or {}).get("version") or "")
    check.version = (version or declared).strip()
    if not check.version:
        check.problems.append("Give the version number: the document's info.version is empty.")
        return check
    try:
        check.semver = SemVer.parse(check.version)
    except VersionError as exc:
        check.problems.append(str(exc))
        return check
    if product.versions.filter(version=check.version).exclude(pk=exclude_pk).exists():
        check.problems.append(f"{product.name} already has a version {check.version}; versions cannot be replaced.")

    try:
        parsed = parse_waivers(waivers)
    except WaiverError as exc:
        check.problems.extend(exc.problems)
        parsed = []
    check.waivers = [w.to_dict() for w in parsed]
    check.style = lint_openapi(check.document, parsed)

    check.previous = previous_version(product, check.semver, exclude_pk=exclude_pk)
    if check.previous is not None:
        check.report = compare_openapi(check.previous.openapi, check.document)
        check.verdict = check.report.verdict(check.previous.version, check.version)
    return check
