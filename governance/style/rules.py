"""The built-in style ruleset for OpenAPI documents, with per-operation waivers.

Every check id starts with 'style-'. A waiver ({check_id, path, method, reason}) does not drop a
finding: the finding comes back with ``waived=True`` and the reason, so the registry can keep the
waivers with the version and show what was accepted and why.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from governance.diff.document import (
    OpenAPIDocumentError,
    Resolver,
    iter_operations,
    join_pointer,
    validate_openapi,
)
from governance.diff.findings import Direction, Finding, Location, Severity, sort_findings

E, W = Severity.ERROR, Severity.WARNING

# check id -> (severity, what it asks for); the registry can show this as the ruleset.
RULES: dict[str, tuple[Severity, str]] = {
    "style-operation-id-missing": (E, "Every operation has an operationId."),
    "style-operation-id-duplicate": (E, "operationIds are unique in the document."),
    "style-summary-missing": (W, "Every operation has a summary."),
    "style-tags-missing": (W, "Every operation has at least one tag."),
    "style-problem-details-missing": (E, "Every operation has a 4xx or 5xx response with application/problem+json (RFC 9457)."),
    "style-success-response-missing": (W, "Every operation documents a 2xx or 3xx response."),
    "style-path-not-versioned": (E, "Paths carry a major version (/v1/..., /api/v1/...), unless every server URL ends in one."),
    "style-path-not-kebab-case": (W, "Path segments are kebab-case (lower case, digits, hyphens); path parameters excepted."),
    "style-path-trailing-slash": (W, "Paths do not end with a slash."),
    "style-request-body-not-object": (W, "JSON request bodies are objects, so fields can be added later without breaking clients."),
    "style-path-parameter-mismatch": (E, "Every {parameter} in a path is declared as an 'in: path' parameter, and vice versa."),
    "style-security-scheme-undefined": (E, "Security requirements only name schemes defined in components.securitySchemes."),
    "style-deprecated-without-sunset": (W, "A deprecated operation says when it goes away (x-sunset)."),
}

_KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_VERSION_SEGMENT = re.compile(r"^v\d+$")
_PATH_PARAM = re.compile(r"^\{[^{}]+\}$")
_TEMPLATE_PARAM = re.compile(r"\{([^{}]+)\}")


class WaiverError(ValueError):
    """Invalid waivers; ``problems`` lists each one."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("Invalid waivers:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Waiver:
    """Accept one style finding for one operation (``method`` None or '*' = every method of the path)."""

    check_id: str
    path: str
    method: str | None
    reason: str

    def covers(self, finding: Finding) -> bool:
        if finding.check_id != self.check_id or finding.location.path != self.path:
            return False
        return self.method in (None, "*") or (finding.location.method or "").upper() == self.method.upper()

    def to_dict(self) -> dict[str, Any]:
        return {"check_id": self.check_id, "path": self.path, "method": self.method, "reason": self.reason}


def parse_waivers(raw: Iterable[Waiver | Mapping[str, Any]] | None) -> list[Waiver]:
    """Validate waivers: a known style check id, a path and a non-empty reason are required."""
    waivers: list[Waiver] = []
    problems: list[str] = []
    for index, item in enumerate(raw or []):
        if isinstance(item, Waiver):
            item = item.to_dict()
        if not isinstance(item, Mapping):
            problems.append(f"waiver {index + 1}: must be an object with check_id, path, method and reason.")
            continue
        check_id = item.get("check_id")
        path = item.get("path")
        method = item.get("method")
        reason = item.get("reason")
        label = f"waiver {index + 1} ({check_id or '?'} {method or '*'} {path or '?'})"
        errors = []
        if check_id not in RULES:
            errors.append(f"{label}: unknown check id; waivable checks are {', '.join(sorted(RULES))}.")
        if not isinstance(path, str) or not path.startswith("/"):
            errors.append(f"{label}: 'path' must be the operation's path, e.g. /v1/orders/{{id}}.")
        if method is not None and not isinstance(method, str):
            errors.append(f"{label}: 'method' must be an HTTP method, '*' or absent.")
        if not isinstance(reason, str) or not reason.strip():
            errors.append(f"{label}: a waiver needs a reason.")
        if errors:
            problems.extend(errors)
        else:
            waivers.append(Waiver(check_id, path, method.upper() if isinstance(method, str) else None, reason.strip()))
    if problems:
        raise WaiverError(problems)
    return waivers


