"""Breaking-change report between two OpenAPI 3.0/3.1 documents: ``compare_openapi(old, new)``.

Operations are matched by path template (parameter names ignored: /pets/{id} is /pets/{petId})
and HTTP method. For every matched operation the parameters, request body, responses and security
are compared; schemas are walked by governance.diff.schemas and judged by openapi_rules. Every
finding points (JSON pointer) at the node in the new document, or in the old one when the node is
gone. Webhooks (3.1) are not compared yet.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from governance.diff.document import (
    OpenAPIDocumentError,
    Resolver,
    iter_operations,
    join_pointer,
    validate_openapi,
)
from governance.diff.findings import Direction, Finding, Location, Report, Severity
from governance.diff.openapi_rules import SchemaContext, finding_for
from governance.diff.schemas import SchemaDiffer

_PATH_PARAM = re.compile(r"\{([^}]+)\}")
_IGNORED_HEADERS = {"accept", "content-type", "authorization"}
E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


def normalise_path(path: str) -> str:
    return _PATH_PARAM.sub("{}", path)


def parse_sunset(value: Any) -> date | None:
    """A sunset given as a date, an ISO 8601 date/date-time or an HTTP-date (RFC 8594 style)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text).date()
    except (TypeError, ValueError):
        return None


def compare_openapi(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    today: date | None = None,
    deprecations: Mapping[str, date | str] | None = None,
) -> Report:
    """Compare two OpenAPI 3.0/3.1 documents (already parsed) and report every change that matters.

    ``today`` is the date sunsets are judged against (default: today in UTC).
    ``deprecations`` adds sunset dates the registry knows about, keyed by 'METHOD /path'
    (e.g. 'GET /pets/{id}') for one operation or by '/path' for every operation on that path;
    a listed operation counts as deprecated. An operation (or path) removal is an error unless the
    old operation was deprecated (``deprecated: true`` or listed in ``deprecations``) and its
    sunset date (``x-sunset`` on the operation, or ``deprecations``) is on or before ``today``:
    then it is info.

    Raises OpenAPIDocumentError when either document is not structurally valid OpenAPI 3.x.
    """
    for label, document in (("old", old), ("new", new)):
        problems = validate_openapi(document)
        if problems:
            raise OpenAPIDocumentError(f"The {label} document is not a valid OpenAPI 3.0/3.1 document.", problems)
    comparer = _Comparer(old, new, today or datetime.now(UTC).date(), deprecations or {})
    findings = _dedupe(comparer.run())
    return Report(
        findings=findings,
        old_version=_info_version(old),
        new_version=_info_version(new),
    )


def _info_version(document: Mapping[str, Any]) -> str | None:
    info = document.get("info")
    return str(info["version"]) if isinstance(info, dict) and info.get("version") is not None else None


def _dedupe(findings: list[Finding]) -> list[Finding]:
    # The same shared schema reached through several media types is one finding, not three.
    seen: set[tuple] = set()
    unique = []
    for finding in findings:
        key = (finding.check_id, finding.location, finding.message)
        if key not in seen:
            seen.add(key)
            unique.append(finding)
    return unique


