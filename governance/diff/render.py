"""Render a report for people (text, grouped by severity) or for machines (JSON with every field)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from governance.diff.findings import Finding, Report, Severity, sort_findings
from governance.diff.versioning import Verdict

_HEADINGS = {
    Severity.ERROR: "Breaking changes (error)",
    Severity.WARNING: "Warnings",
    Severity.INFO: "Other changes (info)",
}


def _line(finding: Finding) -> list[str]:
    where = finding.location.operation or "(document)"
    waived = f"  [waived: {finding.waiver_reason}]" if finding.waived else ""
    head = f"  - {finding.check_id}  {where}{waived}"
    pointer = finding.location.pointer or "/"
    return [head, f"      {finding.message}", f"      at {pointer} ({finding.location.document} document)"]


def render_findings_text(findings: Sequence[Finding], *, title: str = "") -> str:
    lines: list[str] = [title] if title else []
    ordered = sort_findings(findings)
    if not ordered:
        lines.append("No findings.")
    for severity in Severity:
        group = [f for f in ordered if f.severity == severity]
        if not group:
            continue
        lines.append("")
        lines.append(f"{_HEADINGS[severity]}: {len(group)}")
        for finding in group:
            lines.extend(_line(finding))
    return "\n".join(lines).strip("\n") + "\n"


def render_text(report: Report, *, verdict: Verdict | None = None, lint: Sequence[Finding] | None = None) -> str:
    """The report as plain text: a summary line, then findings grouped by severity, errors first."""
    versions = ""
    if report.old_version or report.new_version:
        versions = f" {report.old_version or '?'} -> {report.new_version or '?'}"
    counts = report.counts
    title = (f"API diff{versions}: {counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info"
             + (" - BREAKING" if report.has_breaking else ""))
    text = render_findings_text(report.findings, title=title)
    if verdict is not None:
        text += "\nVersion check: " + verdict.summary + "\n"
        text += "".join(f"  * {reason}\n" for reason in verdict.reasons)
    if lint is not None:
        text += "\n" + render_findings_text(lint, title=f"Style findings for the new document: {len(lint)}")
    return text


def report_to_dict(report: Report, *, verdict: Verdict | None = None, lint: Sequence[Finding] | None = None) -> dict:
    data = report.to_dict()
    data["verdict"] = verdict.to_dict() if verdict is not None else None
    if lint is not None:
        data["lint"] = [f.to_dict() for f in sort_findings(lint)]
    return data


def render_json(report: Report, *, verdict: Verdict | None = None, lint: Sequence[Finding] | None = None) -> str:
    """The report as JSON: versions, has_breaking, counts, every finding with all its fields, verdict."""
    return json.dumps(report_to_dict(report, verdict=verdict, lint=lint), indent=2, ensure_ascii=False, default=str) + "\n"
