"""The shape every check reports in: Finding (one observation with a stable check id) and Report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from governance.diff.versioning import Verdict


class Severity(StrEnum):
    """How bad a finding is. ``error`` is breaking: it needs a major version (or a waiver for style)."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


class Direction(StrEnum):
    """Who is hurt by the change: clients sending requests, clients reading responses, or both."""

    REQUEST = "request"
    RESPONSE = "response"
    BOTH = "both"


@dataclass(frozen=True)
class Location:
    """Where a finding is: the API path and HTTP method (if any) and a JSON pointer into a document.

    ``pointer`` is an RFC 6901 JSON pointer ("" is the whole document). ``document`` says which
    document it points into: "new" whenever the node exists there, else "old" (a removed operation
    or property only exists in the old document). ``old_pointer`` is set when the node is at
    another place in the old document, so both can be shown side by side.
    """

    pointer: str = ""
    path: str | None = None
    method: str | None = None
    document: str = "new"
    # Where the same node is in the old document, when that is elsewhere (a schema moved behind a $ref).
    old_pointer: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {"path": self.path, "method": self.method, "pointer": self.pointer, "document": self.document}
        if self.old_pointer is not None:
            data["old_pointer"] = self.old_pointer
        return data

    @property
    def operation(self) -> str:
        """'GET /pets/{id}', or the path alone, or '' for document-wide findings."""
        if self.path and self.method:
            return f"{self.method} {self.path}"
        return self.path or ""


@dataclass(frozen=True)
class Finding:
    """One observation about a document or a change between two documents.

    check_id     stable identifier of the rule (e.g. 'response-property-removed'); safe to store.
    severity     error | warning | info.
    direction    request | response | both.
    location     path, method and JSON pointer (see Location).
    message      one sentence a person understands, naming the thing and why it matters.
    old / new    the values before and after, where they help (types, enum values, status codes...).
    waived       style findings only: True when a waiver covers it; ``waiver_reason`` says why.
    compatibility  event contracts only: the compatibility mode(s) the change breaks, e.g. 'FORWARD'.
    against      event contracts only: label of the earlier schema version this finding is against.
    """

    check_id: str
    severity: Severity
    direction: Direction
    location: Location
    message: str
    old: Any = None
    new: Any = None
    waived: bool = False
    waiver_reason: str = ""
    compatibility: str | None = None
    against: str | None = None

    @property
    def is_breaking(self) -> bool:
        return self.severity == Severity.ERROR and not self.waived

    def with_changes(self, **changes: Any) -> Finding:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "check_id": self.check_id,
            "severity": str(self.severity),
            "direction": str(self.direction),
            "location": self.location.to_dict(),
            "message": self.message,
            "old": _jsonable(self.old),
            "new": _jsonable(self.new),
            "waived": self.waived,
            "waiver_reason": self.waiver_reason,
        }
        if self.compatibility is not None:
            data["compatibility"] = self.compatibility
        if self.against is not None:
            data["against"] = self.against
        return data


def _jsonable(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if isinstance(value, tuple):
        return list(value)
    return value


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Errors first, then by operation and pointer, so reports read the same way every run."""
    return sorted(
        findings,
        key=lambda f: (f.severity.rank, f.location.path or "", f.location.method or "", f.location.pointer, f.check_id),
    )


@dataclass
class Report:
    """The findings of one comparison, errors first.

    ``has_breaking`` is true when any finding is error-level; ``verdict(old_version, new_version)``
    applies the semantic-versioning rule (see governance.diff.versioning.verdict).
    """

    findings: list[Finding] = field(default_factory=list)
    old_version: str | None = None
    new_version: str | None = None

    def __post_init__(self) -> None:
        self.findings = sort_findings(self.findings)

    @property
    def has_breaking(self) -> bool:
        return any(f.is_breaking for f in self.findings)

    @property
    def counts(self) -> dict[str, int]:
        counter = Counter(str(f.severity) for f in self.findings)
        return {severity.value: counter.get(severity.value, 0) for severity in Severity}

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.WARNING]

    @property
    def infos(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.INFO]

    def by_check(self, check_id: str) -> list[Finding]:
        return [f for f in self.findings if f.check_id == check_id]

    def verdict(self, old_version: str | None = None, new_version: str | None = None) -> Verdict:
        """Whether ``new_version`` may follow ``old_version`` given these findings (semver rule).

        Versions default to the documents' ``info.version``. See versioning.verdict for the rule.
        """
        from governance.diff.versioning import verdict

        old_v = old_version if old_version is not None else self.old_version
        new_v = new_version if new_version is not None else self.new_version
        if old_v is None or new_v is None:
            raise ValueError("Both versions are needed for a verdict (the documents carry none in info.version).")
        return verdict(self.findings, old_version=old_v, new_version=new_v)

    def to_dict(self) -> dict[str, Any]:
        return {
            "old_version": self.old_version,
            "new_version": self.new_version,
            "has_breaking": self.has_breaking,
            "counts": self.counts,
            "findings": [f.to_dict() for f in self.findings],
        }