class _Comparer:
    def __init__(self, old: Mapping, new: Mapping, today: date, deprecations: Mapping[str, Any]):
        self.old, self.new = old, new
        self.old_resolver, self.new_resolver = Resolver(old), Resolver(new)
        self.today = today
        self.deprecations = {_deprecation_key(k): v for k, v in deprecations.items()}
        self.findings: list[Finding] = []

    def add(self, check_id, severity, direction, message, *, pointer, path=None, method=None, in_new=True, old=None, new=None):
        location = Location(pointer=pointer, path=path, method=method.upper() if method else None, document="new" if in_new else "old")
        self.findings.append(Finding(check_id, severity, direction, location, message, old=old, new=new))

    def _operations(self, document: Mapping, resolver: Resolver) -> dict[tuple[str, str], dict]:
        operations = {}
        for path, method, operation, pointer in iter_operations(document, resolver):
            path_item, item_pointer = resolver.resolve(document["paths"][path], join_pointer("/paths", path))
            operations[(normalise_path(path), method)] = {
                "path": path, "method": method, "op": operation, "pointer": pointer,
                "item": path_item, "item_pointer": item_pointer,
            }
        return operations

    def run(self) -> list[Finding]:
        old_ops = self._operations(self.old, self.old_resolver)
        new_ops = self._operations(self.new, self.new_resolver)
        new_paths = {key[0] for key in new_ops} | {normalise_path(p) for p in (self.new.get("paths") or {})}
        for key, old_op in old_ops.items():
            if key in new_ops:
                self.compare_operation(old_op, new_ops[key])
            else:
                self.removed_operation(old_op, path_gone=key[0] not in new_paths)
        for key, new_op in new_ops.items():
            if key not in old_ops:
                self.add("operation-added", INFO, Direction.BOTH, f"New operation {new_op['method'].upper()} {new_op['path']}.",
                         pointer=new_op["pointer"], path=new_op["path"], method=new_op["method"])
        self.compare_security_schemes()
        return self.findings

    # -- operations -------------------------------------------------------------------------

    def removed_operation(self, old_op: dict, *, path_gone: bool) -> None:
        path, method = old_op["path"], old_op["method"]
        label = f"{method.upper()} {path}"
        op = old_op["op"]
        listed = self.deprecations.get((method, normalise_path(path)), self.deprecations.get((None, normalise_path(path))))
        deprecated = op.get("deprecated") is True or listed is not None
        sunset = parse_sunset(op.get("x-sunset")) or parse_sunset(listed)
        check_id = "path-removed" if path_gone else "operation-removed"
        what = f"path {path} (and with it {label})" if path_gone else f"operation {label}"
        if deprecated and sunset and sunset <= self.today:
            severity, message = INFO, f"The {what} was removed after its deprecation and its sunset on {sunset.isoformat()}."
        elif deprecated and sunset:
            severity = E
            message = (f"The {what} was removed, but its sunset date {sunset.isoformat()} has not passed yet; "
                       "clients may still call it until then.")
        elif deprecated:
            severity, message = E, f"The {what} was removed; it is deprecated but has no sunset date, so clients were never told when it would go."
        else:
            severity, message = E, f"The {what} was removed without being deprecated first; clients that call it will get 404."
        self.add(check_id, severity, Direction.BOTH, message, pointer=old_op["pointer"], path=path, method=method,
                 in_new=False, old=sunset.isoformat() if sunset else None)

    def compare_operation(self, old_op: dict, new_op: dict) -> None:
        path, method = new_op["path"], new_op["method"]
        if new_op["op"].get("deprecated") is True and old_op["op"].get("deprecated") is not True:
            sunset = new_op["op"].get("x-sunset")
            when = f" with sunset {sunset}" if sunset else ""
            self.add("operation-deprecated", INFO, Direction.BOTH, f"{method.upper()} {path} is now deprecated{when}.",
                     pointer=join_pointer(new_op["pointer"], "deprecated"), path=path, method=method)
        self.compare_parameters(old_op, new_op)
        self.compare_request_body(old_op, new_op)
        self.compare_responses(old_op, new_op)
        self.compare_security(old_op, new_op)

    def schema_findings(self, old_schema, old_pointer, new_schema, new_pointer, ctx: SchemaContext) -> None:
        flag = "readOnly" if ctx.direction == Direction.REQUEST else "writeOnly"
        differ = SchemaDiffer(self.old_resolver, self.new_resolver, ignore_property=lambda s: s.get(flag) is True)
        for change in differ.diff(old_schema, old_pointer, new_schema, new_pointer):
            finding = finding_for(change, ctx)
            if finding is not None:
                self.findings.append(finding)

    # -- parameters ----------------------------------------------------------------------------

    def _parameters(self, op: dict, resolver: Resolver) -> dict[tuple[str, str], tuple[dict, str]]:
        params: dict[tuple[str, str], tuple[dict, str]] = {}
        template = _PATH_PARAM.findall(op["path"])
        sources = [(op["item"].get("parameters") or [], join_pointer(op["item_pointer"], "parameters")),
                   (op["op"].get("parameters") or [], join_pointer(op["pointer"], "parameters"))]
        for items, base in sources:
            for index, raw in enumerate(items):
                param, pointer = resolver.resolve(raw, join_pointer(base, index))
                if not isinstance(param, dict) or not isinstance(param.get("name"), str):
                    continue
                where, name = param.get("in"), param["name"]
                if where == "header" and name.lower() in _IGNORED_HEADERS:
                    continue
                if where == "path" and name in template:
                    key = ("path", f"#{template.index(name)}")  # path parameters match by position
                else:
                    key = (where, name.lower() if where == "header" else name)
                params[key] = (param, pointer)
        return params

    def compare_parameters(self, old_op: dict, new_op: dict) -> None:
        path, method = new_op["path"], new_op["method"]
        label = f"{method.upper()} {path}"
        old_params = self._parameters(old_op, self.old_resolver)
        new_params = self._parameters(new_op, self.new_resolver)
        for key in old_params.keys() & new_params.keys():
            self.compare_parameter(old_params[key], new_params[key], path, method)
        removed = {k: v for k, v in old_params.items() if k not in new_params}
        added = {k: v for k, v in new_params.items() if k not in old_params}
        for old_key, (old_param, _) in list(removed.items()):
            moved = next((k for k, (p, _) in added.items() if p["name"].lower() == old_param["name"].lower()), None)
            if moved is None:
                continue
            new_param, new_pointer = added.pop(moved)
            del removed[old_key]
            self.add("parameter-location-changed", E, Direction.REQUEST,
                     f"Parameter '{old_param['name']}' of {label} moved from {old_param['in']} to {new_param['in']}; "
                     "existing clients send it in the old place.",
                     pointer=new_pointer, path=path, method=method, old=old_param["in"], new=new_param["in"])
        for old_param, old_pointer in removed.values():
            self.add("parameter-removed", W, Direction.REQUEST,
                     f"{old_param['in'].capitalize()} parameter '{old_param['name']}' was removed from {label}; "
                     "existing clients still send it and it will be ignored from now on.",
                     pointer=old_pointer, path=path, method=method, in_new=False)
        for new_param, new_pointer in added.values():
            where = f"{new_param['in']} parameter '{new_param['name']}'"
            if _required(new_param):
                self.add("required-parameter-added", E, Direction.REQUEST,
                         f"{label} now requires the {where}; requests from existing clients without it will be rejected.",
                         pointer=new_pointer, path=path, method=method)
            else:
                self.add("optional-parameter-added", INFO, Direction.REQUEST, f"{label} accepts a new optional {where}.",
                         pointer=new_pointer, path=path, method=method)

    def compare_parameter(self, old: tuple[dict, str], new: tuple[dict, str], path: str, method: str) -> None:
        (old_param, old_pointer), (new_param, new_pointer) = old, new
        label = f"{method.upper()} {path}"
        where = f"{new_param['in']} parameter '{new_param['name']}'"
        if old_param["in"] == "path" and old_param["name"] != new_param["name"]:
            self.add("path-parameter-renamed", INFO, Direction.REQUEST,
                     f"Path parameter '{old_param['name']}' of {label} is now called '{new_param['name']}'; the URL does not change.",
                     pointer=new_pointer, path=path, method=method, old=old_param["name"], new=new_param["name"])
        if not _required(old_param) and _required(new_param):
            self.add("parameter-became-required", E, Direction.REQUEST,
                     f"The {where} of {label} changed from optional to required; requests from existing clients without it will be rejected.",
                     pointer=join_pointer(new_pointer, "required"), path=path, method=method, old=False, new=True)
        elif _required(old_param) and not _required(new_param):
            self.add("parameter-became-optional", INFO, Direction.REQUEST, f"The {where} of {label} is now optional.",
                     pointer=new_pointer, path=path, method=method, old=True, new=False)
        old_style, new_style = _style(old_param), _style(new_param)
        if old_style != new_style:
            self.add("parameter-style-changed", E, Direction.REQUEST,
                     f"The serialisation of the {where} of {label} changed from style={old_style[0]}, explode={old_style[1]} "
                     f"to style={new_style[0]}, explode={new_style[1]}; values sent by existing clients will be misread.",
                     pointer=new_pointer, path=path, method=method,
                     old={"style": old_style[0], "explode": old_style[1]}, new={"style": new_style[0], "explode": new_style[1]})
        old_schema = _parameter_schema(old_param, old_pointer)
        new_schema = _parameter_schema(new_param, new_pointer)
        if old_schema and new_schema:
            subject = f"{new_param['in']} parameter"
            ctx = SchemaContext(Direction.REQUEST, path, method, subject, name=new_param["name"])
            self.schema_findings(*old_schema, *new_schema, ctx)

    # -- request body ---------------------------------------------------------------------------

    def compare_request_body(self, old_op: dict, new_op: dict) -> None:
        path, method = new_op["path"], new_op["method"]
        label = f"{method.upper()} {path}"
        old_body, old_pointer = self.old_resolver.resolve(old_op["op"].get("requestBody"), join_pointer(old_op["pointer"], "requestBody"))
        new_body, new_pointer = self.new_resolver.resolve(new_op["op"].get("requestBody"), join_pointer(new_op["pointer"], "requestBody"))
        if not isinstance(old_body, dict) and not isinstance(new_body, dict):
            return
        if not isinstance(old_body, dict):
            if new_body.get("required") is True:
                self.add("required-request-body-added", E, Direction.REQUEST,
                         f"{label} now requires a request body; requests from existing clients have none and will be rejected.",
                         pointer=new_pointer, path=path, method=method)
            else:
                self.add("request-body-added", INFO, Direction.REQUEST, f"{label} accepts an optional request body.",
                         pointer=new_pointer, path=path, method=method)
            return
        if not isinstance(new_body, dict):
            self.add("request-body-removed", W, Direction.REQUEST,
                     f"{label} no longer takes a request body; existing clients still send one and it will be ignored.",
                     pointer=old_pointer, path=path, method=method, in_new=False)
            return
        if old_body.get("required") is not True and new_body.get("required") is True:
            self.add("request-body-became-required", E, Direction.REQUEST,
                     f"The request body of {label} changed from optional to required; existing clients that send none will be rejected.",
                     pointer=join_pointer(new_pointer, "required"), path=path, method=method, old=False, new=True)
        ctx = SchemaContext(Direction.REQUEST, path, method, "request body")
        self.compare_content(old_body, old_pointer, new_body, new_pointer, ctx, removed_id="request-media-type-removed",
                             added_id="request-media-type-added")

    def compare_content(self, old_holder, old_pointer, new_holder, new_pointer, ctx: SchemaContext, *, removed_id, added_id) -> None:
        old_content = old_holder.get("content") if isinstance(old_holder.get("content"), dict) else {}
        new_content = new_holder.get("content") if isinstance(new_holder.get("content"), dict) else {}
        label = ctx.operation
        where = "request body" if ctx.direction == Direction.REQUEST else f"{ctx.status} response"
        if old_content and not new_content and ctx.direction == Direction.RESPONSE:
            self.add("response-body-removed", E, Direction.RESPONSE,
                     f"The {where} of {label} no longer has a body (it had {', '.join(old_content)}); clients that read it will break.",
                     pointer=new_pointer, path=ctx.path, method=ctx.method, old=sorted(old_content))
            return
        for media_type, old_media in old_content.items():
            match = _match_media_type(media_type, new_content)
            old_media_pointer = join_pointer(old_pointer, "content", media_type)
            if match is None:
                consequence = ("clients that send it will get 415 Unsupported Media Type" if ctx.direction == Direction.REQUEST
                               else "clients that ask for it (Accept) will not get it")
                self.add(removed_id, E, ctx.direction,
                         f"The {where} of {label} no longer supports {media_type}; {consequence}.",
                         pointer=old_media_pointer, path=ctx.path, method=ctx.method, in_new=False, old=media_type)
                continue
            new_media = new_content[match]
            new_media_pointer = join_pointer(new_pointer, "content", match)
            if isinstance(old_media, dict) and isinstance(new_media, dict) and "schema" in old_media and "schema" in new_media:
                self.schema_findings(old_media["schema"], join_pointer(old_media_pointer, "schema"),
                                     new_media["schema"], join_pointer(new_media_pointer, "schema"), ctx)
        for media_type in new_content:
            if media_type not in old_content:
                self.add(added_id, INFO, ctx.direction, f"The {where} of {label} now also supports {media_type}.",
                         pointer=join_pointer(new_pointer, "content", media_type), path=ctx.path, method=ctx.method, new=media_type)

    # -- responses --------------------------------------------------------------------------------

    def compare_responses(self, old_op: dict, new_op: dict) -> None:
        path, method = new_op["path"], new_op["method"]
        label = f"{method.upper()} {path}"
        old_responses = {str(k).upper(): v for k, v in (old_op["op"].get("responses") or {}).items()}
        new_responses = {str(k).upper(): v for k, v in (new_op["op"].get("responses") or {}).items()}
        old_keys = {str(k).upper(): str(k) for k in (old_op["op"].get("responses") or {})}
        new_keys = {str(k).upper(): str(k) for k in (new_op["op"].get("responses") or {})}
        for code, old_raw in old_responses.items():
            old_pointer = join_pointer(old_op["pointer"], "responses", old_keys[code])
            match = code if code in new_responses else (f"{code[0]}XX" if f"{code[0]}XX" in new_responses else None)
            if match is None:
                self.add("response-status-removed", E, Direction.RESPONSE,
                         f"{label} no longer documents the {code.lower()} response; clients that handle it lose the contract for it.",
                         pointer=old_pointer, path=path, method=method, in_new=False, old=code.lower())
                continue
            new_pointer = join_pointer(new_op["pointer"], "responses", new_keys[match])
            old_resp, old_at = self.old_resolver.resolve(old_raw, old_pointer)
            new_resp, new_at = self.new_resolver.resolve(new_responses[match], new_pointer)
            if isinstance(old_resp, dict) and isinstance(new_resp, dict):
                self.compare_response(old_resp, old_at, new_resp, new_at, path, method, code.lower())
        for code in new_responses:
            if code not in old_responses:
                self.add("response-status-added", INFO, Direction.RESPONSE, f"{label} documents a new {code.lower()} response.",
                         pointer=join_pointer(new_op["pointer"], "responses", new_keys[code]), path=path, method=method,
                         new=code.lower())

    def compare_response(self, old_resp, old_at, new_resp, new_at, path, method, status) -> None:
        ctx = SchemaContext(Direction.RESPONSE, path, method, "response", status=status)
        self.compare_content(old_resp, old_at, new_resp, new_at, ctx, removed_id="response-media-type-removed",
                             added_id="response-media-type-added")
        old_headers = old_resp.get("headers") if isinstance(old_resp.get("headers"), dict) else {}
        new_headers = {k.lower(): (k, v) for k, v in (new_resp.get("headers") or {}).items()}
        for name, raw in old_headers.items():
            header, header_at = self.old_resolver.resolve(raw, join_pointer(old_at, "headers", name))
            if name.lower() not in new_headers:
                required = isinstance(header, dict) and header.get("required") is True
                self.add("response-header-removed", E if required else W, Direction.RESPONSE,
                         f"The {status} response of {method.upper()} {path} no longer sends the header {name}; clients that read it "
                         f"{'will break' if required else 'will stop getting it'}.",
                         pointer=header_at, path=path, method=method, in_new=False, old=name)
                continue
            new_name, new_raw = new_headers[name.lower()]
            new_header, new_header_at = self.new_resolver.resolve(new_raw, join_pointer(new_at, "headers", new_name))
            if isinstance(header, dict) and isinstance(new_header, dict) and "schema" in header and "schema" in new_header:
                header_ctx = SchemaContext(Direction.RESPONSE, path, method, "response header", name=name, status=status)
                self.schema_findings(header["schema"], join_pointer(header_at, "schema"),
                                     new_header["schema"], join_pointer(new_header_at, "schema"), header_ctx)

    # -- security ----------------------------------------------------------------------------------

    def compare_security(self, old_op: dict, new_op: dict) -> None:
        old_req = _security(old_op["op"], self.old)
        new_req = _security(new_op["op"], self.new)
        if old_req == new_req:
            return
        path, method = new_op["path"], new_op["method"]
        pointer = join_pointer(new_op["pointer"], "security") if "security" in new_op["op"] else (
            "/security" if "security" in self.new else new_op["pointer"])
        stranded = [alt for alt in old_req if not any(_satisfies(alt, new_alt) for new_alt in new_req)]
        if stranded:
            self.add("security-requirement-added", E, Direction.REQUEST,
                     f"{method.upper()} {path} now requires {_describe_security(new_req)} (before: {_describe_security(old_req)}); "
                     "clients that authenticate the old way will be refused.",
                     pointer=pointer, path=path, method=method, old=_security_json(old_req), new=_security_json(new_req))
        else:
            self.add("security-requirement-relaxed", INFO, Direction.REQUEST,
                     f"{method.upper()} {path} now accepts {_describe_security(new_req)} (before: {_describe_security(old_req)}).",
                     pointer=pointer, path=path, method=method, old=_security_json(old_req), new=_security_json(new_req))

    def compare_security_schemes(self) -> None:
        old_schemes, new_schemes = _security_schemes(self.old), _security_schemes(self.new)
        for name in sorted(set(old_schemes) & set(new_schemes)):
            pointer = join_pointer("/components/securitySchemes", name)
            old_scheme, _ = self.old_resolver.resolve(old_schemes[name], pointer)
            new_scheme, new_at = self.new_resolver.resolve(new_schemes[name], pointer)
            if not isinstance(old_scheme, dict) or not isinstance(new_scheme, dict):
                continue
            keys = ("type", "in", "name", "scheme")
            before = {k: old_scheme.get(k) for k in keys if old_scheme.get(k) is not None}
            after = {k: new_scheme.get(k) for k in keys if new_scheme.get(k) is not None}
            if before != after:
                self.add("security-scheme-changed", E, Direction.REQUEST,
                         f"Security scheme '{name}' changed from {before} to {after}; clients send credentials the old way.",
                         pointer=new_at, old=before, new=after)


