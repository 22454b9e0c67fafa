"""Reading OpenAPI 3.0/3.1 documents (JSON or YAML), checking their structure, and following local $refs.

YAML is read so that the result is plain JSON data: timestamps stay strings (``x-sunset: 2025-01-31``
is the text '2025-01-31', not a date), mapping keys become strings (``200:`` -> '200') and duplicate
keys are refused rather than silently overwritten.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PARAMETER_LOCATIONS = ("query", "header", "path", "cookie")
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024


class OpenAPIDocumentError(ValueError):
    """The input is not a usable OpenAPI 3.0/3.1 document. ``problems`` lists what is wrong."""

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = problems or []
        detail = message if not self.problems else message + "\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(detail)
        self.summary = message


class PointerError(LookupError):
    """A JSON pointer that does not name a node of the document."""


def escape_token(token: Any) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def join_pointer(pointer: str, *tokens: Any) -> str:
    return pointer + "".join("/" + escape_token(t) for t in tokens)


def resolve_pointer(document: Any, pointer: str) -> Any:
    """Return the node at an RFC 6901 JSON pointer ('' is the document itself)."""
    if pointer == "":
        return document
    if not pointer.startswith("/"):
        raise PointerError(f"JSON pointer '{pointer}' must start with '/'.")
    node = document
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise PointerError(f"JSON pointer '{pointer}' does not exist in the document (stopped at '{token}').")
    return node


class _Loader(yaml.SafeLoader):
    """SafeLoader without implicit timestamps, refusing duplicate keys."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    mapping: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        key = key if isinstance(key, str) else str(key).lower() if isinstance(key, bool) else str(key)
        if key in mapping:
            mark = key_node.start_mark
            raise OpenAPIDocumentError(f"Duplicate key '{key}' at line {mark.line + 1}, column {mark.column + 1}.")
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict:
    mapping: dict = {}
    for key, value in pairs:
        if key in mapping:
            raise OpenAPIDocumentError(f"Duplicate key '{key}' in a JSON object.")
        mapping[key] = value
    return mapping


def _check_tree(data: Any) -> None:
    """Refuse self-referencing YAML anchors: the result must be a tree, as JSON would be."""
    stack: list[tuple[Any, bool]] = [(data, False)]
    on_path: set[int] = set()
    finished: set[int] = set()
    while stack:
        node, leaving = stack.pop()
        if not isinstance(node, (dict, list)):
            continue
        if leaving:
            on_path.discard(id(node))
            finished.add(id(node))
            continue
        if id(node) in on_path:
            raise OpenAPIDocumentError("The YAML refers to itself through an anchor; documents must be trees.")
        if id(node) in finished:
            continue
        on_path.add(id(node))
        stack.append((node, True))
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, False) for child in children)


