"""JSON pointers (RFC 6901) as mappings use them, with two additions for arrays.

* ``/lines[*]`` — every element of the array ``lines`` (only in a rule with ``each``);
* ``/addresses[kind=billing]`` — the first element of ``addresses`` whose ``kind`` is ``billing``.

Numeric tokens index arrays as in RFC 6901. In targets, a final ``-`` appends to an array.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_SELECT = re.compile(r"^(?P<key>.*)\[(?P<field>[^=\[\]]+)=(?P<value>[^\[\]]*)\]$")
MISSING = object()


@dataclass(frozen=True)
class Token:
    key: str
    every: bool = False
    select: tuple[str, str] | None = None


def parse(pointer: str) -> list[Token]:
    """Tokens of ``pointer``; "" is the whole document. Raises ValueError on a malformed pointer."""
    if not isinstance(pointer, str):
        raise ValueError(f"a pointer must be a string, not {type(pointer).__name__}")
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise ValueError(f"pointer '{pointer}' must start with '/'")
    tokens = []
    for raw in pointer[1:].split("/"):
        if re.search(r"~(?![01])", raw):
            raise ValueError(f"pointer '{pointer}' has a '~' not followed by 0 or 1")
        if raw.endswith("[*]"):
            tokens.append(Token(key=_unescape(raw[:-3]), every=True))
            continue
        match = _SELECT.match(raw)
        if match:
            tokens.append(
                Token(key=_unescape(match["key"]), select=(_unescape(match["field"]), _unescape(match["value"])))
            )
        else:
            tokens.append(Token(key=_unescape(raw)))
    return tokens


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def join(base: str, pointer: str) -> str:
    """The absolute pointer of ``pointer`` read relative to the element at ``base``."""
    return base + pointer


def _step(value: Any, key: str) -> Any:
    if isinstance(value, dict):
        return value.get(key, MISSING)
    if isinstance(value, list) and key.isdigit():
        index = int(key)
        return value[index] if index < len(value) else MISSING
    return MISSING


def resolve(document: Any, tokens: list[Token]) -> tuple[Any, str]:
    """(value, concrete pointer) of ``tokens`` in ``document``; value is MISSING where nothing is there.

    A ``[*]`` token resolves to the array itself: the caller iterates it.
    """
    value = document
    concrete = ""
    for token in tokens:
        if token.key != "" or not token.every and token.select is None:
            value = _step(value, token.key)
            concrete += "/" + escape(token.key)
        if value is MISSING:
            return MISSING, concrete
        if token.select is not None:
            field, wanted = token.select
            if not isinstance(value, list):
                return MISSING, concrete
            for index, item in enumerate(value):
                if isinstance(item, dict) and _as_text(item.get(field, MISSING)) == wanted:
                    value = item
                    concrete += f"/{index}"
                    break
            else:
                return MISSING, concrete + f"[{field}={wanted}]"
    return value, concrete


def _as_text(value: Any) -> str | None:
    if value is MISSING or value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def assign(document: dict, tokens: list[Token], value: Any) -> None:
    """Set ``value`` at ``tokens`` in ``document``, creating objects on the way; ``-`` appends."""
    if not tokens:
        raise ValueError("cannot assign to the whole document")
    node: Any = document
    for position, token in enumerate(tokens[:-1]):
        following = tokens[position + 1]
        if isinstance(node, list):
            if token.key == "-":
                node.append([] if following.key == "-" else {})
                node = node[-1]
                continue
            raise ValueError("array positions in a target can only be '-' (append)")
        child = node.get(token.key)
        if child is None:
            child = [] if following.key == "-" else {}
            node[token.key] = child
        node = child
    last = tokens[-1].key
    if isinstance(node, list):
        if last != "-":
            raise ValueError("array positions in a target can only be '-' (append)")
        node.append(value)
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise ValueError("target passes through a value that is not an object")