def _security_schemes(document: Mapping) -> dict:
    components = document.get("components")
    schemes = components.get("securitySchemes") if isinstance(components, dict) else None
    return schemes if isinstance(schemes, dict) else {}


def _deprecation_key(key: str) -> tuple[str | None, str]:
    parts = key.strip().split(None, 1)
    if len(parts) == 2:
        return parts[0].lower(), normalise_path(parts[1])
    return None, normalise_path(parts[0])


def _required(param: dict) -> bool:
    return param.get("in") == "path" or param.get("required") is True


def _style(param: dict) -> tuple[str, bool]:
    default = "form" if param.get("in") in ("query", "cookie") else "simple"
    style = param.get("style") or default
    explode = param.get("explode")
    return style, (style == "form") if explode is None else bool(explode)


def _parameter_schema(param: dict, pointer: str) -> tuple[Any, str] | None:
    if "schema" in param:
        return param["schema"], join_pointer(pointer, "schema")
    content = param.get("content")
    if isinstance(content, dict) and content:
        media_type, media = next(iter(content.items()))
        if isinstance(media, dict) and "schema" in media:
            return media["schema"], join_pointer(pointer, "content", media_type, "schema")
    return None


def _match_media_type(media_type: str, content: dict) -> str | None:
    if media_type in content:
        return media_type
    bare = media_type.split(";", 1)[0].strip().lower()
    for candidate in content:
        if candidate.split(";", 1)[0].strip().lower() == bare:
            return candidate
    family = bare.split("/", 1)[0]
    for wildcard in (f"{family}/*", "*/*"):
        if wildcard in content:
            return wildcard
    return None