def parse_document(text: str | bytes, *, name: str = "document") -> Any:
    """Parse JSON or YAML text into plain data. Raises OpenAPIDocumentError with the reason."""
    if isinstance(text, bytes):
        if len(text) > MAX_DOCUMENT_BYTES:
            raise OpenAPIDocumentError(f"{name} is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB.")
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise OpenAPIDocumentError(f"{name} is not UTF-8 text: {exc}.") from None
    if len(text) > MAX_DOCUMENT_BYTES:
        raise OpenAPIDocumentError(f"{name} is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB.")
    if not text.strip():
        raise OpenAPIDocumentError(f"{name} is empty.")
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text, object_pairs_hook=_json_pairs)
        except json.JSONDecodeError as exc:
            raise OpenAPIDocumentError(f"{name} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.") from None
    try:
        data = yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader: no arbitrary objects
    except OpenAPIDocumentError as exc:
        raise OpenAPIDocumentError(f"{name} is not valid YAML: {exc.summary}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise OpenAPIDocumentError(f"{name} is not valid YAML: {problem}{where}.") from None
    _check_tree(data)
    return data


def load_openapi(source: str | bytes | Path, *, name: str | None = None) -> dict:
    """Read an OpenAPI 3.0/3.1 document from a file path, or from JSON/YAML text or bytes, and validate it.

    A ``Path`` is read from disk; ``str``/``bytes`` are the document itself. Raises OpenAPIDocumentError
    (unreadable file, invalid JSON/YAML, not OpenAPI 3.x, broken structure or $refs).
    """
    if isinstance(source, Path):
        label = name or str(source)
        try:
            raw = source.read_bytes()
        except OSError as exc:
            raise OpenAPIDocumentError(f"Cannot read {label}: {exc.strerror or exc}.") from None
    else:
        label = name or "document"
        raw = source
    document = parse_document(raw, name=label)
    problems = validate_openapi(document)
    if problems:
        raise OpenAPIDocumentError(f"{label} is not a valid OpenAPI 3.0/3.1 document.", problems)
    return document


def openapi_version(document: Any) -> str | None:
    version = document.get("openapi") if isinstance(document, dict) else None
    return version if isinstance(version, str) else None


def validate_openapi(document: Any) -> list[str]:
    """Structural checks the comparer relies on; returns a list of problems (empty when fine).

    Not a full schema validation: it checks the version, info, paths and operations, parameters,
    responses and that every local $ref resolves without a pure reference loop.
    """
    if not isinstance(document, dict):
        return ["The document must be a JSON/YAML object at the top level."]
    if "swagger" in document:
        return ["Swagger 2.0 documents are not supported; convert the document to OpenAPI 3.0 or 3.1."]
    version = document.get("openapi")
    if not isinstance(version, str) or not (version.startswith("3.0") or version.startswith("3.1")):
        return [f"'openapi' must be a string starting with 3.0 or 3.1 (found {version!r})."]
    problems: list[str] = []
    info = document.get("info")
    if not isinstance(info, dict):
        problems.append("/info: an 'info' object with 'title' and 'version' is required.")
    else:
        for key in ("title", "version"):
            if not isinstance(info.get(key), str):
                problems.append(f"/info/{key}: a string is required.")
    paths = document.get("paths")
    if paths is None and version.startswith("3.0"):
        problems.append("/paths: required in OpenAPI 3.0.")
    elif paths is not None and not isinstance(paths, dict):
        problems.append("/paths: must be an object.")
    resolver = Resolver(document)
    problems.extend(_security_problems(document.get("security"), "/security"))
    for path, path_item, path_pointer in iter_path_items(document):
        if not path.startswith("/"):
            problems.append(f"{path_pointer}: path '{path}' must start with '/'.")
        item, item_pointer = resolver.resolve(path_item, path_pointer)
        if not isinstance(item, dict):
            problems.append(f"{item_pointer}: the path item of '{path}' must be an object.")
        else:
            problems.extend(_parameter_problems(item.get("parameters"), join_pointer(item_pointer, "parameters"), resolver))
    for path, method, operation, pointer in iter_operations(document, resolver):
        if not isinstance(operation, dict):
            problems.append(f"{pointer}: the {method.upper()} {path} operation must be an object.")
            continue
        problems.extend(_operation_problems(operation, pointer, f"{method.upper()} {path}", version, resolver))
    problems.extend(resolver.check_references())
    return problems


def _operation_problems(operation: dict, pointer: str, label: str, version: str, resolver: Resolver) -> list[str]:
    problems = _parameter_problems(operation.get("parameters"), join_pointer(pointer, "parameters"), resolver)
    problems.extend(_security_problems(operation.get("security"), join_pointer(pointer, "security")))
    if "requestBody" in operation:
        body, body_pointer = resolver.resolve(operation["requestBody"], join_pointer(pointer, "requestBody"))
        if not isinstance(body, dict):
            problems.append(f"{body_pointer}: the request body of {label} must be an object.")
        else:
            problems.extend(_content_problems(body, body_pointer))
    responses = operation.get("responses")
    if responses is None and version.startswith("3.0"):
        problems.append(f"{pointer}/responses: {label} has no responses (required in 3.0).")
    elif responses is not None and not isinstance(responses, dict):
        problems.append(f"{pointer}/responses: must be an object.")
    elif responses:
        for code, raw in responses.items():
            response, response_pointer = resolver.resolve(raw, join_pointer(pointer, "responses", code))
            if not isinstance(response, dict):
                problems.append(f"{response_pointer}: the {code} response of {label} must be an object.")
                continue
            problems.extend(_content_problems(response, response_pointer))
            if "headers" in response and not isinstance(response["headers"], dict):
                problems.append(f"{response_pointer}/headers: must be an object.")
    return problems


def _parameter_problems(parameters: Any, pointer: str, resolver: Resolver) -> list[str]:
    if parameters is None:
        return []
    if not isinstance(parameters, list):
        return [f"{pointer}: parameters must be a list."]
    problems = []
    for index, parameter in enumerate(parameters):
        param, param_pointer = resolver.resolve(parameter, join_pointer(pointer, index))
        if not isinstance(param, dict) or not isinstance(param.get("name"), str):
            problems.append(f"{param_pointer}: a parameter needs a 'name'.")
        elif param.get("in") not in PARAMETER_LOCATIONS:
            problems.append(f"{param_pointer}: parameter '{param['name']}' has no valid 'in' (query, header, path or cookie).")
        elif "content" in param and not isinstance(param["content"], dict):
            problems.append(f"{param_pointer}/content: must be an object.")
    return problems


def _content_problems(holder: dict, pointer: str) -> list[str]:
    content = holder.get("content")
    if content is None:
        return []
    if not isinstance(content, dict):
        return [f"{pointer}/content: must be an object."]
    return [f"{join_pointer(pointer, 'content', media_type)}: must be an object."
            for media_type, media in content.items() if not isinstance(media, dict)]


def _security_problems(security: Any, pointer: str) -> list[str]:
    if security is None:
        return []
    if not isinstance(security, list) or not all(
        isinstance(requirement, dict) and all(isinstance(scopes, list) for scopes in requirement.values())
        for requirement in security
    ):
        return [f"{pointer}: security must be a list of objects mapping scheme names to lists of scopes."]
    return []


def iter_path_items(document: dict) -> Iterator[tuple[str, Any, str]]:
    paths = document.get("paths")
    if isinstance(paths, dict):
        for path, item in paths.items():
            yield path, item, join_pointer("/paths", path)


def iter_operations(document: dict, resolver: Resolver | None = None) -> Iterator[tuple[str, str, Any, str]]:
    """Yield (path, method, operation, pointer) for every operation; path-item $refs are followed."""
    resolver = resolver or Resolver(document)
    for path, item, pointer in iter_path_items(document):
        item, pointer = resolver.resolve(item, pointer)
        if not isinstance(item, dict):
            continue
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method], join_pointer(pointer, method)