def lint_openapi(document: Mapping[str, Any], waivers: Iterable[Waiver | Mapping[str, Any]] | None = None) -> list[Finding]:
    """Apply the style ruleset (RULES) to a parsed OpenAPI document.

    Waived findings are returned with ``waived=True`` and ``waiver_reason``. Raises WaiverError
    when a waiver is invalid (unknown check id, no path, no reason), and OpenAPIDocumentError when
    the document is not structurally valid OpenAPI 3.x (see validate_openapi).
    """
    accepted = parse_waivers(waivers)
    problems = validate_openapi(document)
    if problems:
        raise OpenAPIDocumentError("The document is not a valid OpenAPI 3.0/3.1 document.", problems)
    findings = _Linter(document).run()
    result = []
    for finding in findings:
        waiver = next((w for w in accepted if w.covers(finding)), None)
        result.append(finding.with_changes(waived=True, waiver_reason=waiver.reason) if waiver else finding)
    return sort_findings(result)


class _Linter:
    def __init__(self, document: Mapping[str, Any]):
        self.document = document
        self.resolver = Resolver(document)
        self.findings: list[Finding] = []
        components = document.get("components")
        schemes = components.get("securitySchemes") if isinstance(components, dict) else None
        self.schemes = set(schemes) if isinstance(schemes, dict) else set()
        self.servers_versioned = self._servers_versioned()

    def add(self, check_id, message, *, pointer, path=None, method=None, direction=Direction.BOTH, old=None):
        location = Location(pointer=pointer, path=path, method=method.upper() if method else None)
        self.findings.append(Finding(check_id, RULES[check_id][0], direction, location, message, old=old))

    def _servers_versioned(self) -> bool:
        servers = self.document.get("servers")
        if not isinstance(servers, list) or not servers:
            return False
        urls = [s["url"] for s in servers if isinstance(s, dict) and isinstance(s.get("url"), str)]
        return bool(urls) and all(_VERSION_SEGMENT.match(url.rstrip("/").rsplit("/", 1)[-1] or "") for url in urls)

    def run(self) -> list[Finding]:
        seen_ids: dict[str, str] = {}
        if isinstance(self.document.get("security"), list):
            self.check_security(self.document["security"], "/security", None, None)
        for path, method, op, pointer in iter_operations(self.document, self.resolver):
            if not isinstance(op, dict):
                continue
            label = f"{method.upper()} {path}"
            here = {"pointer": pointer, "path": path, "method": method}
            operation_id = op.get("operationId")
            if not isinstance(operation_id, str) or not operation_id.strip():
                self.add("style-operation-id-missing", f"{label} has no operationId.", **here)
            elif operation_id in seen_ids:
                self.add("style-operation-id-duplicate",
                         f"{label} reuses operationId '{operation_id}' of {seen_ids[operation_id]}; operationIds must be unique.",
                         **{**here, "pointer": join_pointer(pointer, "operationId")}, old=operation_id)
            else:
                seen_ids[operation_id] = label
            if not isinstance(op.get("summary"), str) or not op["summary"].strip():
                self.add("style-summary-missing", f"{label} has no summary.", **here)
            if not op.get("tags"):
                self.add("style-tags-missing", f"{label} has no tags, so it is not grouped in the catalog.", **here)
            self.check_responses(op, label, here)
            self.check_path(path, label, here)
            self.check_path_parameters(path, method, op, label, here)
            self.check_request_body(op, label, here)
            if isinstance(op.get("security"), list):
                self.check_security(op["security"], join_pointer(pointer, "security"), path, method)
            if op.get("deprecated") is True and not op.get("x-sunset"):
                self.add("style-deprecated-without-sunset",
                         f"{label} is deprecated but has no x-sunset date, so clients cannot plan the migration.", **here)
        return self.findings

    def check_responses(self, op: dict, label: str, here: dict) -> None:
        responses = op.get("responses") if isinstance(op.get("responses"), dict) else {}
        codes = [str(code).upper() for code in responses]
        if not any(code[0] in "23" for code in codes if code != "DEFAULT"):
            self.add("style-success-response-missing", f"{label} documents no 2xx or 3xx response.",
                     direction=Direction.RESPONSE, **here)
        has_problem = False
        for code, raw in responses.items():
            code_text = str(code).upper()
            if code_text != "DEFAULT" and code_text[0] not in "45":
                continue
            response, _ = self.resolver.resolve(raw, join_pointer(here["pointer"], "responses", code))
            content = response.get("content") if isinstance(response, dict) else None
            if isinstance(content, dict) and any(m.split(";")[0].strip() == "application/problem+json" for m in content):
                has_problem = True
        if not has_problem:
            at = dict(here, pointer=join_pointer(here["pointer"], "responses")) if "responses" in op else here
            self.add("style-problem-details-missing",
                     f"{label} has no 4xx or 5xx response with application/problem+json; errors should be RFC 9457 problem details.",
                     direction=Direction.RESPONSE, **at)

    def check_path(self, path: str, label: str, here: dict) -> None:
        segments = [s for s in path.split("/") if s]
        if not self.servers_versioned and not any(_VERSION_SEGMENT.match(s) for s in segments[:2]):
            self.add("style-path-not-versioned",
                     f"{label}: the path carries no major version (/v1/... or /api/v1/...) and the server URLs do not end in one.",
                     **here)
        wrong = [s for s in segments if not _PATH_PARAM.match(s) and not _KEBAB.match(s)]
        if wrong:
            self.add("style-path-not-kebab-case",
                     f"{label}: path segment(s) {', '.join(repr(s) for s in wrong)} are not kebab-case.", **here, old=wrong)
        if path != "/" and path.endswith("/"):
            self.add("style-path-trailing-slash", f"{label}: the path ends with a slash.", **here)

    def check_path_parameters(self, path: str, method: str, op: dict, label: str, here: dict) -> None:
        in_template = set(_TEMPLATE_PARAM.findall(path))
        item, item_pointer = self.resolver.resolve(self.document["paths"][path], join_pointer("/paths", path))
        declared = set()
        for source in ((item or {}).get("parameters") or [], op.get("parameters") or []):
            for raw in source:
                param, _ = self.resolver.resolve(raw, "")
                if isinstance(param, dict) and param.get("in") == "path" and isinstance(param.get("name"), str):
                    declared.add(param["name"])
        missing, extra = sorted(in_template - declared), sorted(declared - in_template)
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"{', '.join(missing)} in the path but not declared as path parameters")
            if extra:
                parts.append(f"{', '.join(extra)} declared as path parameters but not in the path")
            self.add("style-path-parameter-mismatch", f"{label}: {'; '.join(parts)}.", direction=Direction.REQUEST, **here)

    def check_request_body(self, op: dict, label: str, here: dict) -> None:
        body, body_pointer = self.resolver.resolve(op.get("requestBody"), join_pointer(here["pointer"], "requestBody"))
        content = body.get("content") if isinstance(body, dict) else None
        if not isinstance(content, dict):
            return
        for media_type, media in content.items():
            bare = media_type.split(";")[0].strip().lower()
            if not (bare == "application/json" or bare.endswith("+json")) or not isinstance(media, dict):
                continue
            schema_pointer = join_pointer(body_pointer, "content", media_type, "schema")
            if not _is_object_schema(self.resolver, media.get("schema"), schema_pointer):
                self.add("style-request-body-not-object",
                         f"{label}: the {media_type} request body is not a JSON object; a top-level object can gain fields later.",
                         direction=Direction.REQUEST, **{**here, "pointer": schema_pointer if "schema" in media else here["pointer"]})

    def check_security(self, requirements: list, pointer: str, path: str | None, method: str | None) -> None:
        for index, requirement in enumerate(requirements):
            if not isinstance(requirement, dict):
                continue
            for scheme in requirement:
                if scheme not in self.schemes:
                    where = f"{method.upper()} {path}" if path and method else "The document"
                    self.add("style-security-scheme-undefined",
                             f"{where} requires security scheme '{scheme}', which components.securitySchemes does not define.",
                             pointer=join_pointer(pointer, index), path=path, method=method, direction=Direction.REQUEST)


def _is_object_schema(resolver: Resolver, schema: Any, pointer: str, depth: int = 0) -> bool:
    schema, pointer = resolver.resolve(schema, pointer)
    if not isinstance(schema, dict) or depth > 20:
        return False
    declared = schema.get("type")
    if declared == "object" or (isinstance(declared, list) and "object" in declared):
        return True
    if declared is None and ("properties" in schema or "additionalProperties" in schema):
        return True
    for keyword in ("allOf", "oneOf", "anyOf"):
        parts = schema.get(keyword)
        if isinstance(parts, list) and parts:
            results = [_is_object_schema(resolver, p, join_pointer(pointer, keyword, i), depth + 1) for i, p in enumerate(parts)]
            if (keyword == "allOf" and any(results)) or (keyword != "allOf" and all(results)):
                return True
    return False
