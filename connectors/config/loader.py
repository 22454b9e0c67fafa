"""Reading a configuration document: YAML that keeps its line numbers, checked against the schema.

Every error names the line of the YAML and the field (``line 14, connectors[2].base_url: …``),
so an engineer can fix the file without guessing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from connectors.config.schema import SCHEMA

Path = Sequence[str | int]


@dataclass(frozen=True)
class ConfigError:
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "document"
        return f"{where}, {self.field or '(top level)'}: {self.message}"


class ConfigInvalid(ValueError):
    def __init__(self, errors: list[ConfigError], source: str = "the document"):
        self.errors = sorted(errors, key=lambda e: (e.line or 0, e.field))
        self.source = source
        lines = "\n".join(f"  {error}" for error in self.errors)
        super().__init__(f"{source} is not a valid hub configuration ({len(self.errors)} error(s)):\n{lines}")


def field_name(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


class Document:
    """The parsed data and the YAML node tree it came from (for line numbers)."""

    def __init__(self, data: dict, root: yaml.Node | None, source: str):
        self.data = data
        self.root = root
        self.source = source

    def node(self, path: Path, *, key: bool = False) -> yaml.Node | None:
        """The node at ``path`` (or the closest existing parent); with ``key``, the mapping key's node."""
        node = self.root
        for depth, part in enumerate(path):
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if key_node.value == part:
                        node = key_node if key and depth == len(path) - 1 else value_node
                        break
                else:
                    return node
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                node = node.value[part]
            else:
                return node
        return node

    def line(self, path: Path, *, key: bool = False) -> int | None:
        node = self.node(path, key=key)
        return node.start_mark.line + 1 if node is not None else None

    def error(self, path: Path, message: str, *, key: bool = False) -> ConfigError:
        return ConfigError(self.line(path, key=key), field_name(path), message)


def _duplicate_keys(node: yaml.Node, path: list, found: list[ConfigError]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set = set()
        for key_node, value_node in node.value:
            name = key_node.value
            if name in seen:
                found.append(ConfigError(key_node.start_mark.line + 1, field_name([*path, name]),
                                         f"'{name}' is given twice in the same block"))
            seen.add(name)
            _duplicate_keys(value_node, [*path, name], found)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _duplicate_keys(item, [*path, index], found)


def _schema_error(document: Document, error) -> ConfigError:
    if error.validator in ("oneOf", "anyOf") and error.context:
        error = best_match(error.context)
    path = list(error.absolute_path)
    if error.validator == "additionalProperties":
        unexpected = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        allowed = ", ".join(error.schema.get("properties", {}))
        return document.error([*path, unexpected[0]], f"unknown field '{unexpected[0]}' (allowed: {allowed})",
                              key=True)
    if error.validator == "required":
        missing = re.search(r"'([^']+)' is a required property", error.message)
        name = missing.group(1) if missing else error.message
        return document.error(path, f"the required field '{name}' is missing")
    if error.validator == "pattern" and path and path[-1] in ("secret_ref", "signing_secret_ref"):
        return document.error(path, "a secret is given by reference only: 'env:VARIABLE_NAME', or "
                                    "'<encrypted>' to keep the encrypted value this hub already has")
    return document.error(path, error.message)


def config_parse(text: str, *, source: str = "the document") -> Document:
    """Parse and check a document against the schema; raise ConfigInvalid naming line and field."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ConfigInvalid([ConfigError(mark.line + 1 if mark else None, "",
                                         f"not valid YAML: {exc.problem or exc}")], source) from exc
    except yaml.YAMLError as exc:
        raise ConfigInvalid([ConfigError(None, "", f"not valid YAML: {exc}")], source) from exc
    if not isinstance(data, dict):
        raise ConfigInvalid([ConfigError(1, "", "the document must be a mapping with 'version: 1' and sections")],
                            source)
    document = Document(data, root, source)
    errors: list[ConfigError] = []
    _duplicate_keys(root, [], errors)
    errors += [_schema_error(document, e) for e in Draft202012Validator(SCHEMA).iter_errors(data)]
    if errors:
        raise ConfigInvalid(errors, source)
    return document