class Resolver:
    """Follows local references ('#/components/...', '#/$defs/...') within one document.

    ``resolve`` returns the target node together with its JSON pointer, so findings point at the
    real node. Reference chains that loop (A -> B -> A) resolve to an empty schema instead of
    recursing; ``check_references`` reports them. References to other files are left as they are.
    """

    def __init__(self, document: Any):
        self.document = document

    @staticmethod
    def ref_target(ref: str) -> str | None:
        if not ref.startswith("#"):
            return None
        return unquote(ref[1:])

    def resolve(self, node: Any, pointer: str) -> tuple[Any, str]:
        seen: set[str] = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            target = self.ref_target(node["$ref"])
            if target is None:
                return node, pointer
            if target in seen:
                return {}, pointer
            seen.add(target)
            try:
                node, pointer = resolve_pointer(self.document, target), target
            except PointerError:
                return {}, pointer
        return node, pointer

    def check_references(self) -> list[str]:
        problems: list[str] = []
        for ref, where in _iter_refs(self.document, ""):
            target = self.ref_target(ref)
            if target is None:
                continue
            try:
                resolve_pointer(self.document, target)
            except PointerError:
                problems.append(f"{where}: $ref '{ref}' does not resolve to anything in this document.")
                continue
            chain = {target}
            node = resolve_pointer(self.document, target)
            while isinstance(node, dict) and isinstance(node.get("$ref"), str):
                nxt = self.ref_target(node["$ref"])
                if nxt is None:
                    break
                if nxt in chain:
                    problems.append(f"{where}: $ref '{ref}' is part of a reference loop that never reaches a schema.")
                    break
                chain.add(nxt)
                try:
                    node = resolve_pointer(self.document, nxt)
                except PointerError:
                    break
        return problems


def _iter_refs(node: Any, pointer: str) -> Iterator[tuple[str, str]]:
    stack: list[tuple[Any, str, bool]] = [(node, pointer, False)]
    while stack:
        current, where, is_name_map = stack.pop()
        if isinstance(current, dict):
            ref = current.get("$ref")
            if isinstance(ref, str) and not is_name_map:
                yield ref, join_pointer(where, "$ref")
            for key, value in current.items():
                if not is_name_map and key in _LITERAL_KEYWORDS:
                    continue  # literal data, where a "$ref" key is just data
                stack.append((value, join_pointer(where, key), not is_name_map and key in _NAME_MAPS))
        elif isinstance(current, list):
            stack.extend((value, join_pointer(where, index), False) for index, value in enumerate(current))


# Keys whose value is example data, and keys whose value maps user-chosen names (a property may be
# called "default" or "$ref") to schemas.
_LITERAL_KEYWORDS = frozenset({"example", "examples", "default", "enum", "const"})
_NAME_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions", "schemas", "dependentSchemas"})