def _security(op: dict, document: Mapping) -> list[dict[str, frozenset[str]]]:
    raw = op["security"] if "security" in op else document.get("security", [])
    alternatives = [
        {scheme: frozenset(s for s in scopes if isinstance(s, str)) if isinstance(scopes, list) else frozenset()
         for scheme, scopes in alt.items()}
        for alt in (raw if isinstance(raw, list) else []) if isinstance(alt, dict)
    ]
    return alternatives or [{}]  # no requirement at all = anonymous access


def _satisfies(old_alt: dict[str, frozenset[str]], new_alt: dict[str, frozenset[str]]) -> bool:
    """A client that met ``old_alt`` also meets ``new_alt``."""
    return all(scheme in old_alt and scopes <= old_alt[scheme] for scheme, scopes in new_alt.items())


def _describe_security(alternatives: list[dict[str, frozenset[str]]]) -> str:
    def one(alt):
        if not alt:
            return "no authentication"
        return " + ".join(f"{s}{' [' + ', '.join(sorted(sc)) + ']' if sc else ''}" for s, sc in sorted(alt.items()))
    return " or ".join(one(a) for a in alternatives)


def _security_json(alternatives):
    return [{scheme: sorted(scopes) for scheme, scopes in alt.items()} for alt in alternatives]
