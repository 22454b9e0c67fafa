"""Semantic versions and the rule that refuses a breaking change without a major version bump."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from governance.diff.findings import Finding

_SEMVER = re.compile(
    r"^v?(?P<major>0|[1-9]\d*)(?:\.(?P<minor>0|[1-9]\d*))?(?:\.(?P<patch>0|[1-9]\d*))?"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+(?P<build>[0-9A-Za-z.-]+))?$"
)

# Additions a consumer can start to use: semver asks for at least a minor release for them.
ADDITIVE_CHECKS = frozenset(
    {
        "operation-added",
        "optional-parameter-added",
        "request-optional-property-added",
        "response-property-added",
        "response-status-added",
        "request-media-type-added",
        "response-media-type-added",
        "request-enum-value-added",
    }
)


class VersionError(ValueError):
    """A version string that is not a semantic version."""


@dataclass(frozen=True, order=False)
class SemVer:
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    text: str = ""

    @classmethod
    def parse(cls, text: Any) -> SemVer:
        """Parse 'MAJOR.MINOR.PATCH[-pre][+build]' (a leading 'v' and missing MINOR/PATCH are allowed)."""
        raw = str(text).strip()
        match = _SEMVER.match(raw)
        if not match:
            raise VersionError(f"'{raw}' is not a semantic version (expected MAJOR.MINOR.PATCH, e.g. 1.4.0).")
        pre = tuple(match["pre"].split(".")) if match["pre"] else ()
        return cls(int(match["major"]), int(match["minor"] or 0), int(match["patch"] or 0), pre, raw)

    @property
    def core(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def _key(self) -> tuple:
        # Semver precedence: a pre-release sorts before its release; numeric identifiers compare as numbers.
        pre_key = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease)
        return (self.core, 0 if self.prerelease else 1, pre_key)

    def __lt__(self, other: SemVer) -> bool:
        return self._key() < other._key()

    def __le__(self, other: SemVer) -> bool:
        return self._key() <= other._key()

    def __str__(self) -> str:
        return self.text or ".".join(map(str, self.core))


@dataclass(frozen=True)
class Verdict:
    """The answer to 'may NEW follow OLD with these findings?'.

    allowed       False when refused.
    bump          the kind of release NEW is relative to OLD: major | minor | patch | prerelease | none.
    required_bump the smallest bump the findings need: major (breaking) | minor (additions) | patch.
    summary       one sentence for people.
    reasons       one line per blocking finding (check id, operation, message); empty when allowed.
    blocking      the error-level findings behind a refusal.
    """

    allowed: bool
    old_version: str
    new_version: str
    bump: str
    required_bump: str
    summary: str
    reasons: list[str] = field(default_factory=list)
    blocking: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "old_version": self.old_version,
            "new_version": self.new_version,
            "bump": self.bump,
            "required_bump": self.required_bump,
            "summary": self.summary,
            "reasons": list(self.reasons),
            "blocking": [f.to_dict() for f in self.blocking],
        }


def bump_kind(old: SemVer, new: SemVer) -> str:
    if new.major != old.major:
        return "major" if new.major > old.major else "none"
    if new.minor != old.minor:
        return "minor" if new.minor > old.minor else "none"
    if new.patch != old.patch:
        return "patch" if new.patch > old.patch else "none"
    return "prerelease" if old < new else "none"


def _breaking_allowed(old: SemVer, new: SemVer, bump: str) -> bool:
    if bump == "major":
        return True
    if old.major == 0 and new.major == 0 and bump == "minor":
        return True
    # Successive pre-releases of one unreleased version (2.0.0-rc.1 -> 2.0.0-rc.2) promise nothing.
    return bool(old.prerelease and new.prerelease and old.core == new.core)


def format_reason(finding: Finding) -> str:
    where = finding.location.operation or finding.location.pointer or "document"
    return f"[{finding.check_id}] {where}: {finding.message}"


def verdict(findings: Iterable[Finding], *, old_version: Any, new_version: Any) -> Verdict:
    """Apply the semantic-versioning rule to a set of findings.

    The rule:
    - NEW must be greater than OLD (semver precedence); otherwise refused.
    - Any error-level finding (not waived) is a breaking change and needs a major bump: NEW's
      major number above OLD's. While the major number is 0 (0.x.y, "initial development" in
      semver), a minor bump counts as major: 0.3.0 -> 0.4.0 may break, 0.3.0 -> 0.3.1 may not.
      Successive pre-releases of the same version (2.0.0-rc.1 -> 2.0.0-rc.2) may break too.
    - Warnings and infos never refuse. ``required_bump`` also says when additions call for a
      minor release, as advice.
    A refusal lists every blocking finding in ``reasons`` so the author sees what to fix, not
    just "incompatible".
    """
    old = SemVer.parse(old_version)
    new = SemVer.parse(new_version)
    items = list(findings)
    blocking = [f for f in items if f.is_breaking]
    additive = any(f.check_id in ADDITIVE_CHECKS for f in items)
    required = "major" if blocking else "minor" if additive else "patch"
    bump = bump_kind(old, new)
    if not old < new:
        return Verdict(
            allowed=False,
            old_version=str(old),
            new_version=str(new),
            bump=bump,
            required_bump=required,
            summary=f"Version {new} is not greater than {old}; a new version must have a higher version number.",
            reasons=[f"{new} <= {old}"],
            blocking=blocking,
        )
    if blocking and not _breaking_allowed(old, new, bump):
        zero = " (under 1.0.0 a minor bump counts as major)" if old.major == 0 else ""
        next_major = f"{old.major}.{old.minor + 1}.0" if old.major == 0 else f"{old.major + 1}.0.0"
        count = len(blocking)
        return Verdict(
            allowed=False,
            old_version=str(old),
            new_version=str(new),
            bump=bump,
            required_bump=required,
            summary=(
                f"Refused: {new} is a {bump} release after {old}, but the report has {count} breaking "
                f"change{'s' if count != 1 else ''}; breaking changes need a major version{zero}, "
                f"e.g. {next_major}, or the changes must be undone."
            ),
            reasons=[format_reason(f) for f in blocking],
            blocking=blocking,
        )
    if blocking:
        summary = f"Allowed: {new} is a {bump} release after {old}, so its {len(blocking)} breaking change(s) are permitted."
    elif required == "minor" and bump in ("patch", "prerelease"):
        summary = f"Allowed: no breaking changes. The additions suggest a minor release rather than a {bump} one."
    else:
        summary = f"Allowed: no breaking changes between {old} and {new}."
    return Verdict(
        allowed=True,
        old_version=str(old),
        new_version=str(new),
        bump=bump,
        required_bump=required,
        summary=summary,
    )
