"""The two documents side by side at a finding: the node at its JSON pointer in each, as JSON text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from governance.diff import PointerError, resolve_pointer

MAX_LINES = 40


@dataclass
class Excerpt:
    pointer: str  # where the excerpt was taken (the finding's pointer, or its nearest existing parent)
    text: str
    exact: bool
    truncated: bool = False


def _parent(pointer: str) -> str:
    return pointer.rsplit("/", 1)[0] if "/" in pointer else ""


def excerpt(document: Any, pointer: str) -> Excerpt | None:
    """The node at ``pointer``; else its direct parent (marked not exact), which shows what is around
    a removed member; None when even that is missing (a removed path or operation)."""
    for candidate, exact in ((pointer, True), (_parent(pointer), False)):
        if not exact and (candidate == "" or candidate == pointer):
            return None
        try:
            node = resolve_pointer(document, candidate)
        except PointerError:
            continue
        lines = json.dumps(node, indent=2, sort_keys=False, ensure_ascii=False).splitlines()
        truncated = len(lines) > MAX_LINES
        text = "\n".join(lines[:MAX_LINES] + (["  …"] if truncated else []))
        return Excerpt(pointer=candidate or "/", text=text, exact=exact, truncated=truncated)
    return None


@dataclass
class FindingRow:
    finding: dict
    old: Excerpt | None
    new: Excerpt | None


def finding_rows(findings: list[dict], old_document: Any, new_document: Any) -> list[FindingRow]:
    return [
        FindingRow(finding=f, old=excerpt(old_document, f["location"].get("old_pointer") or f["location"]["pointer"]),
                   new=excerpt(new_document, f["location"]["pointer"]))
        for f in findings
    ]
